import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { apiKeyKey, workspaceKey, workspaceOriginKey, workspacePublicKey } from "./kv/keys.ts";
import {
  DEFAULT_SETTINGS,
  isOriginAllowed,
  normalizeOrigin,
  type Workspace,
  WorkspaceStore,
} from "./workspaces.ts";

async function allEntries(kv: Deno.Kv): Promise<Deno.KvEntry<unknown>[]> {
  return await Array.fromAsync(kv.list({ prefix: [] }));
}

Deno.test("normalizeOrigin() reduces an http(s) origin to scheme://host[:port]", () => {
  const cases: [string, string][] = [
    ["https://shop.example", "https://shop.example"],
    ["https://shop.example/", "https://shop.example"],
    ["HTTPS://Shop.Example", "https://shop.example"],
    ["https://shop.example:443", "https://shop.example"],
    ["http://localhost:8080", "http://localhost:8080"],
    ["https://shop.example:8443/", "https://shop.example:8443"],
  ];
  for (const [input, origin] of cases) assert.equal(normalizeOrigin(input), origin, input);
});

Deno.test("normalizeOrigin() throws a TypeError quoting a value that is not an origin", () => {
  assert.throws(() => normalizeOrigin("shop.example"), {
    name: "TypeError",
    message: '"shop.example" is not a URL',
  });
  assert.throws(() => normalizeOrigin("ftp://shop.example"), {
    name: "TypeError",
    message: '"ftp://shop.example" is not an http(s) origin',
  });
  for (
    const value of [
      "https://shop.example/path",
      "https://shop.example/?a=1",
      "https://shop.example/#x",
      "https://user@shop.example",
    ]
  ) {
    assert.throws(() => normalizeOrigin(value), {
      name: "TypeError",
      message: `"${value}" must be an origin only, like https://shop.example`,
    }, value);
  }
});

Deno.test("WorkspaceStore.create() returns a workspace with pk_ id and sk_ secrets", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    const created = await store.create({
      name: "Shop",
      allowed_origins: ["https://shop.example/", "https://SHOP.example", "http://localhost:3000"],
      settings: { retention_days: 7 },
    });
    const { workspace, ingestKey, adminKey } = created;
    assert.match(workspace.id, /^ws_[0-9a-z]{26}$/);
    assert.match(workspace.public_id, /^pk_[0-9A-Za-z]{24}$/);
    assert.equal(workspace.name, "Shop");
    assert.deepEqual(workspace.allowed_origins, ["https://shop.example", "http://localhost:3000"]);
    assert.deepEqual(workspace.settings, { ...DEFAULT_SETTINGS, retention_days: 7 });
    assert.ok(!Number.isNaN(Date.parse(workspace.created_at)));
    for (const key of [ingestKey, adminKey]) {
      assert.match(key.secret, /^sk_[0-9A-Za-z]{40}$/);
      assert.equal(key.record.workspace_id, workspace.id);
      assert.equal(key.record.prefix, key.secret.slice(0, 10));
    }
    assert.deepEqual(ingestKey.record.scopes, ["ingest"]);
    assert.deepEqual(adminKey.record.scopes, ["admin"]);
    assert.notEqual(ingestKey.secret, adminKey.secret);
    assert.deepEqual((await kv.get(workspaceKey(workspace.id))).value, workspace);
    assert.equal((await kv.get(workspacePublicKey(workspace.public_id))).value, workspace.id);
    assert.equal(
      (await kv.get(workspaceOriginKey("https://shop.example", workspace.id))).value,
      true,
    );
    assert.deepEqual(
      (await kv.get(apiKeyKey(sha256Hex(ingestKey.secret)))).value,
      ingestKey.record,
    );
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.create() stores no key secret anywhere in KV", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const { ingestKey, adminKey } = await new WorkspaceStore(kv).create({ name: "Shop" });
    const dump = (await allEntries(kv)).map((e) => JSON.stringify([e.key, e.value]));
    assert.ok(dump.length > 0);
    for (const secret of [ingestKey.secret, adminKey.secret]) {
      assert.equal(dump.some((text) => text.includes(secret)), false);
      assert.equal(dump.some((text) => text.includes(secret.slice(3))), false);
    }
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.create() throws quoting an invalid origin and writes nothing", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await assert.rejects(
      new WorkspaceStore(kv).create({ name: "Bad", allowed_origins: ["https://a.example/x"] }),
      {
        name: "TypeError",
        message: '"https://a.example/x" must be an origin only, like https://shop.example',
      },
    );
    assert.deepEqual(await allEntries(kv), []);
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.get() and getByPublicId() find a workspace or return null", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    const { workspace } = await store.create({ name: "Shop" });
    assert.deepEqual(await store.get(workspace.id), workspace);
    assert.deepEqual(await store.getByPublicId(workspace.public_id), workspace);
    assert.equal(await store.get("ws_missing"), null);
    assert.equal(await store.getByPublicId("pk_missing"), null);
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.isOriginAllowedAnywhere() follows update() of the origins", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    const { workspace } = await store.create({
      name: "Shop",
      allowed_origins: ["https://old.example"],
    });
    assert.equal(await store.isOriginAllowedAnywhere("https://old.example"), true);
    assert.equal(await store.isOriginAllowedAnywhere("https://new.example"), false);
    const updated = await store.update(workspace.id, {
      name: "Renamed",
      allowed_origins: ["https://new.example/", "https://new.example"],
      settings: { dedup_window_seconds: 60 },
    });
    const expected: Workspace = {
      ...workspace,
      name: "Renamed",
      allowed_origins: ["https://new.example"],
      settings: { ...workspace.settings, dedup_window_seconds: 60 },
    };
    assert.deepEqual(updated, expected);
    assert.equal(await store.isOriginAllowedAnywhere("https://old.example"), false);
    assert.equal(await store.isOriginAllowedAnywhere("https://new.example"), true);
    assert.deepEqual(await store.get(workspace.id), expected);
    assert.equal(
      (await kv.get(workspaceOriginKey("https://old.example", workspace.id))).value,
      null,
    );
    const fresh = new WorkspaceStore(kv);
    assert.equal(await fresh.isOriginAllowedAnywhere("https://old.example"), false);
    assert.equal(await fresh.isOriginAllowedAnywhere("https://new.example"), true);
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.update() keeps origins when the patch has none", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    const { workspace } = await store.create({
      name: "Shop",
      allowed_origins: ["https://a.example"],
    });
    const updated = await store.update(workspace.id, { name: "New" });
    assert.deepEqual(updated?.allowed_origins, ["https://a.example"]);
    assert.equal(await store.isOriginAllowedAnywhere("https://a.example"), true);
    assert.equal(await store.update("ws_missing", { name: "x" }), null);
  } finally {
    kv.close();
  }
});

Deno.test("WorkspaceStore.isOriginAllowedAnywhere() stays true while another workspace allows the origin", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    const one = await store.create({ name: "One", allowed_origins: ["https://shared.example"] });
    await store.create({ name: "Two", allowed_origins: ["https://shared.example"] });
    await store.update(one.workspace.id, { allowed_origins: [] });
    assert.equal(await store.isOriginAllowedAnywhere("https://shared.example"), true);
  } finally {
    kv.close();
  }
});

Deno.test("normalizeOrigin() keeps one leading wildcard label and refuses * anywhere else", () => {
  assert.equal(normalizeOrigin("https://*.Shop.Example:443/"), "https://*.shop.example");
  assert.equal(normalizeOrigin("http://*.dev.shop.example:8080"), "http://*.dev.shop.example:8080");
  for (
    const value of [
      "https://*.example",
      "https://*",
      "https://a.*.shop.example",
      "https://*.*.shop.example",
      "https://*shop.example",
      "https://shop*.example",
      "https://shop.example.*",
      "https://*.a.b.c.d.e.f.g.h.i.j.k",
    ]
  ) {
    assert.throws(() => normalizeOrigin(value), {
      name: "TypeError",
      message:
        `"${value}" may hold a wildcard only as its whole first label, before 2 to 10 more, like https://*.shop.example`,
    }, value);
  }
});

Deno.test("isOriginAllowed() matches exact origins and subdomains of a wildcard, never its bare domain", () => {
  const allowed = ["https://*.shop.example", "http://localhost:3000", "https://*.dev.example:8443"];
  for (
    const origin of [
      "https://a.shop.example",
      "https://a.b.shop.example",
      "https://xn--bcher-kva.shop.example",
      "http://localhost:3000",
      "https://preview-1.dev.example:8443",
    ]
  ) assert.equal(isOriginAllowed(allowed, origin), true, origin);
  for (
    const origin of [
      "https://shop.example",
      "http://a.shop.example",
      "https://a.shop.example:8443",
      "https://evilshop.example",
      "https://a.shop.example.evil",
      "https://a/b.shop.example",
      "https://.shop.example",
      "https://preview-1.dev.example",
      "null",
    ]
  ) assert.equal(isOriginAllowed(allowed, origin), false, origin);
});

Deno.test("WorkspaceStore.isOriginAllowedAnywhere() finds wildcard entries for subdomains", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new WorkspaceStore(kv);
    assert.equal(await store.isOriginAllowedAnywhere("https://a.b.shop.example"), false);
    const { workspace } = await store.create({
      name: "Shop",
      allowed_origins: ["https://*.shop.example"],
    });
    assert.deepEqual(workspace.allowed_origins, ["https://*.shop.example"]);
    assert.equal(
      (await kv.get(workspaceOriginKey("https://*.shop.example", workspace.id))).value,
      true,
    );
    // The cached "no" from before the workspace existed is gone.
    assert.equal(await store.isOriginAllowedAnywhere("https://a.b.shop.example"), true);
    assert.equal(await store.isOriginAllowedAnywhere("https://a.shop.example"), true);
    assert.equal(await store.isOriginAllowedAnywhere("https://shop.example"), false);
    assert.equal(await store.isOriginAllowedAnywhere("http://a.shop.example"), false);
    assert.equal(await store.isOriginAllowedAnywhere("https://a.shop.example:8443"), false);
    await store.update(workspace.id, { allowed_origins: ["https://shop.example"] });
    assert.equal(await store.isOriginAllowedAnywhere("https://a.shop.example"), false);
    assert.equal(await store.isOriginAllowedAnywhere("https://shop.example"), true);
  } finally {
    kv.close();
  }
});

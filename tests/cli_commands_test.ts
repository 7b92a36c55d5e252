/** The `sluice` command line as users run it: `deno run -A cli.ts …` on a KV file in a temp folder. */
import assert from "node:assert/strict";
import { mockPlatform } from "./_mock_platform.ts";
import {
  connectMeta,
  createWorkspace,
  openOps,
  type OpsSluice,
  sendPurchase,
  tempDir,
} from "./_ops.ts";

const ROOT = new URL("../", import.meta.url);
const OLD = "cli-old-secret-0123456789abcdef";
const NEW = "cli-new-secret-0123456789abcdef";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `SLUICE_KV` = `kv`, the secret OLD, and `env` on top. */
async function sluice(kv: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    cwd: ROOT,
    env: {
      SLUICE_KV: kv,
      SLUICE_SECRET: OLD,
      SLUICE_SECRET_PREVIOUS: "",
      SLUICE_QUEUE: "",
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
  }).output();
  const run = {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
  // Whatever happens, no stack trace reaches the user.
  assert.doesNotMatch(run.stderr, /^\s+at /m, `stack trace for ${args.join(" ")}:\n${run.stderr}`);
  return run;
}

/** Asserts exit 0 and answers the JSON printed. */
function json<T = Record<string, unknown>>(run: Run): T {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}

/** Asserts a failure: the exit code, one `error:` line matching `message` and a hint. */
function failed(run: Run, code: 1 | 2, message: RegExp): void {
  assert.equal(run.code, code, `${run.stdout}${run.stderr}`);
  const lines = run.stderr.trim().split("\n").filter((l) => !l.startsWith("Warning"));
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, message);
  assert.match(lines[1] ?? "", /^hint: ./);
}

Deno.test("sluice workspace and key commands: create, list, rotate, revoke, and the way back in", async () => {
  await using dir = await tempDir();
  const kv = `${dir.path}/sluice.kv`;
  failed(await sluice(kv, ["workspace", "list"]), 1, /No KV at/);

  const ws = json<{ id: string; admin_key: string; allowed_origins: string[] }>(
    await sluice(kv, ["workspace", "create", "--name", "Shop", "--origin", "https://shop.example"]),
  );
  assert.match(ws.id, /^ws_/);
  assert.deepEqual(ws.allowed_origins, ["https://shop.example"]);
  const listed = json<{ data: { id: string; name: string }[] }>(
    await sluice(kv, ["workspace", "list", "--json"]),
  );
  assert.deepEqual(listed.data.map((w) => [w.id, w.name]), [[ws.id, "Shop"]]);
  const table = await sluice(kv, ["workspace", "list"]);
  assert.match(table.stdout, /^ID\s+NAME\s+PUBLIC ID\s+ORIGINS\n/);
  assert.match(table.stdout, new RegExp(`${ws.id}\\s+Shop`));

  // An operator who lost every key creates one from the command line.
  const created = json<{ id: string; secret: string; scopes: string[] }>(
    await sluice(kv, [
      "key",
      "create",
      "--workspace",
      ws.id,
      "--name",
      "Recovery",
      "--scope",
      "admin",
      "--json",
    ]),
  );
  assert.match(created.secret, /^sk_/);
  assert.deepEqual(created.scopes, ["admin"]);
  const keys = json<{ data: { id: string; name: string }[] }>(
    await sluice(kv, ["key", "list", "--workspace", ws.id, "--json"]),
  );
  assert.deepEqual(keys.data.map((k) => k.name), ["Default ingest", "Default admin", "Recovery"]);
  assert.ok(!JSON.stringify(keys).includes(created.secret));

  const rotated = json<{ secret: string; previous_expires_at: string }>(
    await sluice(kv, [
      "key",
      "rotate",
      "--workspace",
      ws.id,
      created.id,
      "--overlap",
      "1h",
      "--json",
    ]),
  );
  assert.notEqual(rotated.secret, created.secret);
  {
    await using s = await openOps(kv, { SLUICE_SECRET: OLD });
    await s.get("/v1/workspace", rotated.secret);
    await s.get("/v1/workspace", created.secret);
  }
  assert.deepEqual(
    json(await sluice(kv, ["key", "revoke", "--workspace", ws.id, created.id, "--json"])),
    { revoked: created.id },
  );
  failed(
    await sluice(kv, ["key", "revoke", "--workspace", ws.id, created.id]),
    1,
    /No API key "key_/,
  );
  failed(await sluice(kv, ["key", "list", "--workspace", "ws_missing"]), 1, /No workspace/);
  const admin = keys.data.find((k) => k.name === "Default admin")!;
  failed(
    await sluice(kv, ["key", "revoke", "--workspace", ws.id, admin.id]),
    1,
    /last admin key/,
  );
  // Usage errors (exit 2) are covered in-process by tests/cli_usage_test.ts; one here for real.
  failed(await sluice(kv, ["key", "create", "--workspace", ws.id, "--bogus"]), 2, /--bogus/);
});

Deno.test("sluice backup and restore: a gzip file into an empty KV, refused into a full one without --force", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  const source = `${dir.path}/source.kv`;
  const target = `${dir.path}/target.kv`;
  const file = `${dir.path}/backup.ndjson.gz`;
  let ws: Awaited<ReturnType<typeof createWorkspace>>;
  {
    await using s = await openOps(source, { SLUICE_SECRET: OLD, SLUICE_QUEUE: "kv-outbox" });
    ws = await createWorkspace(s);
    await connectMeta(s, ws.admin_key, meta.url);
    await sendPurchase(s, ws.ingest_key, "order-1");
  }
  // The same environment as the server, kv-outbox included.
  const exported = json<{ entries: number; changed_during_export: number; queue: string }>(
    await sluice(source, ["backup", "--out", file, "--json"], { SLUICE_QUEUE: "kv-outbox" }),
  );
  assert.ok(exported.entries > 5);
  assert.equal(exported.changed_during_export, 0);
  assert.equal(exported.queue, "kv-outbox");

  failed(
    await sluice(target, ["restore", "--in", file], { SLUICE_SECRET: NEW }),
    1,
    /sealed under the master secret with fingerprint/,
  );
  const restored = json<{ entries: number; queued: number; requeued: unknown }>(
    await sluice(target, ["restore", "--in", file, "--json"]),
  );
  assert.equal(restored.entries, exported.entries);
  assert.equal(restored.queued, 1, "the queued fan-out of order-1");
  assert.equal(restored.requeued, null);
  {
    await using s = await openOps(target, { SLUICE_SECRET: OLD });
    const events = await s.get<{ data: { event_id: string }[] }>("/v1/events", ws.admin_key);
    assert.deepEqual(events.data.map((e) => e.event_id), ["order-1"]);
    await sendPurchase(s, ws.ingest_key, "order-1", 409);
  }
  failed(await sluice(target, ["restore", "--in", file]), 1, /is not empty/);
  const forced = await sluice(target, ["restore", "--in", file, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /^Restored \d+ entries from /m);

  await Deno.writeTextFile(`${dir.path}/junk.ndjson`, "hello\n");
  failed(
    await sluice(`${dir.path}/other.kv`, ["restore", "--in", `${dir.path}/junk.ndjson`]),
    1,
    /not a complete Sluice backup/,
  );
  failed(
    await sluice(source, ["backup", "--out", `${dir.path}/x.ndjson`, "--workspace", "ws_nope"]),
    1,
    /No workspace "ws_nope"/,
  );
  assert.equal(
    [...Deno.readDirSync(dir.path)].some((e) => e.name.startsWith("x.ndjson")),
    false,
    "a failed backup leaves no file",
  );
});

Deno.test("sluice secret rotate re-seals under the new secret and reports its status", async () => {
  await using dir = await tempDir();
  await using meta = mockPlatform();
  const kv = `${dir.path}/sluice.kv`;
  let ws: Awaited<ReturnType<typeof createWorkspace>>;
  {
    await using s = await openOps(kv, { SLUICE_SECRET: OLD });
    ws = await createWorkspace(s);
    await connectMeta(s, ws.admin_key, meta.url);
    await sendPurchase(s, ws.ingest_key, "order-1");
  }
  failed(
    await sluice(kv, ["secret", "rotate"], { SLUICE_SECRET: NEW }),
    2,
    /old secret is missing/,
  );
  failed(
    await sluice(kv, ["secret", "rotate", "--old", OLD, "--new", NEW]),
    1,
    /SLUICE_SECRET is not the new secret/,
  );
  const run = await sluice(kv, ["secret", "rotate"], {
    SLUICE_SECRET: NEW,
    SLUICE_SECRET_PREVIOUS: OLD,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stdout,
    /^Rotation complete: 2 values re-sealed, 0 already under the new secret/,
  );
  assert.match(run.stderr, /remove SLUICE_SECRET_PREVIOUS/);
  const status = json<{ rotation: { finished_at?: string; resealed: number } }>(
    await sluice(kv, ["secret", "status", "--json"], { SLUICE_SECRET: NEW }),
  );
  assert.ok(status.rotation.finished_at);
  assert.equal(status.rotation.resealed, 2);
  {
    await using s = await openOps(kv, { SLUICE_SECRET: NEW });
    const event = await s.get<{ event: { event_id: string } }>("/v1/events/order-1", ws.admin_key);
    assert.equal(event.event.event_id, "order-1");
  }
});

Deno.test("sluice user create and reset-password: an account that signs in, with a role in a workspace", async () => {
  await using dir = await tempDir();
  const kv = `${dir.path}/sluice.kv`;
  const ws = json<{ id: string }>(await sluice(kv, ["workspace", "create", "--name", "Shop"]));
  const created = json<{ id: string; email: string; password: string }>(
    await sluice(kv, [
      "user",
      "create",
      "--email",
      "Ops@Example.com",
      "--workspace",
      ws.id,
      "--role",
      "viewer",
      "--json",
    ]),
  );
  assert.equal(created.email, "ops@example.com");
  assert.equal(created.password.length, 20);
  failed(
    await sluice(kv, ["user", "create", "--email", "ops@example.com"]),
    1,
    /exists/,
  );
  failed(
    await sluice(kv, ["user", "create", "--email", "x@example.com", "--role", "boss"]),
    2,
    /--role/,
  );
  const reset = json<{ id: string; password: string }>(
    await sluice(kv, ["user", "reset-password", "--email", "ops@example.com", "--json"]),
  );
  assert.equal(reset.id, created.id);
  assert.notEqual(reset.password, created.password);
  failed(
    await sluice(kv, ["user", "reset-password", "--email", "nobody@example.com"]),
    1,
    /No account/,
  );
  await using s = await openOps(kv, { SLUICE_SECRET: OLD });
  assert.equal(await s.rt.accounts.verify("ops@example.com", created.password), null);
  const account = await s.rt.accounts.verify("ops@example.com", reset.password);
  assert.equal(account?.id, created.id);
  assert.equal(await s.rt.accounts.roleIn(account!, ws.id), "viewer");
});

Deno.test("sluice search reindex indexes events stored before fan-out indexed them", async () => {
  await using dir = await tempDir();
  const kv = `${dir.path}/sluice.kv`;
  let ws: Awaited<ReturnType<typeof createWorkspace>>;
  const matches = async (s: OpsSluice) =>
    (await s.get<{ data: { event_id: string }[] }>(
      "/v1/events?match=ADA%40example.com",
      ws.admin_key,
    ))
      .data.map((e) => e.event_id);
  {
    // No workers: nothing fans the events out, so nothing indexes them.
    await using s = await openOps(kv, { SLUICE_SECRET: OLD });
    ws = await createWorkspace(s);
    await sendPurchase(s, ws.ingest_key, "order-1");
    await sendPurchase(s, ws.ingest_key, "order-2");
    await s.rt.committer.idle();
    assert.deepEqual(await matches(s), []);
  }
  failed(await sluice(kv, ["search", "reindex", "--workspace", "ws_nope"]), 1, /No workspace/);
  const run = json(await sluice(kv, ["search", "reindex", "--json"]));
  // Each purchase is found by its email (it carries no order id, click id or customer id).
  assert.deepEqual(run, { workspaces: 1, events: 2, entries: 2, unreadable: 0 });
  assert.match(
    (await sluice(kv, ["search", "reindex"])).stdout,
    /^Indexed 2 events of 1 workspaces: 2 search entries\./,
  );
  {
    await using s = await openOps(kv, { SLUICE_SECRET: OLD });
    assert.deepEqual(await matches(s), ["order-2", "order-1"]);
  }
});

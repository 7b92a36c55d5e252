import assert from "node:assert/strict";
import { apiKeyUsedKey } from "../kv/keys.ts";
import { ApiKeyStore } from "./api_keys.ts";
import { KeyUsage, USAGE_WRITE_INTERVAL_MS } from "./key_usage.ts";

/** A KV handle that counts commits, and a clock the test moves. */
async function setup() {
  const kv = await Deno.openKv(":memory:");
  let commits = 0;
  const counted = new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            commits++;
            return commit();
          };
          return op;
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const clock = { now: 1_700_000_000_000 };
  const usage = new KeyUsage(counted, { now: () => clock.now });
  const stored = async (keyId: string) =>
    (await kv.get<Deno.KvU64>(apiKeyUsedKey("ws_1", keyId))).value?.value;
  return { kv, usage, clock, stored, commits: () => commits };
}

Deno.test("KeyUsage.flush() writes a key used twice within the interval once, with its latest use", async () => {
  const { kv, usage, clock, stored, commits } = await setup();
  try {
    const first = clock.now;
    usage.touch("ws_1", "key_a");
    clock.now += 1_000;
    usage.touch("ws_1", "key_a");
    assert.equal(await stored("key_a"), undefined, "touch() writes nothing");
    assert.equal(commits(), 0);
    assert.equal(await usage.flush(), 1);
    assert.equal(commits(), 1);
    assert.equal(await stored("key_a"), BigInt(first + 1_000));

    // Used again a minute later: not written before the interval since the last write ends.
    clock.now += 60_000;
    usage.touch("ws_1", "key_a");
    assert.equal(await usage.flush(), 0);
    assert.equal(commits(), 1);
    assert.equal(await stored("key_a"), BigInt(first + 1_000));
    // Readers see the pending use all the same.
    assert.equal((await usage.lastUsed("ws_1", ["key_a"])).get("key_a"), first + 61_000);

    clock.now = first + 1_000 + USAGE_WRITE_INTERVAL_MS;
    assert.equal(await usage.flush(), 1);
    assert.equal(commits(), 2);
    assert.equal(await stored("key_a"), BigInt(first + 61_000));
    assert.equal(await usage.flush(), 0, "nothing left to write");
  } finally {
    kv.close();
  }
});

Deno.test("KeyUsage.flush({ all: true }) writes what is pending within the interval (on close)", async () => {
  const { kv, usage, clock, stored } = await setup();
  try {
    usage.touch("ws_1", "key_a");
    await usage.flush();
    clock.now += 10_000;
    usage.touch("ws_1", "key_a");
    assert.equal(await usage.flush(), 0);
    assert.equal(await usage.flush({ all: true }), 1);
    assert.equal(await stored("key_a"), BigInt(clock.now));
  } finally {
    kv.close();
  }
});

Deno.test("KeyUsage never moves a stored time back (two processes, the later flush older)", async () => {
  const { kv, usage, clock, stored } = await setup();
  try {
    const other = new KeyUsage(kv, { now: () => clock.now - 30_000 });
    usage.touch("ws_1", "key_a");
    other.touch("ws_1", "key_a");
    await usage.flush();
    await other.flush();
    assert.equal(await stored("key_a"), BigInt(clock.now));
  } finally {
    kv.close();
  }
});

Deno.test("KeyUsage.flush() writes 250 keys in 3 commits and lastUsed() reads them per workspace", async () => {
  const { kv, usage, clock, commits } = await setup();
  try {
    const ids = Array.from({ length: 250 }, (_, i) => `key_${i}`);
    for (const id of ids) usage.touch("ws_1", id);
    usage.touch("ws_2", "key_other");
    assert.equal(await usage.flush(), 251);
    assert.equal(commits(), 3);
    const fresh = new KeyUsage(kv);
    const read = await fresh.lastUsed("ws_1", [...ids, "key_other", "key_never"]);
    assert.equal(read.size, 250);
    assert.equal(read.get("key_249"), clock.now);
    assert.equal(read.has("key_other"), false, "another workspace's key");
  } finally {
    kv.close();
  }
});

Deno.test("ApiKeyStore: authenticate() notes the use, list() shows it, revoke() removes it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const usage = new KeyUsage(kv, { now: () => Date.UTC(2026, 0, 31, 14, 5, 9) });
    const store = new ApiKeyStore(kv, { usage });
    await store.create("ws_1", { name: "Admin", scopes: ["admin"] });
    const used = await store.create("ws_1", { name: "Used", scopes: ["ingest"] });
    const unused = await store.create("ws_1", { name: "Unused", scopes: ["ingest"] });
    assert.ok(await store.authenticate(used.secret));
    assert.equal(await store.authenticate("sk_wrong"), null);
    const listed = await store.list("ws_1");
    assert.deepEqual(listed.map((k) => [k.name, k.last_used_at]), [
      ["Admin", null],
      ["Used", "2026-01-31T14:05:09.000Z"],
      ["Unused", null],
    ]);
    assert.equal(await usage.flush(), 1);
    assert.equal(
      (await kv.get<Deno.KvU64>(apiKeyUsedKey("ws_1", used.record.id))).value?.value,
      BigInt(Date.UTC(2026, 0, 31, 14, 5, 9)),
    );
    assert.equal(await store.revoke("ws_1", used.record.id), true);
    assert.equal((await kv.get(apiKeyUsedKey("ws_1", used.record.id))).value, null);
    assert.equal(await usage.flush({ all: true }), 0);
    assert.equal(
      (await store.list("ws_1")).find((k) => k.id === unused.record.id)?.last_used_at,
      null,
    );
  } finally {
    kv.close();
  }
});

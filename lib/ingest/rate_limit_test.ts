import assert from "node:assert/strict";
import { rateLimitKey } from "../kv/keys.ts";
import { RateLimiter } from "./rate_limit.ts";

const MINUTE = 60_000;

/** A window start near the real clock: sync() deletes windows older than two windows. */
function currentWindow(): number {
  return Math.floor(Date.now() / MINUTE) * MINUTE;
}

Deno.test("RateLimiter.take() allows up to the limit and refuses beyond it", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  const now = start + 15_500;
  try {
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(limiter.take("ws:a", 1, 5, MINUTE, now), { ok: true });
    }
    assert.deepEqual(limiter.take("ws:a", 1, 5, MINUTE, now), { ok: false, retryAfterSeconds: 45 });
    assert.deepEqual(limiter.take("ws:b", 1, 5, MINUTE, now), { ok: true });
  } finally {
    await limiter.close();
    kv.close();
  }
});

Deno.test("RateLimiter.take() refuses a cost that would cross the limit", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  try {
    assert.deepEqual(limiter.take("s", 7, 10, MINUTE, start), { ok: true });
    assert.deepEqual(limiter.take("s", 4, 10, MINUTE, start + 1), {
      ok: false,
      retryAfterSeconds: 60,
    });
    assert.deepEqual(limiter.take("s", 3, 10, MINUTE, start + 2), { ok: true });
    assert.deepEqual(limiter.take("t", 11, 10, MINUTE, start), {
      ok: false,
      retryAfterSeconds: 60,
    });
  } finally {
    await limiter.close();
    kv.close();
  }
});

Deno.test("RateLimiter.take() computes retryAfterSeconds from the window end, at least 1", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  try {
    limiter.take("s", 1, 1, MINUTE, start);
    const cases: [number, number][] = [[0, 60], [1, 60], [59_000, 1], [59_001, 1], [59_999, 1], [
      30_000,
      30,
    ]];
    for (const [offset, seconds] of cases) {
      assert.deepEqual(limiter.take("s", 1, 1, MINUTE, start + offset), {
        ok: false,
        retryAfterSeconds: seconds,
      }, `offset ${offset}`);
    }
  } finally {
    await limiter.close();
    kv.close();
  }
});

Deno.test("RateLimiter.take() starts afresh in a new window", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  try {
    assert.equal(limiter.take("s", 2, 2, MINUTE, start + 59_999).ok, true);
    assert.equal(limiter.take("s", 1, 2, MINUTE, start + 59_999).ok, false);
    assert.equal(limiter.take("s", 2, 2, MINUTE, start + MINUTE).ok, true);
    assert.equal(limiter.take("s", 1, 2, MINUTE, start + MINUTE + 1).ok, false);
  } finally {
    await limiter.close();
    kv.close();
  }
});

Deno.test("RateLimiter.sync() writes local counts to KV as a KvU64 sum", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  try {
    limiter.take("ws:a", 3, 100, MINUTE, start);
    limiter.take("ws:a", 2, 100, MINUTE, start);
    await limiter.sync();
    const entry = await kv.get<Deno.KvU64>(rateLimitKey("ws:a", start));
    assert.equal(entry.value?.value, 5n);
    await limiter.sync();
    assert.equal((await kv.get<Deno.KvU64>(rateLimitKey("ws:a", start))).value?.value, 5n);
  } finally {
    await limiter.close();
    kv.close();
  }
});

Deno.test("RateLimiter.sync() lets two limiters on one KV see each other's counts", async () => {
  const kv = await Deno.openKv(":memory:");
  const a = new RateLimiter(kv);
  const b = new RateLimiter(kv);
  const start = currentWindow();
  try {
    assert.equal(a.take("ws:shared", 3, 5, MINUTE, start).ok, true);
    assert.equal(b.take("ws:shared", 2, 5, MINUTE, start).ok, true);
    // Before syncing each limiter only knows its own share.
    assert.equal(a.take("ws:shared", 2, 5, MINUTE, start).ok, true);
    await b.sync();
    await a.sync();
    assert.equal((await kv.get<Deno.KvU64>(rateLimitKey("ws:shared", start))).value?.value, 7n);
    assert.deepEqual(a.take("ws:shared", 1, 5, MINUTE, start + 10_000), {
      ok: false,
      retryAfterSeconds: 50,
    });
    // b synced before a's share arrived; after its next sync it sees the total too.
    assert.equal(b.take("ws:shared", 1, 10, MINUTE, start).ok, true);
    await b.sync();
    assert.equal(b.take("ws:shared", 3, 10, MINUTE, start).ok, false);
    assert.equal(b.take("ws:shared", 2, 10, MINUTE, start).ok, true);
  } finally {
    await a.close();
    await b.close();
    kv.close();
  }
});

Deno.test("RateLimiter.close() flushes unsynced counts", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const start = currentWindow();
  limiter.take("s", 4, 10, MINUTE, start);
  await limiter.close();
  assert.equal((await kv.get<Deno.KvU64>(rateLimitKey("s", start))).value?.value, 4n);
  kv.close();
});

Deno.test("RateLimiter.sync() deletes counters of windows long over", async () => {
  const kv = await Deno.openKv(":memory:");
  const limiter = new RateLimiter(kv);
  const old = currentWindow() - 3 * MINUTE;
  try {
    limiter.take("s", 1, 10, MINUTE, old);
    await kv.set(rateLimitKey("s", old), new Deno.KvU64(9n));
    await limiter.sync();
    assert.equal((await kv.get(rateLimitKey("s", old))).value, null);
  } finally {
    await limiter.close();
    kv.close();
  }
});

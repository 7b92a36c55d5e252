import assert from "node:assert/strict";
import { TtlCache } from "./ttl_cache.ts";

Deno.test("TtlCache answers what was set until it expires", async () => {
  const cache = new TtlCache<number>(30);
  cache.set("a", 1);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("b"), undefined);
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(cache.get("a"), undefined);
});

Deno.test("TtlCache keeps at most maxEntries and drops the oldest first", () => {
  const cache = new TtlCache<number>(60_000, 4);
  for (let i = 0; i < 10; i++) cache.set(`k${i}`, i);
  const kept = Array.from({ length: 10 }, (_, i) => cache.get(`k${i}`));
  assert.deepEqual(kept, [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    6,
    7,
    8,
    9,
  ]);
});

Deno.test("TtlCache set replaces a value kept in the older generation, delete forgets it", () => {
  const cache = new TtlCache<string>(60_000, 4);
  cache.set("a", "old");
  cache.set("b", "b");
  cache.set("a", "new");
  assert.equal(cache.get("a"), "new");
  cache.set("c", "c");
  assert.equal(cache.get("a"), "new");
  cache.delete("a");
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.get("b"), "b");
});

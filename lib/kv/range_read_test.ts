import assert from "node:assert/strict";
import { readByIds } from "./range_read.ts";

const ids = Array.from({ length: 30 }, (_, i) => `id${String(i).padStart(3, "0")}`);

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    const op = kv.atomic();
    for (const id of ids) {
      op.set(["ev", "ws", id], `event ${id}`);
      op.set(["dlv", "ws", id, "dst_a"], `a ${id}`);
      op.set(["dlv", "ws", id, "dst_b"], `b ${id}`);
    }
    op.set(["ev", "ws2", "id005"], "other workspace");
    await op.commit();
    await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("readByIds() reads each id's value and leaves out absent ones", () =>
  withKv(async (kv) => {
    const got = await readByIds<string>(kv, ["id003", "id001", "id010", "nope"], {
      prefix: ["ev", "ws"],
    });
    assert.deepEqual(
      [...got].sort(),
      [["id001", "event id001"], ["id003", "event id003"], ["id010", "event id010"]],
    );
  }));

Deno.test("readByIds() picks the suffix asked for among neighbouring keys", () =>
  withKv(async (kv) => {
    const got = await readByIds<string>(kv, ids, { prefix: ["dlv", "ws"], suffix: ["dst_b"] });
    assert.equal(got.size, ids.length);
    for (const id of ids) assert.equal(got.get(id), `b ${id}`);
  }));

Deno.test("readByIds() looks up what a scan cut short did not reach", () =>
  withKv(async (kv) => {
    const asked = [...ids.slice(0, 3), ...ids.slice(20), "id999"];
    for (const maxScan of [1, 2, 5, 7]) {
      const got = await readByIds<string>(kv, asked, {
        prefix: ["dlv", "ws"],
        suffix: ["dst_a"],
      }, { maxScan });
      assert.deepEqual([...got.keys()].sort(), asked.slice(0, -1), `maxScan ${maxScan}`);
      for (const id of asked.slice(0, -1)) assert.equal(got.get(id), `a ${id}`);
    }
  }));

Deno.test("readByIds() answers an empty map for no ids", () =>
  withKv(async (kv) => {
    assert.equal((await readByIds(kv, [], { prefix: ["ev", "ws"] })).size, 0);
  }));

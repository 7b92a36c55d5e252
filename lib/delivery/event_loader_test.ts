import assert from "node:assert/strict";
import { Sealer } from "../crypto.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { sealEvent } from "../event_store.ts";
import { eventKey } from "../kv/keys.ts";
import { EventLoader } from "./event_loader.ts";

const WS = "ws_loader";

function event(id: string): SluiceEvent {
  return {
    id,
    workspace_id: WS,
    event_id: `order-${id}`,
    event_name: "purchase",
    event_time: 1,
    received_at: 1,
    source: "server",
    dialect: "native",
    user_data: { email: "ada@example.com" },
    properties: {},
    trace_id: "trace",
  };
}

Deno.test("EventLoader.load() answers stored events in the order asked, then from memory", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const sealer = new Sealer("event-loader-test-secret-0123456789", "event");
    const ids = ["01A", "01B", "01C"];
    for (const id of ids) {
      await kv.set(eventKey(WS, id), sealEvent(JSON.stringify(event(id)), sealer));
    }
    const loader = new EventLoader(kv, sealer);
    const first = await loader.load(WS, ["01C", "01A", "01X"]);
    assert.deepEqual(first.map((e) => e.id), ["01C", "01A"]);
    await kv.delete(eventKey(WS, "01A"));
    const second = await loader.load(WS, ["01A", "01B", "01C"]);
    assert.deepEqual(second.map((e) => e.id), ["01A", "01B", "01C"], "01A kept in memory");
    assert.equal(second[0], first[1], "the same opened event");
    assert.deepEqual((await loader.load("ws_other", ["01A"])).map((e) => e.id), []);
  } finally {
    kv.close();
  }
});

Deno.test("EventLoader.load() answers a kept event without reading KV", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const loader = new EventLoader(kv, new Sealer("event-loader-test-secret-0123456789", "event"));
    const kept = event("01K");
    loader.keep(kept);
    assert.deepEqual(await loader.load(WS, ["01K"]), [kept]);
  } finally {
    kv.close();
  }
});

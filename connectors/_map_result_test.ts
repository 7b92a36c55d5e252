import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { batchEvents, skipAll } from "./_map_result.ts";
import { testEvent } from "./_test_events.ts";

const EVENTS = ["a", "skip-b", "c", "d", "skip-e", "f", "g"].map((id) =>
  testEvent({ event_id: id })
);

function mapEvent(event: SluiceEvent): Record<string, unknown> | string {
  return event.event_id.startsWith("skip-") ? `no ${event.event_id}` : { id: event.event_id };
}

Deno.test("batchEvents() skips events mapped to a reason, at their positions", () => {
  assert.deepEqual(batchEvents(EVENTS, { size: 10, mapEvent }).skipped, [
    { index: 1, reason: "no skip-b" },
    { index: 4, reason: "no skip-e" },
  ]);
});

Deno.test("batchEvents() cuts the mapped events into batches of at most size, in order", () => {
  assert.deepEqual(batchEvents(EVENTS, { size: 2, mapEvent }).batches, [
    { bodies: [{ id: "a" }, { id: "c" }], eventIndexes: [0, 2] },
    { bodies: [{ id: "d" }, { id: "f" }], eventIndexes: [3, 5] },
    { bodies: [{ id: "g" }], eventIndexes: [6] },
  ]);
  assert.deepEqual(batchEvents(EVENTS, { size: 1000, mapEvent }).batches, [
    {
      bodies: [{ id: "a" }, { id: "c" }, { id: "d" }, { id: "f" }, { id: "g" }],
      eventIndexes: [0, 2, 3, 5, 6],
    },
  ]);
});

Deno.test("batchEvents() gives no batches when every event is skipped or none is given", () => {
  assert.deepEqual(batchEvents(EVENTS, { size: 5, mapEvent: () => "never" }).batches, []);
  assert.deepEqual(batchEvents([], { size: 5, mapEvent }), { batches: [], skipped: [] });
});

Deno.test("skipAll() sends nothing and skips every event for the reason", () => {
  assert.deepEqual(skipAll(EVENTS.slice(0, 3), "no test mode"), {
    requests: [],
    skipped: [
      { index: 0, reason: "no test mode" },
      { index: 1, reason: "no test mode" },
      { index: 2, reason: "no test mode" },
    ],
  });
  assert.deepEqual(skipAll([], "no test mode"), { requests: [], skipped: [] });
});

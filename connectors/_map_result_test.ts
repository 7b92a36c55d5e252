import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { type BatchOptions, mapInBatches, skipAll } from "./_map_result.ts";
import { testEvent } from "./_test_events.ts";

const EVENTS = ["a", "skip-b", "c", "d", "skip-e", "f", "g"].map((id) =>
  testEvent({ event_id: id })
);

function mapEvent(event: SluiceEvent): Record<string, unknown> | string {
  return event.event_id.startsWith("skip-") ? `no ${event.event_id}` : { id: event.event_id };
}

function request(bodies: Record<string, unknown>[]): ReturnType<BatchOptions["request"]> {
  return {
    method: "POST",
    url: "https://platform.test/events",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: bodies }),
  };
}

Deno.test("mapInBatches() skips the events mapped to a reason, at their positions", () => {
  assert.deepEqual(mapInBatches(EVENTS, { size: 10, mapEvent, request }).skipped, [
    { index: 1, reason: "no skip-b" },
    { index: 4, reason: "no skip-e" },
  ]);
});

Deno.test("mapInBatches() sends the mapped events in order, at most size per request", () => {
  const { requests } = mapInBatches(EVENTS, { size: 2, mapEvent, request });
  assert.deepEqual(requests.map((r) => [r.body, r.eventIndexes]), [
    ['{"data":[{"id":"a"},{"id":"c"}]}', [0, 2]],
    ['{"data":[{"id":"d"},{"id":"f"}]}', [3, 5]],
    ['{"data":[{"id":"g"}]}', [6]],
  ]);
  assert.deepEqual(requests[0], {
    method: "POST",
    url: "https://platform.test/events",
    headers: { "content-type": "application/json" },
    body: '{"data":[{"id":"a"},{"id":"c"}]}',
    eventIndexes: [0, 2],
  });
  assert.deepEqual(
    mapInBatches(EVENTS, { size: 1000, mapEvent, request }).requests.map((r) => r.eventIndexes),
    [[0, 2, 3, 5, 6]],
  );
});

Deno.test("mapInBatches() sends nothing when every event is skipped or none is given", () => {
  assert.deepEqual(
    mapInBatches(EVENTS, { size: 5, mapEvent: () => "never", request }).requests,
    [],
  );
  assert.deepEqual(mapInBatches([], { size: 5, mapEvent, request }), { requests: [], skipped: [] });
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

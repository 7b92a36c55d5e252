import type { SluiceEvent } from "../core/event.ts";
import type { Connector, Outcome, PlatformResponse } from "./types.ts";

/** A minimal canonical event for connector tests, with `over` applied. */
export function testEvent(over: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: "01JQ0000000000000000000000",
    workspace_id: "ws_test",
    event_id: "evt-1",
    event_name: "purchase",
    event_time: 1_767_225_600_000,
    received_at: 1_767_225_600_500,
    source: "server",
    dialect: "native",
    user_data: { email: "ada@example.com" },
    properties: {},
    trace_id: "0123456789abcdef",
    ...over,
  };
}

/** A platform answer for classify() tests. */
export function answer(status: number, body: unknown = "", headers: HeadersInit = {}): {
  status: number;
  headers: Headers;
  body: string;
} {
  return {
    status,
    headers: new Headers(headers),
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** The outcome a connector gives one answer to a one-event request, for classify() tests. */
export function outcomeOf(connector: Connector, response: PlatformResponse): Outcome {
  return connector.classify(response, { method: "POST", url: "", headers: {}, eventIndexes: [0] })
    .outcome;
}

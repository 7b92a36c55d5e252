/** Alternative field names a Trackrift-style browser batch uses, → native names. */
const ALIASES = new Map<string, string>(Object.entries({
  event: "event_name",
  name: "event_name",
  eventName: "event_name",
  eventId: "event_id",
  id: "event_id",
  timestamp: "event_time",
  time: "event_time",
  eventTime: "event_time",
  user: "user_data",
  userData: "user_data",
  actionSource: "action_source",
  orderId: "order_id",
  products: "items",
}));

/**
 * Maps one event of a `POST /collect` batch onto a native event: native names pass
 * through, known aliases (`event`, `eventId`, `timestamp`, `user`, `url`) are renamed.
 */
export function collectToNative(input: unknown): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const event: Record<string, unknown> = {};
  const pageFields: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === "__proto__") continue;
    const native = ALIASES.get(key) ?? key;
    if ((native === "url" || native === "referrer") && typeof value === "string") {
      pageFields[native] = value;
    } else if (!Object.hasOwn(event, native)) event[native] = value;
  }
  if (Object.keys(pageFields).length) {
    const page = typeof event.page === "object" && event.page !== null ? event.page : {};
    event.page = { ...pageFields, ...page };
  }
  return event;
}

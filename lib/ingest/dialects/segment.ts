import { z } from "@hono/zod-openapi";
import { clipped } from "../../../core/event.ts";
import { RejectedInput } from "../event_input.ts";

/** The calls of the Segment HTTP Tracking API, each a message `type` and an endpoint. */
export const SEGMENT_CALLS = ["track", "identify", "page", "screen", "group", "alias"] as const;

/** One message of the Segment HTTP Tracking API (track, identify, page, screen, group, alias). */
export const segmentMessageSchema = z.object({
  type: z.enum(SEGMENT_CALLS).optional(),
  messageId: z.union([z.string(), z.number()]).optional(),
  event: z.string().optional(),
  name: z.string().optional(),
  userId: z.union([z.string(), z.number()]).optional(),
  anonymousId: z.union([z.string(), z.number()]).optional(),
  previousId: z.union([z.string(), z.number()]).optional(),
  groupId: z.union([z.string(), z.number()]).optional(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  traits: z.record(z.string(), z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  integrations: z.record(z.string(), z.unknown()).optional(),
  writeKey: z.string().optional(),
}).catchall(z.unknown()).openapi("SegmentMessage", {
  example: {
    type: "track",
    messageId: "ajs-next-1700000000000-abc",
    event: "Order Completed",
    userId: "user-42",
    anonymousId: "anon-7",
    timestamp: "2026-11-20T10:00:00Z",
    properties: { order_id: "1001", revenue: 49.9, currency: "EUR" },
    context: { traits: { email: "ada@example.com" }, ip: "203.0.113.9" },
  },
});

/** A Segment `/v1/batch` body. */
export const segmentBatchSchema = z.object({
  batch: z.array(z.unknown()),
  writeKey: z.string().optional(),
  context: z.record(z.string(), z.unknown()).optional(),
}).openapi("SegmentBatch", {
  example: {
    batch: [
      {
        type: "page",
        messageId: "m-1",
        anonymousId: "anon-7",
        properties: { url: "https://shop.example/" },
      },
      {
        type: "track",
        messageId: "m-2",
        event: "Order Completed",
        userId: "user-42",
        properties: { order_id: "1001", revenue: 49.9, currency: "EUR" },
      },
    ],
  },
});

/** The names Sluice gives non-track Segment calls. */
const CALL_EVENT_NAME = new Map<string, string>(Object.entries({
  identify: "identify",
  page: "page_view",
  screen: "screen_view",
  group: "group",
  alias: "alias",
}));

const TRAIT_TO_USER_DATA: Record<string, string> = {
  email: "email",
  phone: "phone",
  firstName: "first_name",
  first_name: "first_name",
  lastName: "last_name",
  last_name: "last_name",
  gender: "gender",
  birthday: "date_of_birth",
};

const ADDRESS_TO_USER_DATA: Record<string, string> = {
  city: "city",
  state: "state",
  postalCode: "zip",
  postal_code: "zip",
  country: "country",
};

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

const CALL_SET = new Set<unknown>(SEGMENT_CALLS);

/**
 * One Segment message as an ingest input: its native event ({@link segmentToNative}), or a
 * {@link RejectedInput} naming `type` when that is not one of Segment's calls. `type` is
 * the call the endpoint names (`/v1/track`), for messages that carry none.
 */
export function segmentInput(message: unknown, type?: string): unknown {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return message;
  const m = message as Record<string, unknown>;
  if (m.type !== undefined && !CALL_SET.has(m.type)) {
    const id = typeof m.messageId === "string" || typeof m.messageId === "number"
      ? String(m.messageId)
      : undefined;
    return new RejectedInput([{
      path: "type",
      message: `must be one of ${SEGMENT_CALLS.join(", ")}, not ${
        clipped(JSON.stringify(m.type) ?? "")
      }`,
    }], id);
  }
  return segmentToNative(m, type);
}

/**
 * Maps one Segment message onto a native event: `messageId` becomes `event_id`,
 * `event` (or the call type) the name, traits and context the user data, and the
 * ecommerce spec's properties (`revenue`/`total`/`value`, `order_id`, `products`) the
 * value, order and items. `type` is the call when the endpoint names it (`/v1/track`).
 */
export function segmentToNative(message: unknown, type?: string): Record<string, unknown> {
  const m = record(message);
  const call = String(m.type ?? type ?? "track");
  const context = record(m.context);
  const properties = { ...record(m.properties) };
  const traits = { ...record(context.traits), ...record(m.traits) };
  const userData: Record<string, unknown> = {};
  for (const [from, to] of Object.entries(TRAIT_TO_USER_DATA)) {
    if (traits[from] !== undefined) userData[to] = traits[from];
  }
  const address = record(traits.address);
  for (const [from, to] of Object.entries(ADDRESS_TO_USER_DATA)) {
    if (address[from] !== undefined) userData[to] = address[from];
  }
  // Traits are about a person: kept whole, but in user_data, which is sealed at rest.
  if (Object.keys(traits).length) userData.traits = traits;
  if (m.userId !== undefined) userData.customer_id = m.userId;
  if (m.anonymousId !== undefined) userData.anonymous_id = m.anonymousId;
  if (typeof context.ip === "string") userData.client_ip = context.ip;
  if (typeof context.userAgent === "string") userData.user_agent = context.userAgent;
  const device = record(context.device);
  if (typeof device.advertisingId === "string") userData.madid = device.advertisingId;
  const page = record(context.page);
  if (call === "page") Object.assign(page, pick(properties, ["url", "path", "referrer", "title"]));

  const event: Record<string, unknown> = {
    event_name: call === "track" ? (m.event ?? "") : CALL_EVENT_NAME.get(call) ?? call,
    source: segmentSource(String(record(context.library).name ?? "")),
    user_data: userData,
    properties: {
      ...properties,
      ...(call !== "track" && m.name !== undefined ? { name: m.name } : {}),
      ...(m.groupId !== undefined ? { group_id: m.groupId } : {}),
      ...(m.previousId !== undefined ? { previous_id: m.previousId } : {}),
      ...(context.campaign ? { campaign: context.campaign } : {}),
    },
  };
  if (m.messageId !== undefined) event.event_id = m.messageId;
  if (m.timestamp !== undefined) event.event_time = m.timestamp;
  const value = properties.revenue ?? properties.total ?? properties.value;
  if (value !== undefined) event.value = value;
  if (properties.currency !== undefined) event.currency = properties.currency;
  if (properties.order_id !== undefined) event.order_id = properties.order_id;
  if (Array.isArray(properties.products)) {
    event.items = properties.products.map((product) => {
      const p = record(product);
      return {
        ...p,
        id: p.product_id ?? p.sku ?? p.id,
        quantity: p.quantity,
        price: p.price,
      };
    });
  }
  const pageFields = pick(page, ["url", "path", "referrer", "title"]);
  if (Object.keys(pageFields).length) event.page = pageFields;
  const consent = segmentConsent(context);
  if (consent) event.consent = consent;
  return event;
}

/** Where a Segment library runs: analytics.js in browsers, the mobile SDKs in apps, the rest on servers. */
function segmentSource(library: string): "web" | "app" | "server" {
  if (/^(analytics\.js|analytics-next|@segment\/analytics-next)$/.test(library)) return "web";
  if (/ios|android|react-native|flutter|swift|kotlin/i.test(library)) return "app";
  return "server";
}

function pick(from: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (typeof from[key] === "string") out[key] = from[key];
  return out;
}

/** Segment's consent context: `context.consent.categoryPreferences` → Google-style consent. */
function segmentConsent(context: Record<string, unknown>): Record<string, boolean> | undefined {
  const prefs = record(record(context.consent).categoryPreferences);
  const keys = Object.keys(prefs);
  if (keys.length === 0) return undefined;
  const advertising = prefs.Advertising ?? prefs.advertising ?? prefs.ads;
  const analytics = prefs.Analytics ?? prefs.analytics;
  const consent: Record<string, boolean> = {};
  if (typeof advertising === "boolean") {
    consent.ad_user_data = advertising;
    consent.ad_personalization = advertising;
  }
  if (typeof analytics === "boolean") consent.analytics_storage = analytics;
  return Object.keys(consent).length ? consent : undefined;
}

/**
 * The outbound webhook catalogue: every message type Sluice sends, with the schema of its
 * `data` (served as JSON Schema at `GET /v1/webhook-events`) and an example.
 *
 * @module
 */
import { z } from "zod";
import type { SluiceEvent } from "../../core/event.ts";

/** Message types a webhook can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  "conversion.created",
  "lead.created",
  "event.received",
  "delivery.failed",
  "delivery.recovered",
  "platform.unhealthy",
  "webhook.disabled",
] as const;

/** One subscribable message type. */
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number];

/** Every message type, the test ping included (sent only by `POST /v1/webhooks/:id/test`). */
export type WebhookMessageType = WebhookEventType | "webhook.test";

/** Types a webhook gets when it names none: all but the opt-in `event.received`. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES.filter(
  (type) => type !== "event.received",
);

/** Types whose `data` is one accepted event. */
export const EVENT_MESSAGE_TYPES: readonly WebhookEventType[] = [
  "conversion.created",
  "lead.created",
  "event.received",
];

const consentState = z.enum(["granted", "denied"]);

/** The canonical event as webhook messages carry it (lib/event.ts `SluiceEvent`). */
export const canonicalEventSchema = z.object({
  id: z.string().describe("Storage id (ULID), unique per accepted event"),
  workspace_id: z.string(),
  event_id: z.string().describe("The dedup key, from the sender or generated"),
  event_name: z.string().describe("Canonical name (purchase, lead, page_view, …) or custom"),
  original_event_name: z.string().optional().describe("The name as sent, when it differs"),
  event_time: z.string().describe("When it happened (ISO 8601)"),
  received_at: z.string().describe("When Sluice received it (ISO 8601)"),
  source: z.string(),
  action_source: z.string().optional(),
  dialect: z.enum(["native", "browser", "collect", "hook", "segment"]),
  user_data: z.looseObject({
    email: z.string().optional(),
    phone: z.string().optional(),
    first_name: z.string().optional(),
    last_name: z.string().optional(),
    gender: z.string().optional(),
    date_of_birth: z.string().optional(),
    city: z.string().optional(),
    state: z.string().optional(),
    zip: z.string().optional(),
    country: z.string().optional(),
    customer_id: z.string().optional(),
    external_ids: z.array(z.string()).optional(),
    client_ip: z.string().optional(),
    user_agent: z.string().optional(),
    anonymous_id: z.string().optional(),
    madid: z.string().optional(),
    browser_ids: z.record(z.string(), z.string()).optional(),
    click_ids: z.record(z.string(), z.string()).optional(),
  }).describe("Raw values as received; platforms get them normalised and hashed"),
  value: z.number().optional(),
  currency: z.string().optional(),
  order_id: z.string().optional(),
  items: z.array(z.looseObject({
    id: z.string(),
    quantity: z.number().optional(),
    price: z.number().optional(),
  })).optional(),
  page: z.object({
    url: z.string().optional(),
    path: z.string().optional(),
    referrer: z.string().optional(),
    title: z.string().optional(),
  }).optional(),
  utm: z.object({
    source: z.string().optional(),
    medium: z.string().optional(),
    campaign: z.string().optional(),
    term: z.string().optional(),
    content: z.string().optional(),
  }).optional(),
  consent: z.object({
    ad_user_data: consentState.optional(),
    ad_personalization: consentState.optional(),
    analytics_storage: consentState.optional(),
  }).optional(),
  properties: z.record(z.string(), z.unknown()),
  trace_id: z.string(),
}).describe("An accepted event");

/** An accepted event as the API and webhooks show it. */
export type PublishedEvent = z.infer<typeof canonicalEventSchema>;

/** An event as the API and webhooks show it: stored times (epoch ms) as ISO 8601. */
export function publishedEvent(event: SluiceEvent): PublishedEvent {
  return {
    ...event,
    event_time: new Date(event.event_time).toISOString(),
    received_at: new Date(event.received_at).toISOString(),
  };
}

const platformRef = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string(),
}).describe("The connected platform (destination)");

const eventRef = z.object({
  id: z.string().describe("Storage id: GET /v1/events/{id} shows its deliveries"),
  event_id: z.string(),
  event_name: z.string(),
  value: z.number().optional(),
  currency: z.string().optional(),
});

/** Most events one delivery notice lists; a bigger batch is split over several messages. */
export const MAX_EVENTS_PER_NOTICE = 200;

const deliveryFailedSchema = z.object({
  platform: platformRef,
  reason: z.string().describe("What the platform said, or why Sluice gave up"),
  attempts: z.number().int(),
  last_status: z.number().int().optional().describe("HTTP status of the last answer"),
  events: z.array(eventRef).max(MAX_EVENTS_PER_NOTICE),
});

const deliveryRecoveredSchema = z.object({
  platform: platformRef,
  attempts: z.number().int().describe("The attempt that delivered"),
  events: z.array(eventRef).max(MAX_EVENTS_PER_NOTICE),
});

const platformUnhealthySchema = z.object({
  platform: platformRef,
  reason: z.string(),
  since: z.string().describe("ISO 8601"),
});

const webhookDisabledSchema = z.object({
  webhook: z.object({ id: z.string(), url: z.string() }),
  reason: z.string(),
  failing_since: z.string().describe("ISO 8601: the first failed send of the failing streak"),
  disabled_at: z.string(),
});

const webhookTestSchema = z.object({ webhook_id: z.string(), message: z.string() });

/** The `data` of a `delivery.failed` message. */
export type DeliveryFailedData = z.infer<typeof deliveryFailedSchema>;
/** The `data` of a `delivery.recovered` message. */
export type DeliveryRecoveredData = z.infer<typeof deliveryRecoveredSchema>;
/** The `data` of a `platform.unhealthy` message. */
export type PlatformUnhealthyData = z.infer<typeof platformUnhealthySchema>;
/** The `data` of a `webhook.disabled` message. */
export type WebhookDisabledData = z.infer<typeof webhookDisabledSchema>;
/** A platform as notices name it. */
export type PlatformRef = z.infer<typeof platformRef>;
/** An event as delivery notices list it. */
export type EventRef = z.infer<typeof eventRef>;

const exampleEvent: PublishedEvent = {
  id: "01JD2Q7K1X9V3C8M5T4R6N2B0A",
  workspace_id: "ws_5fJq2LxP9s",
  event_id: "order-1001",
  event_name: "purchase",
  event_time: "2025-11-23T10:40:00.000Z",
  received_at: "2025-11-23T10:40:00.312Z",
  source: "server",
  action_source: "website",
  dialect: "native",
  user_data: {
    email: "ada@example.com",
    phone: "+14155550123",
    client_ip: "203.0.113.7",
    browser_ids: { fbp: "fb.1.1763800000000.1234567890" },
  },
  value: 129.9,
  currency: "EUR",
  order_id: "1001",
  items: [{ id: "SKU-1", quantity: 1, price: 129.9 }],
  page: { url: "https://shop.example/checkout/thanks" },
  properties: {},
  trace_id: "9f2c4e1a7b3d5c60",
};
const examplePlatform = { id: "01JD2PZ8M3H6Q1W9E5R7T2Y4U0", type: "meta", name: "Meta pixel" };
const exampleRef = {
  id: exampleEvent.id,
  event_id: "order-1001",
  event_name: "purchase",
  value: 129.9,
  currency: "EUR",
};

/** One catalogue entry. */
export interface WebhookEventSpec {
  type: WebhookMessageType;
  description: string;
  /** Sent only to webhooks that name it. */
  opt_in: boolean;
  data: z.ZodType;
  example: unknown;
}

/** The catalogue, in the order the API lists it. */
export const WEBHOOK_CATALOGUE: readonly WebhookEventSpec[] = [
  {
    type: "conversion.created",
    description: "An event that carries a value was accepted (a purchase, a subscription, …).",
    opt_in: false,
    data: canonicalEventSchema,
    example: exampleEvent,
  },
  {
    type: "lead.created",
    description: "A lead event was accepted.",
    opt_in: false,
    data: canonicalEventSchema,
    example: { ...exampleEvent, event_name: "lead", value: undefined, currency: undefined },
  },
  {
    type: "event.received",
    description: "Any event was accepted. Opt-in: sent only to webhooks that name it.",
    opt_in: true,
    data: canonicalEventSchema,
    example: { ...exampleEvent, event_name: "page_view", value: undefined, currency: undefined },
  },
  {
    type: "delivery.failed",
    description:
      "A platform gave up on events: a permanent error, or the last retry failed. One message per failed batch.",
    opt_in: false,
    data: deliveryFailedSchema,
    example: {
      platform: examplePlatform,
      reason: "(#100) Invalid parameter",
      attempts: 1,
      last_status: 400,
      events: [exampleRef],
    },
  },
  {
    type: "delivery.recovered",
    description: "Events reached a platform after one or more failed attempts.",
    opt_in: false,
    data: deliveryRecoveredSchema,
    example: { platform: examplePlatform, attempts: 3, events: [exampleRef] },
  },
  {
    type: "platform.unhealthy",
    description:
      "A platform rejected its credentials; it is paused until its settings change (PATCH /v1/platforms/{id}).",
    opt_in: false,
    data: platformUnhealthySchema,
    example: {
      platform: examplePlatform,
      reason: "auth failed: (#190) Error validating access token",
      since: "2026-11-23T10:00:00.000Z",
    },
  },
  {
    type: "webhook.disabled",
    description:
      "A webhook failed every send for the configured period and was disabled; sent to the workspace's other webhooks.",
    opt_in: false,
    data: webhookDisabledSchema,
    example: {
      webhook: { id: "01JD2R0F4G7H2J5K8L1M3N6P9Q", url: "https://crm.example/hooks/sluice" },
      reason: "every send failed for 5 days",
      failing_since: "2026-11-18T09:00:00.000Z",
      disabled_at: "2026-11-23T09:00:04.000Z",
    },
  },
  {
    type: "webhook.test",
    description: "The ping sent by POST /v1/webhooks/{id}/test, to that webhook only.",
    opt_in: false,
    data: webhookTestSchema,
    example: {
      webhook_id: "01JD2R0F4G7H2J5K8L1M3N6P9Q",
      message: "Test message from Sluice",
    },
  },
];

/** The whole message body of one type: the Standard Webhooks envelope around its `data`. */
export function messageSchema(spec: WebhookEventSpec) {
  return z.object({
    id: z.string().describe("webhook-id: msg_…, the same on every retry"),
    type: z.literal(spec.type),
    created_at: z.string().describe("ISO 8601"),
    workspace_id: z.string(),
    data: spec.data,
  });
}

/** The catalogue as the API answers it: each message body's JSON Schema and an example body. */
export function catalogueDocument() {
  return WEBHOOK_CATALOGUE.map((spec) => ({
    type: spec.type,
    description: spec.description,
    opt_in: spec.opt_in,
    schema: z.toJSONSchema(messageSchema(spec), { unrepresentable: "any" }),
    example: {
      id: "msg_01JD2Q7K2B4N6M8P0R2T4V6X8Z",
      type: spec.type,
      created_at: "2026-11-23T10:00:00.412Z",
      workspace_id: exampleEvent.workspace_id,
      data: spec.example,
    },
  }));
}

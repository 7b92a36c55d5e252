import { z } from "@hono/zod-openapi";
// Every field error says what the field must be.
import "./field_messages.ts";

/** The ways events reach Sluice. */
export type Dialect = "native" | "browser" | "collect" | "hook" | "segment";

/** Ad-platform click ids captured from landing-page URLs. */
export const CLICK_ID_PARAMS = [
  "fbclid",
  "gclid",
  "gbraid",
  "wbraid",
  "ttclid",
  "sccid",
  "epik",
  "rdt_cid",
  "msclkid",
  "li_fat_id",
  "twclid",
] as const;

/** One click id parameter name. */
export type ClickIdName = typeof CLICK_ID_PARAMS[number];

/** First-party browser ids mirrored from platform cookies. */
export const BROWSER_ID_NAMES = [
  "fbp",
  "fbc",
  "ga",
  "ga_session_id",
  "ttp",
  "scid",
  "epik",
  "rdt_uuid",
  "uet_msclkid",
  "gcl_aw",
] as const;

/** One browser id name. */
export type BrowserIdName = typeof BROWSER_ID_NAMES[number];

/** Consent state of one purpose. */
export type ConsentState = "granted" | "denied";

/** Who the event is about; raw values, normalised and hashed per platform at delivery. */
export interface UserData {
  email?: string;
  phone?: string;
  first_name?: string;
  last_name?: string;
  gender?: string;
  date_of_birth?: string;
  city?: string;
  state?: string;
  zip?: string;
  country?: string;
  customer_id?: string;
  external_ids?: string[];
  client_ip?: string;
  user_agent?: string;
  anonymous_id?: string;
  madid?: string;
  browser_ids?: Partial<Record<BrowserIdName, string>>;
  click_ids?: Partial<Record<ClickIdName, string>>;
  [extra: string]: unknown;
}

/** One line item. */
export interface Item {
  id: string;
  quantity?: number;
  price?: number;
  [extra: string]: unknown;
}

/** The page an event happened on. */
export interface Page {
  url?: string;
  path?: string;
  referrer?: string;
  title?: string;
}

/** UTM campaign parameters. */
export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

/** Consent signals carried with an event. */
export interface Consent {
  ad_user_data?: ConsentState;
  ad_personalization?: ConsentState;
  analytics_storage?: ConsentState;
}

/** The canonical event every dialect is parsed into. */
export interface SluiceEvent {
  /** Storage id (ULID): time-ordered, unique per accepted event. */
  id: string;
  workspace_id: string;
  /** The dedup key, from the sender or generated. */
  event_id: string;
  /** Canonical name (`purchase`, `page_view`, …) or the custom name unchanged. */
  event_name: string;
  /** The name as sent, when it differs from `event_name`. */
  original_event_name?: string;
  /** When it happened, epoch milliseconds. */
  event_time: number;
  /** When Sluice received it, epoch milliseconds. */
  received_at: number;
  source: string;
  action_source?: string;
  dialect: Dialect;
  user_data: UserData;
  value?: number;
  currency?: string;
  order_id?: string;
  items?: Item[];
  page?: Page;
  utm?: Utm;
  consent?: Consent;
  properties: Record<string, unknown>;
  trace_id: string;
}

/** Limits on what one event may carry. */
export const EVENT_LIMITS = {
  idLength: 128,
  nameLength: 100,
  shortText: 256,
  urlLength: 4096,
  items: 200,
  externalIds: 10,
  nestingDepth: 10,
  /** Serialised size of one stored event; KV values are at most 64 KiB. */
  storedBytes: 32 * 1024,
  /** How far ahead of the server clock an event time may be. */
  futureSkewMs: 5 * 60_000,
  /** The oldest event time any platform accepts (Google Ads and LinkedIn: 90 days). */
  maxAgeMs: 90 * 86_400_000,
} as const;

const shortText = z.string().trim().max(EVENT_LIMITS.shortText);
const idText = z.union([z.string(), z.number().finite()])
  .transform((v) => String(v).trim())
  .pipe(z.string().min(1).max(EVENT_LIMITS.idLength));
const urlText = z.string().trim().max(EVENT_LIMITS.urlLength);
const consentValue = z.union([z.boolean(), z.enum(["granted", "denied", "GRANTED", "DENIED"])], {
  error: 'must be "granted" or "denied" (or true or false)',
})
  .transform((v): ConsentState =>
    v === true || String(v).toLowerCase() === "granted" ? "granted" : "denied"
  );
/** A sent value cut to `max` characters, for quoting in an error message. */
export function clipped(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const NUMERIC_TEXT = /^-?\d+(\.\d+)?$/;

/** A number, or a decimal string; a string too long for a double (it would be stored as null) is refused. */
const numeric = z.union([z.number(), z.string()], {
  error: (issue) =>
    typeof issue.input === "number"
      ? "must be a finite number"
      : `must be a number, not ${clipped(JSON.stringify(issue.input) ?? "undefined")}`,
}).transform((given, ctx) => {
  if (typeof given === "number") return given;
  const text = given.trim();
  const n = NUMERIC_TEXT.test(text) ? Number(text) : NaN;
  if (Number.isFinite(n)) return n;
  ctx.issues.push({
    code: "custom",
    input: given,
    message: Number.isNaN(n)
      ? `must be a number; "${clipped(given)}" is not one`
      : `must be a number a double can hold; "${clipped(text)}" is too large`,
  });
  return z.NEVER;
});

const clickIdsSchema = z.object(
  Object.fromEntries(CLICK_ID_PARAMS.map((k) => [k, shortText.optional()])) as Record<
    ClickIdName,
    z.ZodOptional<typeof shortText>
  >,
).strict();

const browserIdsSchema = z.object(
  Object.fromEntries(BROWSER_ID_NAMES.map((k) => [k, shortText.optional()])) as Record<
    BrowserIdName,
    z.ZodOptional<typeof shortText>
  >,
).strict();

/** The `user_data` object of a native event. Click ids may sit at its top level too. */
export const userDataSchema = z.object({
  email: shortText.optional(),
  phone: z.union([shortText, z.number().finite().transform(String)]).optional(),
  first_name: shortText.optional(),
  last_name: shortText.optional(),
  gender: shortText.optional(),
  date_of_birth: shortText.optional(),
  city: shortText.optional(),
  state: shortText.optional(),
  zip: z.union([shortText, z.number().finite().transform(String)]).optional(),
  country: shortText.optional(),
  customer_id: idText.optional(),
  external_ids: z.array(idText).max(EVENT_LIMITS.externalIds).optional(),
  client_ip: shortText.optional(),
  user_agent: z.string().max(1024).optional(),
  anonymous_id: idText.optional(),
  madid: shortText.optional(),
  browser_ids: browserIdsSchema.optional(),
  click_ids: clickIdsSchema.optional(),
}).catchall(z.unknown()).openapi("UserData");

/** One line item of a native event. */
export const itemSchema = z.object({
  id: idText,
  quantity: numeric.optional(),
  price: numeric.optional(),
}).catchall(z.unknown()).openapi("Item");

/** A native event as senders post it to `POST /v1/events`. */
export const nativeEventSchema = z.object({
  event_id: idText.optional().openapi({ description: "Dedup key; generated when absent." }),
  event_name: z.string().trim().min(1).max(EVENT_LIMITS.nameLength).openapi({
    example: "purchase",
  }),
  event_time: z.union([z.number().finite(), z.string().trim().max(64)]).optional().openapi({
    description: "Unix seconds (or milliseconds) or an ISO 8601 date-time; defaults to now.",
  }),
  source: z.string().trim().min(1).max(32).optional().openapi({ example: "server" }),
  action_source: z.string().trim().max(32).optional(),
  user_data: userDataSchema.optional(),
  value: numeric.optional(),
  currency: z.string().trim().regex(/^[A-Za-z]{3}$/, "must be a 3-letter ISO 4217 code")
    .transform((v) => v.toUpperCase()).optional(),
  order_id: idText.optional(),
  items: z.array(itemSchema).max(EVENT_LIMITS.items).optional(),
  page: z.object({
    url: urlText.optional(),
    path: urlText.optional(),
    referrer: urlText.optional(),
    title: shortText.optional(),
  }).strict().optional(),
  consent: z.object({
    ad_user_data: consentValue.optional(),
    ad_personalization: consentValue.optional(),
    analytics_storage: consentValue.optional(),
  }).strict().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
}).catchall(z.unknown()).openapi("Event", {
  example: {
    event_id: "order-1001",
    event_name: "purchase",
    event_time: 1767225600,
    source: "server",
    action_source: "website",
    user_data: { email: "ada@example.com", phone: "+1 650 555 1212", country: "US" },
    value: 49.9,
    currency: "EUR",
    order_id: "1001",
    items: [{ id: "sku-1", quantity: 2, price: 24.95 }],
    page: { url: "https://shop.example/checkout?gclid=abc" },
    consent: { ad_user_data: "granted", ad_personalization: "granted" },
  },
});

/** A native event after validation, before enrichment. */
export type EventInput = z.output<typeof nativeEventSchema>;

import { z } from "zod";
import { endpointSetting } from "./_settings.ts";
import type { Item, SluiceEvent, UserData } from "../core/event.ts";
import { looksHashed, normalizeEmail, phoneE164 } from "../core/pii/mod.ts";
import { skipAll } from "./_map_result.ts";
import { omitUndefined, trimmedText } from "./_records.ts";
import { baseUrl, parseJson, retryOutcome } from "./_response.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  OutboundRequest,
  Outcome,
  PlatformResponse,
  SkippedEvent,
} from "./types.ts";

/** Klaviyo destination settings. */
export const klaviyoSettings = z.object({
  private_api_key: z.string().trim().regex(
    /^pk_\w{10,}$/,
    'must be a private API key ("pk_…"), not the 6-character public key',
  ).describe(
    "Private API key with the Events write scope: Klaviyo → Settings → Account → API keys → " +
      "Create Private API Key",
  ),
  backfill_after_hours: z.number().int().min(1).max(8760).default(24).describe(
    "Events delivered more than this many hours after they happened are sent with " +
      "backfill: true: Klaviyo records them without triggering flows (late retries, replays)",
  ),
  endpoint: endpointSetting("https://a.klaviyo.com"),
}).strict();

/** Klaviyo destination settings after validation. */
export type KlaviyoSettings = z.output<typeof klaviyoSettings>;

/** The API revision every request pins (the `revision` header); bump it on purpose. */
export const KLAVIYO_REVISION = "2026-07-15";

/**
 * Sluice canonical names → the metric names Klaviyo's integration guides use (its templates,
 * flows and benchmarks expect them); other names are sent unchanged as custom metrics.
 */
export const KLAVIYO_METRIC_NAMES: Readonly<Record<string, string>> = {
  page_view: "Active on Site",
  view_content: "Viewed Product",
  view_category: "Viewed Category",
  search: "Searched Site",
  add_to_cart: "Added to Cart",
  initiate_checkout: "Started Checkout",
  purchase: "Placed Order",
  refund: "Refunded Order",
};

/** Calls that update who someone is rather than record what they did: no Klaviyo metric. */
const NOT_EVENTS = new Set(["identify", "alias", "group"]);

/** Order-level metrics whose dedup key is the order id, as in Klaviyo's integration guide. */
const ORDER_EVENTS = new Set(["purchase", "refund"]);

const BATCH_LIMIT = 1000;
/** Klaviyo's 5 MB payload limit, less room for the request's envelope. */
const MAX_PAYLOAD_BYTES = 5_000_000 - 1_000;
const MAX_PROPERTIES = 400;
const HOUR_MS = 3_600_000;

const NO_TEST_MODE = "Klaviyo has no test mode: connect a Klaviyo sandbox (test) account's " +
  "private key to try Sluice without touching real profiles";

/** The profile's external id: `customer_id`, else the first of `external_ids`. */
function externalId(user: UserData): string | undefined {
  return trimmedText(user.customer_id) ?? trimmedText(user.external_ids?.[0]);
}

/**
 * Klaviyo profile attributes: raw PII (Klaviyo hashes nothing), the email canonical
 * (trimmed, lowercased) and the phone in E.164 (`+16505551212`, its country code from
 * `user_data.country` for national numbers). Values Klaviyo would refuse are left out.
 */
export function klaviyoProfile(user: UserData): Record<string, unknown> {
  const location = omitUndefined({
    city: trimmedText(user.city),
    region: trimmedText(user.state),
    zip: trimmedText(user.zip),
    country: trimmedText(user.country),
    ip: trimmedText(user.client_ip),
  });
  return omitUndefined({
    email: user.email === undefined ? undefined : normalizeEmail(user.email),
    phone_number: user.phone === undefined ? undefined : phoneE164(user.phone, user.country),
    external_id: externalId(user),
    first_name: trimmedText(user.first_name),
    last_name: trimmedText(user.last_name),
    location: Object.keys(location).length > 0 ? location : undefined,
  });
}

function refusedValue(field: string, value: string | undefined, problem: string): string {
  if (value === undefined) return "";
  if (looksHashed(value)) return `${field} is hashed, and Klaviyo needs it raw`;
  return `${field} ${JSON.stringify(value.slice(0, 100))} ${problem}`;
}

/** Why an event has no profile identifier Klaviyo takes (email, phone_number or external_id). */
function missingIdentifier(user: UserData): string {
  const refused = [
    refusedValue("email", user.email, "is not an address"),
    refusedValue("phone", user.phone, "has no E.164 form"),
  ].filter(Boolean);
  return "no Klaviyo profile identifier: Klaviyo needs a raw email, a phone number or " +
    `customer_id${refused.length ? ` (${refused.join("; ")})` : ""}`;
}

function stringProp(item: Item, key: string): string | undefined {
  const value = item[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** One line item in the shape of Klaviyo's ecommerce guide (`ProductID`, `ItemPrice`, …). */
function klaviyoItem(item: Item): Record<string, unknown> {
  const category = stringProp(item, "category");
  return omitUndefined({
    ProductID: item.id,
    SKU: stringProp(item, "sku"),
    ProductName: stringProp(item, "name"),
    Quantity: item.quantity,
    ItemPrice: item.price,
    RowTotal: item.price === undefined ? undefined : item.price * (item.quantity ?? 1),
    ProductURL: stringProp(item, "url"),
    ImageURL: stringProp(item, "image_url"),
    Categories: category === undefined ? undefined : [category],
    Brand: stringProp(item, "brand"),
  });
}

/**
 * Top-level product fields of Klaviyo's Viewed Product (`ProductID`, `Price`, `URL`, …) and
 * Added to Cart (the same with `AddedItem` in front, and `AddedItemQuantity`), for an event
 * about exactly one item.
 */
function singleProduct(event: SluiceEvent): Record<string, unknown> {
  const item = event.items?.length === 1 ? event.items[0] : undefined;
  if (item === undefined) return {};
  const line = klaviyoItem(item);
  const product = omitUndefined({
    ProductID: line.ProductID,
    SKU: line.SKU,
    ProductName: line.ProductName,
    Categories: line.Categories,
    ImageURL: line.ImageURL,
    URL: line.ProductURL ?? event.page?.url,
    Brand: line.Brand,
    Price: line.ItemPrice,
  });
  if (event.event_name === "view_content") return product;
  if (event.event_name !== "add_to_cart") return {};
  return omitUndefined({
    ...Object.fromEntries(Object.entries(product).map(([key, v]) => [`AddedItem${key}`, v])),
    AddedItemQuantity: item.quantity,
  });
}

/**
 * Klaviyo event properties: Klaviyo's ecommerce names for what Sluice knows (`OrderId`,
 * `Items`, `ItemNames`, single-product fields), the page and UTM fields under Sluice's
 * names, then the event's own properties, which win.
 */
export function klaviyoProperties(event: SluiceEvent): Record<string, unknown> {
  const items = event.items ?? [];
  const names = items.map((item) => stringProp(item, "name")).filter((n) => n !== undefined);
  return {
    ...omitUndefined({
      OrderId: event.order_id,
      Items: items.length > 0 ? items.map(klaviyoItem) : undefined,
      ItemNames: names.length > 0 ? names : undefined,
      page_url: event.page?.url,
      page_title: event.page?.title,
      referrer: event.page?.referrer,
      utm_source: event.utm?.source,
      utm_medium: event.utm?.medium,
      utm_campaign: event.utm?.campaign,
      utm_term: event.utm?.term,
      utm_content: event.utm?.content,
    }),
    ...singleProduct(event),
    ...event.properties,
  };
}

/** Klaviyo's dedup key: the order id for order-level metrics, else the Sluice event id. */
export function klaviyoUniqueId(event: SluiceEvent): string {
  return ORDER_EVENTS.has(event.event_name) && event.order_id ? event.order_id : event.event_id;
}

/** ISO 8601 to the second, which is all Klaviyo keeps (`2026-01-01T00:00:00Z`). */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** One event ready to send: its bulk entry, dedup key, profile key and size. */
interface Entry {
  index: number;
  eventId: string;
  body: Record<string, unknown>;
  /** Metric name and unique_id: Klaviyo fails a bulk request that repeats one. */
  dedupKey: string;
  profileKey: string;
  bytes: number;
}

/** One Klaviyo bulk entry (a profile with its one event), or the reason it cannot be sent. */
function klaviyoEntry(
  event: SluiceEvent,
  settings: KlaviyoSettings,
  now: number,
): { body: Record<string, unknown>; dedupKey: string; profileKey: string } | string {
  if (NOT_EVENTS.has(event.event_name)) {
    return `"${event.event_name}" is not a Klaviyo event: Klaviyo updates profiles from the ` +
      "profile every event carries";
  }
  const profile = klaviyoProfile(event.user_data);
  if (!profile.email && !profile.phone_number && !profile.external_id) {
    return missingIdentifier(event.user_data);
  }
  const properties = klaviyoProperties(event);
  const count = Object.keys(properties).length;
  if (count > MAX_PROPERTIES) {
    return `${count} properties: Klaviyo takes at most ${MAX_PROPERTIES} per event`;
  }
  const metric = KLAVIYO_METRIC_NAMES[event.event_name] ?? event.event_name;
  const uniqueId = klaviyoUniqueId(event);
  const late = now - event.event_time > settings.backfill_after_hours * HOUR_MS;
  const attributes = omitUndefined({
    properties,
    time: isoSeconds(event.event_time),
    value: event.value,
    value_currency: event.currency,
    unique_id: uniqueId,
    backfill: late ? true : undefined,
    metric: { data: { type: "metric", attributes: { name: metric } } },
  });
  return {
    body: {
      type: "event-bulk-create",
      attributes: {
        profile: { data: { type: "profile", attributes: profile } },
        events: { data: [{ type: "event", attributes }] },
      },
    },
    dedupKey: JSON.stringify([metric, uniqueId]),
    profileKey: JSON.stringify([profile.email, profile.phone_number, profile.external_id]),
  };
}

/** A request being filled: its entries, their dedup keys and its size. */
interface Batch {
  entries: Entry[];
  keys: Map<string, Entry>;
  bytes: number;
}

/**
 * Puts each entry in the first request that has room (1,000 events, 5 MB) and does not
 * carry its metric and unique_id yet; an exact copy (same profile too) is skipped, since
 * Klaviyo keeps one of them anyway, and a repeat for another profile waits for a later
 * request, since Klaviyo fails a whole bulk request that repeats a unique_id.
 */
function pack(entries: readonly Entry[], skipped: SkippedEvent[]): Batch[] {
  const batches: Batch[] = [];
  for (const entry of entries) {
    const copyOf = batches.map((b) => b.keys.get(entry.dedupKey)).find((e) =>
      e?.profileKey === entry.profileKey
    );
    if (copyOf) {
      skipped.push({
        index: entry.index,
        reason: `duplicate of event ${copyOf.eventId} in the same batch (same profile, ` +
          "metric and unique_id): Klaviyo keeps only one",
      });
      continue;
    }
    let batch = batches.find((b) =>
      b.entries.length < BATCH_LIMIT && b.bytes + entry.bytes <= MAX_PAYLOAD_BYTES &&
      !b.keys.has(entry.dedupKey)
    );
    if (!batch) {
      batch = { entries: [], keys: new Map(), bytes: 0 };
      batches.push(batch);
    }
    batch.entries.push(entry);
    batch.keys.set(entry.dedupKey, entry);
    batch.bytes += entry.bytes + 1;
  }
  return batches;
}

const klaviyoError = z.object({
  errors: z.array(z.object({
    code: z.string().optional(),
    title: z.string().optional(),
    detail: z.string().optional(),
    source: z.object({ pointer: z.string().optional(), parameter: z.string().optional() })
      .optional(),
  })),
});

/** A bulk entry's position from an error pointer (`/data/attributes/events-bulk-create/data/3/…`). */
const ENTRY_POINTER = /^\/data\/attributes\/events-bulk-create\/data\/(\d+)(?:\/|$)/;

type KlaviyoError = z.output<typeof klaviyoError>["errors"][number];

function errorText(status: number, error: KlaviyoError): string {
  const where = error.source?.pointer ?? error.source?.parameter;
  const text = [error.title, error.detail].filter(Boolean).join(" ");
  return `Klaviyo ${status} ${error.code ?? "error"}: ${text || "no detail"}` +
    (where ? ` (at ${where})` : "");
}

/**
 * How Klaviyo answered a bulk request. 2xx: accepted and queued, so delivered. 429, 408 and
 * 5xx: retried (Retry-After honoured). 401/403: the key is refused. Other errors reject the
 * whole request: events its error pointers name fail with Klaviyo's code and detail, and
 * their neighbours are retried (they were not processed); with no pointer, all fail.
 */
export function klaviyoClassification(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  const status = response.status;
  if (status >= 200 && status < 300) {
    return { outcome: { kind: "delivered", detail: `Klaviyo ${status}: bulk job accepted` } };
  }
  const parsed = klaviyoError.safeParse(parseJson(response.body));
  const errors = parsed.success ? parsed.data.errors : [];
  const reason = errors.length > 0
    ? errors.map((e) => errorText(status, e)).join("; ")
    : `Klaviyo ${status}: ${response.body.slice(0, 300)}`.trim();
  if (status === 408 || status === 429 || status >= 500) {
    return { outcome: retryOutcome(response, reason) };
  }
  if (status === 401 || status === 403) return { outcome: { kind: "auth_failed", reason } };
  const byPosition = new Map<number, string[]>();
  for (const error of errors) {
    const match = ENTRY_POINTER.exec(error.source?.pointer ?? "");
    const position = match ? Number(match[1]) : -1;
    if (position < 0 || position >= request.eventIndexes.length) continue;
    byPosition.set(position, [...(byPosition.get(position) ?? []), errorText(status, error)]);
  }
  if (byPosition.size === 0) return { outcome: { kind: "failed", reason } };
  const events: (Outcome | undefined)[] = request.eventIndexes.map((_, position) => {
    const own = byPosition.get(position);
    return own ? { kind: "failed", reason: own.join("; ") } : undefined;
  });
  return {
    outcome: {
      kind: "retry",
      reason: `not processed: Klaviyo refused the whole bulk request for other events in it ` +
        `(${reason.slice(0, 300)})`,
    },
    events,
  };
}

/**
 * Klaviyo Events API, bulk: events posted to `/api/event-bulk-create-jobs` (revision
 * KLAVIYO_REVISION), up to 1,000 and 5 MB per request, each with its profile in raw PII.
 * Events without an email, phone number or external id, and identify/alias/group calls, are
 * skipped; an event repeating another's metric and unique_id waits for a later request (or
 * is skipped as a copy). Klaviyo has no test mode.
 *
 * @see https://developers.klaviyo.com/en/reference/bulk_create_events
 */
export const klaviyo = {
  id: "klaviyo",
  label: "Klaviyo",
  docsUrl: "https://developers.klaviyo.com/en/reference/bulk_create_events",
  settings: klaviyoSettings,
  secretFields: ["private_api_key"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  // Klaviyo markets to the person (email, SMS, ad audiences): the ad_user_data signal gates it.
  consent: "ads",
  maxEventAgeMs: () => undefined,
  testMode: null,
  map(events: readonly SluiceEvent[], settings: KlaviyoSettings, options: MapOptions): MapResult {
    if (options.test) {
      return skipAll(events, NO_TEST_MODE);
    }
    const skipped: SkippedEvent[] = [];
    const entries: Entry[] = [];
    const encoder = new TextEncoder();
    events.forEach((event, index) => {
      const mapped = klaviyoEntry(event, settings, options.now);
      if (typeof mapped === "string") {
        skipped.push({ index, reason: mapped });
        return;
      }
      const bytes = encoder.encode(JSON.stringify(mapped.body)).length;
      entries.push({ index, eventId: event.event_id, ...mapped, bytes });
    });
    const url = `${baseUrl(settings.endpoint)}/api/event-bulk-create-jobs`;
    const headers = {
      authorization: `Klaviyo-API-Key ${settings.private_api_key}`,
      revision: KLAVIYO_REVISION,
      "content-type": "application/vnd.api+json",
      accept: "application/vnd.api+json",
    };
    const requests: OutboundRequest[] = pack(entries, skipped).map((batch) => ({
      method: "POST",
      url,
      headers,
      body: JSON.stringify({
        data: {
          type: "event-bulk-create-job",
          attributes: { "events-bulk-create": { data: batch.entries.map((e) => e.body) } },
        },
      }),
      eventIndexes: batch.entries.map((e) => e.index),
    }));
    skipped.sort((a, b) => a.index - b.index);
    return { requests, skipped };
  },
  classify(response: PlatformResponse, request: OutboundRequest): Classification {
    return klaviyoClassification(response, request);
  },
} satisfies Connector<typeof klaviyoSettings>;

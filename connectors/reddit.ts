import { z } from "zod";
import type { Item, SluiceEvent } from "../core/event.ts";
import { hashNormalized, normalizeCountry, normalizeState, phoneE164 } from "../core/pii/mod.ts";
import { redditAdId, type RedditAdIdKind, redditEmail, redditIp } from "./_reddit_pii.ts";
import { mapInBatches, skipAll } from "./_map_result.ts";
import { omitEmpty } from "./_records.ts";
import { baseUrl, parseJson, retryAfterMs, retryOutcome } from "./_response.ts";
import { endpointSetting, secretSetting } from "./_settings.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  OutboundRequest,
  Outcome,
  PlatformResponse,
} from "./types.ts";

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reddit destination settings. Reddit's Pixel id is the ad account id (`a2_…`/`t2_…`) for
 * most accounts, so `ad_account_id` is taken in place of `pixel_id` and sent to the same
 * v3 endpoint; `pixel_id` wins when both are given.
 */
export const redditSettings = z.object({
  pixel_id: z.string().trim().regex(ACCOUNT_ID, "must be the Reddit Pixel id (a2_… or t2_…)")
    .optional()
    .describe("Pixel id: Reddit Ads → Events Manager → your Pixel (a2_… or t2_…)"),
  ad_account_id: z.string().trim().regex(ACCOUNT_ID, "must be the Reddit ad account id (a2_…)")
    .optional()
    .describe(
      "Ad account id (a2_… or t2_…, Reddit Ads → Accounts); used as the Pixel id when pixel_id " +
        "is not set, since the two are the same for most accounts",
    ),
  access_token: secretSetting(
    "Conversion access token: Events Manager → Conversions API → Generate access token",
  ),
  test_id: z.string().trim().min(1).max(128).optional()
    .describe(
      "Events Manager → Event Testing test id; used only by test sends, which show in Event " +
        "Testing",
    ),
  endpoint: endpointSetting("https://ads-api.reddit.com"),
}).strict().refine((s) => s.pixel_id !== undefined || s.ad_account_id !== undefined, {
  message: "pixel_id (or ad_account_id) is required",
  path: ["pixel_id"],
});

/** Reddit destination settings after validation. */
export type RedditSettings = z.output<typeof redditSettings>;

/** Sluice canonical names → Reddit v3 tracking types; other names go as CUSTOM events. */
export const REDDIT_TRACKING_TYPES: Readonly<Record<string, string>> = {
  page_view: "PAGE_VISIT",
  view_content: "VIEW_CONTENT",
  view_category: "VIEW_CONTENT",
  search: "SEARCH",
  add_to_cart: "ADD_TO_CART",
  add_to_wishlist: "ADD_TO_WISHLIST",
  purchase: "PURCHASE",
  lead: "LEAD",
  complete_registration: "SIGN_UP",
};

/** Tracking types whose metadata may carry `value` and `currency` (Reddit "About event metadata"). */
const VALUE_TYPES = new Set([
  "PURCHASE",
  "ADD_TO_CART",
  "ADD_TO_WISHLIST",
  "LEAD",
  "SIGN_UP",
  "CUSTOM",
]);
/** Tracking types whose metadata may carry `item_count`. */
const ITEM_COUNT_TYPES = new Set(["PURCHASE", "ADD_TO_CART", "ADD_TO_WISHLIST", "CUSTOM"]);
/** Canonical events that record who someone is, not something they did. */
const NOT_CONVERSIONS = new Set(["identify", "group", "alias"]);

const CUSTOM_NAME_MAX = 64;
const MAX_AGE_MS = 7 * 86_400_000;
const BATCH_LIMIT = 1000;
/** Reddit throttles default user agents; it asks integrations for a descriptive one. */
const USER_AGENT = "server:sluice:1 (conversions gateway)";

/** Where a conversion happened, in Reddit's words. */
export type RedditActionSource = "WEBSITE" | "APP" | "PHYSICAL_STORE" | "OTHER";

const ACTION_SOURCES: Readonly<Record<string, RedditActionSource>> = {
  website: "WEBSITE",
  web: "WEBSITE",
  browser: "WEBSITE",
  app: "APP",
  mobile_app: "APP",
  physical_store: "PHYSICAL_STORE",
  store: "PHYSICAL_STORE",
  offline: "PHYSICAL_STORE",
  pos: "PHYSICAL_STORE",
  other: "OTHER",
};

/**
 * Reddit `action_source`: the event's own `action_source` when Reddit has it (or an alias:
 * `web` → WEBSITE, `offline`/`store`/`pos` → PHYSICAL_STORE); otherwise WEBSITE when the
 * event has a page URL or came from the web, APP for source `app`, and OTHER for the rest
 * (Reddit has no channel for email, phone or CRM events).
 */
export function redditActionSource(event: SluiceEvent): RedditActionSource {
  const given = event.action_source?.trim().toLowerCase();
  if (given) return ACTION_SOURCES[given] ?? "OTHER";
  if (
    event.page?.url || event.source === "web" || event.dialect === "browser" ||
    event.dialect === "collect"
  ) return "WEBSITE";
  return event.source === "app" ? "APP" : "OTHER";
}

/** Apple or Android, from the user agent; undefined when it names neither. */
function adIdKind(userAgent: string | undefined): RedditAdIdKind | undefined {
  if (!userAgent) return undefined;
  if (/android/i.test(userAgent)) return "aaid";
  return /iphone|ipad|ipod|\bios\b|cfnetwork|darwin/i.test(userAgent) ? "idfa" : undefined;
}

/**
 * Reddit `data_processing_options`: Limited Data Use when the person denied ad
 * personalisation (or ad user data), with the country and, for a known subdivision, the
 * ISO 3166-2 region (`US-CA`) Reddit applies it for.
 */
export function redditDataProcessing(event: SluiceEvent): Record<string, unknown> | undefined {
  const consent = event.consent;
  if (consent?.ad_personalization !== "denied" && consent?.ad_user_data !== "denied") {
    return undefined;
  }
  const user = event.user_data;
  const country = user.country === undefined ? undefined : normalizeCountry(user.country);
  const state = country && user.state ? normalizeState(user.state, country) : undefined;
  return omitEmpty({
    modes: ["LDU"],
    country: country?.toUpperCase(),
    region: country && state?.length === 2 ? `${country}-${state}`.toUpperCase() : undefined,
  });
}

/**
 * Reddit `user`: email, phone and external id normalised per Reddit and hashed; the IP
 * (hashed), user agent, `_rdt_uuid` and mobile ad id (hashed) only for online channels,
 * since Reddit asks physical-store events to carry no device identifiers.
 */
export function redditUser(
  event: SluiceEvent,
  source: RedditActionSource,
): Record<string, unknown> {
  const user = event.user_data;
  const device = source !== "PHYSICAL_STORE";
  const kind = device ? adIdKind(user.user_agent) : undefined;
  return omitEmpty({
    email: hashNormalized(user.email, redditEmail),
    phone_number: hashNormalized(user.phone, (v) => phoneE164(v, user.country)),
    external_id: hashNormalized(user.customer_id ?? user.external_ids?.[0], (v) => v.trim()),
    ip_address: device ? hashNormalized(user.client_ip, redditIp) : undefined,
    user_agent: device ? user.user_agent : undefined,
    uuid: device ? user.browser_ids?.rdt_uuid : undefined,
    ...(kind ? { [kind]: hashNormalized(user.madid, (v) => redditAdId(v, kind)) } : {}),
    data_processing_options: redditDataProcessing(event),
  });
}

const MATCH_KEYS = ["email", "phone_number", "external_id", "uuid", "idfa", "aaid"];

/** Whether Reddit can match the event to someone: a click id or one of its match keys. */
function hasMatchKey(event: Record<string, unknown>, user: Record<string, unknown>): boolean {
  return event.click_id !== undefined || MATCH_KEYS.some((key) => user[key] !== undefined) ||
    (user.ip_address !== undefined && user.user_agent !== undefined);
}

function redditProduct(item: Item): Record<string, unknown> {
  return omitEmpty({
    id: item.id,
    name: typeof item.name === "string" ? item.name : undefined,
    category: typeof item.category === "string" ? item.category : undefined,
    quantity: Number.isInteger(item.quantity) ? item.quantity : undefined,
    item_price: item.price,
  });
}

/**
 * Reddit `metadata`: `conversion_id` (the event id, equal to the Pixel's conversionId for
 * deduplication), order id, products, and, for the tracking types that take them, value
 * with currency (sent together only) and the item count.
 */
export function redditMetadata(event: SluiceEvent, trackingType: string): Record<string, unknown> {
  const items = event.items ?? [];
  const revenue = VALUE_TYPES.has(trackingType) && event.value !== undefined && event.currency;
  return omitEmpty({
    conversion_id: event.event_id,
    order_id: event.order_id,
    value: revenue ? event.value : undefined,
    currency: revenue ? event.currency : undefined,
    item_count: ITEM_COUNT_TYPES.has(trackingType) && items.length > 0
      ? items.reduce((sum, item) => sum + (item.quantity ?? 1), 0)
      : undefined,
    products: items.length > 0 ? items.map(redditProduct) : undefined,
  });
}

/** One Reddit v3 conversion event, or the reason it cannot be sent. */
function redditEvent(event: SluiceEvent): Record<string, unknown> | string {
  if (NOT_CONVERSIONS.has(event.event_name)) {
    return `"${event.event_name}" calls are not conversions; Reddit takes conversion events only`;
  }
  const trackingType = REDDIT_TRACKING_TYPES[event.event_name] ?? "CUSTOM";
  if (trackingType === "CUSTOM" && [...event.event_name].length > CUSTOM_NAME_MAX) {
    return `Reddit custom event names are at most ${CUSTOM_NAME_MAX} characters ` +
      `("${event.event_name.slice(0, 40)}…")`;
  }
  const source = redditActionSource(event);
  const out: Record<string, unknown> = omitEmpty({
    event_at: Math.floor(event.event_time),
    action_source: source,
    type: trackingType === "CUSTOM"
      ? { tracking_type: "CUSTOM", custom_event_name: event.event_name }
      : { tracking_type: trackingType },
    click_id: source === "PHYSICAL_STORE" ? undefined : event.user_data.click_ids?.rdt_cid,
    event_source_url: source === "WEBSITE" ? event.page?.url : undefined,
    referrer_url: event.page?.referrer,
    metadata: redditMetadata(event, trackingType),
  });
  const user = redditUser(event, source);
  if (!hasMatchKey(out, user)) {
    return "no Reddit match key (rdt_cid click id, _rdt_uuid, email, phone, external id, " +
      "mobile ad id, or IP address with user agent)";
  }
  out.user = user;
  return out;
}

const errorBody = z.object({
  message: z.string().optional(),
  error: z.union([
    z.object({
      code: z.union([z.number(), z.string()]).optional(),
      message: z.string().optional(),
      reason: z.string().optional(),
      explanation: z.string().optional(),
      fields: z.array(z.object({ field: z.string().optional(), message: z.string().optional() }))
        .optional(),
    }),
    z.number(),
    z.string(),
  ]).optional(),
});

const successBody = z.object({ data: z.object({ message: z.string().optional() }) });

/** A field path's event position (`data.events[2].event_at`, `events.2.type`), if it has one. */
function eventPosition(field: string | undefined): number | undefined {
  const match = field === undefined ? null : /events\W{1,2}(\d+)/.exec(field);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

interface RedditError {
  reason: string;
  /** Field errors by the position, in the request, of the event they name. */
  byEvent: Map<number, string[]>;
}

/** Reads Reddit's error answer: one reason for the request, and field errors per event. */
export function redditError(response: PlatformResponse): RedditError {
  const parsed = errorBody.safeParse(parseJson(response.body));
  const body = parsed.success ? parsed.data : {};
  const error = typeof body.error === "object" ? body.error : undefined;
  const fields = error?.fields ?? [];
  const code = error?.code ?? error?.reason;
  const message = error?.message ?? error?.explanation ?? body.message ??
    (typeof body.error === "string" ? body.error : undefined) ?? response.body.slice(0, 300);
  const details = fields.map((f) => [f.field, f.message].filter(Boolean).join(": "));
  const byEvent = new Map<number, string[]>();
  fields.forEach((field, i) => {
    const position = eventPosition(field.field);
    if (position !== undefined) {
      byEvent.set(position, [...byEvent.get(position) ?? [], details[i]!]);
    }
  });
  const shownCode = code !== undefined && String(code) !== String(response.status)
    ? ` ${code}`
    : "";
  const label = `Reddit HTTP ${response.status}${shownCode}`;
  const suffix = details.length ? ` (${details.join("; ")})` : "";
  return { reason: `${label}: ${message}${suffix}`.trim(), byEvent };
}

/**
 * Milliseconds until the exhausted policy of a `RateLimit` header resets (IETF draft
 * fields Reddit sends: `"policy";r=0;t=42`), the longest when several are; undefined when
 * none is exhausted or the header is absent.
 */
export function rateLimitResetMs(headers: Headers): number | undefined {
  let longest: number | undefined;
  for (const policy of (headers.get("ratelimit") ?? "").split(",")) {
    const remaining = /;\s*r=(\d+)/.exec(policy)?.[1];
    const reset = /;\s*t=(\d+)/.exec(policy)?.[1];
    if (remaining === "0" && reset !== undefined) {
      longest = Math.max(longest ?? 0, Number(reset) * 1000);
    }
  }
  return longest;
}

/**
 * Reddit's 400 refuses the whole request ("None were processed"): events its field errors
 * name fail with them, the others are sent again without them. Without a named event, the
 * request fails as a whole.
 */
function rejectedBatch(error: RedditError, request: OutboundRequest): Classification {
  const named = [...error.byEvent.keys()].filter((p) => p < request.eventIndexes.length);
  if (named.length === 0) return { outcome: { kind: "failed", reason: error.reason } };
  const events: (Outcome | undefined)[] = request.eventIndexes.map(() => undefined);
  for (const position of named) {
    events[position] = {
      kind: "failed",
      reason: `Reddit refused this event: ${error.byEvent.get(position)!.join("; ")}`,
    };
  }
  return {
    outcome: {
      kind: "retry",
      reason: `not processed: Reddit refused the batch for other events in it (${error.reason})`,
    },
    events,
  };
}

/** How Reddit answered a request. */
export function redditClassify(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  const status = response.status;
  if (status >= 200 && status < 300) {
    const ok = successBody.safeParse(parseJson(response.body));
    const detail = ok.success ? ok.data.data.message : undefined;
    return { outcome: detail ? { kind: "delivered", detail } : { kind: "delivered" } };
  }
  const error = redditError(response);
  if (status === 429) {
    const afterMs = retryAfterMs(response.headers) ?? rateLimitResetMs(response.headers);
    return {
      outcome: afterMs === undefined
        ? { kind: "retry", reason: error.reason }
        : { kind: "retry", reason: error.reason, afterMs },
    };
  }
  if (status >= 500 || status === 408) return { outcome: retryOutcome(response, error.reason) };
  if (status === 401 || status === 403) {
    return { outcome: { kind: "auth_failed", reason: error.reason } };
  }
  if (status === 400) return rejectedBatch(error, request);
  return { outcome: { kind: "failed", reason: error.reason } };
}

/**
 * Reddit Conversions API v3: events posted to `/api/v3/pixels/{pixel_id}/conversion_events`
 * as `{data: {events}}`, up to 1,000 per request, `event_at` in epoch milliseconds. Email,
 * phone, external id, IP and mobile ad ids are normalised per Reddit and hashed;
 * `conversion_id` is the event id (the Pixel's conversionId). Events Reddit would refuse
 * (older than 7 days, no match key, custom names over 64 characters, identify calls) are
 * skipped up front, since one invalid event fails the whole request. Test sends carry the
 * destination's `test_id`, one event per request.
 *
 * @see https://ads-api.reddit.com/docs/v3/operations/Post%20Conversion%20Events
 */
export const reddit = {
  id: "reddit",
  label: "Reddit Conversions API",
  docsUrl: "https://ads-api.reddit.com/docs/v3/operations/Post%20Conversion%20Events",
  settings: redditSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends with the destination's test_id (Events Manager → Event Testing), one event " +
    "per request; the events show in Event Testing. Without a test_id nothing is sent.",
  map(events: readonly SluiceEvent[], settings: RedditSettings, options: MapOptions): MapResult {
    if (options.test && !settings.test_id) {
      // Without a test id Reddit records test sends as real conversions: send nothing.
      const reason = "Reddit test mode needs test_id in the destination settings";
      return skipAll(events, reason);
    }
    const pixel = settings.pixel_id ?? settings.ad_account_id ?? "";
    const url = `${baseUrl(settings.endpoint)}/api/v3/pixels/${encodeURIComponent(pixel)}` +
      "/conversion_events";
    return mapInBatches(events, {
      // Event Testing shows one event per request only.
      size: options.test ? 1 : BATCH_LIMIT,
      mapEvent: redditEvent,
      request: (bodies) => ({
        method: "POST",
        url,
        headers: {
          authorization: `Bearer ${settings.access_token}`,
          "content-type": "application/json",
          "user-agent": USER_AGENT,
        },
        body: JSON.stringify({
          data: {
            events: bodies,
            ...(options.test ? { test_id: settings.test_id } : {}),
          },
        }),
      }),
    });
  },
  classify: redditClassify,
} satisfies Connector<typeof redditSettings>;

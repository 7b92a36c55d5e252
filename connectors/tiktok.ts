import { z } from "zod";
import type { SluiceEvent, UserData } from "../core/event.ts";
import { canonicalEventName } from "../core/event_names.ts";
import {
  hashNormalized,
  normalizeCity,
  normalizeCountry,
  normalizeEmail,
  normalizeState,
  phoneE164,
} from "../core/pii/mod.ts";
import { tiktokName, tiktokZip } from "./_tiktok_pii.ts";
import { mapInBatches, skipAll } from "./_map_result.ts";
import { omitEmptyAndEmptyArrays, uniqueDefined, untrimmedText } from "./_records.ts";
import { baseUrl, httpReason, parseJson, retryOutcome, statusOutcome } from "./_response.ts";
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

/** TikTok destination settings. */
export const tiktokSettings = z.object({
  pixel_code: z.string().trim().regex(/^[A-Za-z0-9]{6,64}$/, "must be the TikTok pixel code")
    .describe(
      "Pixel code (event_source_id): TikTok Ads Manager → Tools → Events → Web events → your " +
        "pixel (e.g. C4ABCDEFGHIJ1234567K); for event_source offline, the Offline Event Set ID",
    ),
  access_token: secretSetting(
    "Events API access token: Events Manager → your pixel → Settings → Events API → " +
      "Generate Access Token",
  ),
  test_event_code: z.string().trim().min(1).max(64).optional()
    .describe(
      "Events Manager → your pixel → Test Events → test event code (TEST12345); while set, " +
        "every event is sent as a test event, one per request",
    ),
  event_source: z.enum(["web", "offline"]).default("web")
    .describe(
      "What pixel_code names: web (a pixel: website events) or offline (an Offline Event " +
        "Set: store and phone sales, standard events only)",
    ),
  endpoint: endpointSetting("https://business-api.tiktok.com"),
}).strict();

/** TikTok destination settings after validation. */
export type TiktokSettings = z.output<typeof tiktokSettings>;

/** TikTok's event source: web events on a pixel, or offline events on an event set. */
export type TiktokEventSource = TiktokSettings["event_source"];

/** TikTok's standard web events (ads.tiktok.com/help/article/supported-standard-events). */
const WEB_EVENTS: ReadonlySet<string> = new Set([
  "AddPaymentInfo",
  "AddToCart",
  "AddToWishlist",
  "ApplicationApproval",
  "ClickButton",
  "CompletePayment",
  "CompleteRegistration",
  "Contact",
  "CustomizeProduct",
  "Download",
  "FindLocation",
  "InitiateCheckout",
  "Lead",
  "PlaceAnOrder",
  "Purchase",
  "Schedule",
  "Search",
  "StartTrial",
  "SubmitApplication",
  "SubmitForm",
  "Subscribe",
  "ViewContent",
]);

/** The events offline event sets take (ads.tiktok.com/help/article/supported-events-for-offline-event-sets). */
const OFFLINE_EVENTS: ReadonlySet<string> = new Set([
  "AddPaymentInfo",
  "AddToCart",
  "AddToWishlist",
  "CompletePayment",
  "CompleteRegistration",
  "Contact",
  "Download",
  "InitiateCheckout",
  "Search",
  "SubmitForm",
  "Subscribe",
  "ViewContent",
]);

/** Sluice canonical names → TikTok web events; other names are sent unchanged as custom events. */
export const TIKTOK_EVENT_NAMES: Readonly<Record<string, string>> = {
  page_view: "PageView",
  view_content: "ViewContent",
  search: "Search",
  add_to_cart: "AddToCart",
  add_to_wishlist: "AddToWishlist",
  initiate_checkout: "InitiateCheckout",
  add_payment_info: "AddPaymentInfo",
  purchase: "Purchase",
  lead: "Lead",
  complete_registration: "CompleteRegistration",
  subscribe: "Subscribe",
  start_trial: "StartTrial",
  contact: "Contact",
  schedule: "Schedule",
  submit_application: "SubmitApplication",
  customize_product: "CustomizeProduct",
  find_location: "FindLocation",
};

/** Sluice canonical names → TikTok offline events; other names have none and are skipped. */
export const TIKTOK_OFFLINE_EVENT_NAMES: Readonly<Record<string, string>> = {
  view_content: "ViewContent",
  search: "Search",
  add_to_cart: "AddToCart",
  add_to_wishlist: "AddToWishlist",
  initiate_checkout: "InitiateCheckout",
  add_payment_info: "AddPaymentInfo",
  purchase: "CompletePayment",
  lead: "SubmitForm",
  complete_registration: "CompleteRegistration",
  subscribe: "Subscribe",
  contact: "Contact",
};

const DAY_MS = 86_400_000;
/** TikTok publishes no window; its partner Amperity documents 28 days (CONNECTORS.md §5). */
const MAX_AGE_MS = 28 * DAY_MS;
const BATCH_LIMIT = 1000;

/** The name as sent, when a routing rule has not renamed the event since. */
function originalName(event: SluiceEvent): string | undefined {
  const original = event.original_event_name;
  return original !== undefined && canonicalEventName(original) === event.event_name
    ? original
    : undefined;
}

/**
 * The TikTok event name: a TikTok standard name the event already carries (as named, or
 * as sent before Sluice canonicalised it: `CompletePayment` stays `CompletePayment`, so it
 * deduplicates with a pixel sending that name), else the mapped standard event, else (web
 * only) the name unchanged as a custom event. Offline event sets take standard events only.
 */
export function tiktokEventName(
  event: SluiceEvent,
  source: TiktokEventSource,
): { name: string } | { error: string } {
  const standard = source === "offline" ? OFFLINE_EVENTS : WEB_EVENTS;
  const verbatim = [event.event_name, originalName(event)].find((name) =>
    name !== undefined && standard.has(name)
  );
  if (verbatim) return { name: verbatim };
  const mapped =
    (source === "offline" ? TIKTOK_OFFLINE_EVENT_NAMES : TIKTOK_EVENT_NAMES)[event.event_name];
  if (mapped) return { name: mapped };
  if (source === "web") return { name: event.event_name };
  return {
    error: `"${event.event_name.slice(0, 60)}" has no TikTok offline event (offline event ` +
      `sets take only ${[...OFFLINE_EVENTS].join(", ")})`,
  };
}

/**
 * TikTok `user`: email, phone (E.164 with `+`), external ids, names and zip hashed;
 * city, state and country normalised but raw; ttclid, ttp, IP and user agent raw. Offline
 * event sets match on email and phone only.
 */
export function tiktokUser(user: UserData, source: TiktokEventSource): Record<string, unknown> {
  const country = user.country;
  const keys = {
    email: uniqueDefined([hashNormalized(user.email, normalizeEmail)]),
    phone: uniqueDefined([hashNormalized(user.phone, (v) => phoneE164(v, country))]),
  };
  if (source === "offline") return omitEmptyAndEmptyArrays(keys);
  return omitEmptyAndEmptyArrays({
    ...keys,
    external_id: uniqueDefined(
      [user.customer_id, ...(user.external_ids ?? [])].map((id) =>
        hashNormalized(id, (v) => v.trim())
      ),
    ),
    first_name: hashNormalized(user.first_name, tiktokName),
    last_name: hashNormalized(user.last_name, tiktokName),
    zip_code: hashNormalized(user.zip, tiktokZip),
    city: user.city === undefined ? undefined : normalizeCity(user.city),
    state: user.state === undefined ? undefined : normalizeState(user.state, country),
    country: country === undefined ? undefined : normalizeCountry(country),
    ttclid: user.click_ids?.ttclid,
    ttp: user.browser_ids?.ttp,
    ip: user.client_ip,
    user_agent: user.user_agent,
  });
}

/** TikTok `properties`: value, currency, contents, order and search details. */
function tiktokProperties(event: SluiceEvent): Record<string, unknown> {
  const items = event.items ?? [];
  const props = event.properties;
  return omitEmptyAndEmptyArrays({
    value: event.value,
    currency: event.currency,
    ...(items.length > 0
      ? {
        content_type: "product",
        content_ids: items.map((item) => item.id),
        contents: items.map((item) =>
          omitEmptyAndEmptyArrays({
            content_id: item.id,
            content_name: untrimmedText(item.name),
            content_category: untrimmedText(item.category),
            brand: untrimmedText(item.brand),
            price: item.price,
            quantity: item.quantity,
          })
        ),
        num_items: items.reduce((sum, item) => sum + (item.quantity ?? 1), 0),
      }
      : {}),
    order_id: event.order_id,
    search_string: untrimmedText(props.search_string) ?? untrimmedText(props.query) ??
      untrimmedText(props.search_term),
    description: untrimmedText(props.description),
    shop_id: untrimmedText(props.shop_id),
  });
}

/** Whether the user limited how their data may be used (TikTok Limited Data Use). */
function limitedDataUse(event: SluiceEvent): boolean {
  return event.consent?.ad_user_data === "denied" ||
    event.consent?.ad_personalization === "denied";
}

/** One TikTok event, or the reason it cannot be sent. */
function tiktokEvent(
  event: SluiceEvent,
  source: TiktokEventSource,
): Record<string, unknown> | string {
  const name = tiktokEventName(event, source);
  if ("error" in name) return name.error;
  const user = tiktokUser(event.user_data, source);
  if (source === "offline" && !user.email && !user.phone) {
    return "TikTok offline events need an email or a phone to match a TikTok user";
  }
  const properties = tiktokProperties(event);
  const page = source === "web"
    ? omitEmptyAndEmptyArrays({ url: event.page?.url, referrer: event.page?.referrer })
    : {};
  return omitEmptyAndEmptyArrays({
    event: name.name,
    event_time: Math.floor(event.event_time / 1000),
    event_id: event.event_id,
    user: Object.keys(user).length > 0 ? user : undefined,
    properties: Object.keys(properties).length > 0 ? properties : undefined,
    page: Object.keys(page).length > 0 ? page : undefined,
    limited_data_use: source === "web" && limitedDataUse(event) ? true : undefined,
  });
}

const trackAnswer = z.object({
  code: z.number(),
  message: z.string().optional(),
  request_id: z.string().optional(),
});

/** TikTok codes that mean the token or its permissions were refused (40100 is throttling). */
function isAuthCode(code: number): boolean {
  return code === 40001 || (code > 40100 && code < 40200);
}

/** Retried: throttling (40100), 40700 (RudderStack: a server error) and TikTok's 5xxxx codes. */
function isRetryCode(code: number): boolean {
  return code === 40100 || code === 40700 || (code >= 50000 && code < 60000);
}

/** Positions of `data[]` rows a TikTok message names (`data.1.user.email: …`, `Batch.0.…`). */
export function namedRows(message: string, rows: number): number[] {
  const found = [...message.matchAll(/\b(?:data|batch)\s*(?:\.|\[)\s*(\d+)/gi)]
    .map((m) => Number(m[1]))
    .filter((i) => i < rows);
  return [...new Set(found)];
}

/** `rest` for every event of the request, except the named rows, which fail with `reason`. */
function rowsFail(
  request: OutboundRequest,
  named: { rows: number[]; reason: string; rest: Outcome },
): Classification {
  const failed = new Set(named.rows);
  return {
    outcome: named.rest,
    events: request.eventIndexes.map((_, i) =>
      failed.has(i) ? { kind: "failed", reason: named.reason } : undefined
    ),
  };
}

/**
 * How TikTok answered: errors come inside HTTP 200 bodies, so the body's `code` decides
 * (0 delivered; 20001 partial; 40100, 40700 and 5xxxx retried; 40001 and 401xx refused
 * credentials; anything else failed). A request TikTok refused because of rows it names
 * (40002 `data.N…`) fails those rows and sends the others again; a partial success fails
 * the rows it names and delivers the rest. HTTP 429 and 5xx are retried whatever the body.
 */
export function tiktokClassify(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  const parsed = trackAnswer.safeParse(parseJson(response.body));
  if (!parsed.success) {
    const reason = httpReason(response);
    const ok = response.status >= 200 && response.status < 300;
    // TikTok always answers with a code: a 2xx without one is no confirmed delivery.
    return {
      outcome: ok
        ? retryOutcome(response, `TikTok answered without a result code: ${reason}`)
        : statusOutcome(response, reason),
    };
  }
  const { code, message = "", request_id: requestId } = parsed.data;
  const trace = requestId ? ` (request_id ${requestId})` : "";
  const reason = `TikTok code ${code}: ${message.slice(0, 300)}${trace}`;
  const rows = namedRows(message, request.eventIndexes.length);
  if (isRetryCode(code) || response.status === 429 || response.status >= 500) {
    return { outcome: retryOutcome(response, reason) };
  }
  if (isAuthCode(code) || response.status === 401 || response.status === 403) {
    return { outcome: { kind: "auth_failed", reason } };
  }
  if (code === 0) {
    const detail = requestId ? `request_id=${requestId}` : undefined;
    return { outcome: detail ? { kind: "delivered", detail } : { kind: "delivered" } };
  }
  if (code === 20001) {
    return rowsFail(request, { rows, reason, rest: { kind: "delivered", detail: reason } });
  }
  if (rows.length > 0 && rows.length < request.eventIndexes.length) {
    const again = `TikTok refused the batch for another event (${reason}); sent again without it`;
    return rowsFail(request, { rows, reason, rest: { kind: "retry", reason: again } });
  }
  return { outcome: { kind: "failed", reason } };
}

/**
 * TikTok Events API 2.0: events posted to `/open_api/v1.3/event/track/` with the
 * `Access-Token` header, up to 1,000 per request, event_time in Unix seconds. Events older
 * than 28 days, and offline events TikTok has no event for or cannot match, are skipped up
 * front. While `test_event_code` is set, every event goes alone as a test event; test mode
 * without one sends nothing.
 *
 * @see https://business-api.tiktok.com/portal/docs?id=1771100865818625
 */
export const tiktok = {
  id: "tiktok",
  label: "TikTok Events API",
  docsUrl: "https://business-api.tiktok.com/portal/docs?id=1771100865818625",
  settings: tiktokSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends with the destination's test_event_code, one event per request; the events " +
    "show in Events Manager → Test Events. Without a test_event_code nothing is sent.",
  map(events: readonly SluiceEvent[], settings: TiktokSettings, options: MapOptions): MapResult {
    if (options.test && !settings.test_event_code) {
      // Without a test code TikTok records test sends as real conversions: send nothing.
      const reason = "TikTok test mode needs test_event_code in the destination settings";
      return skipAll(events, reason);
    }
    const url = `${baseUrl(settings.endpoint)}/open_api/v1.3/event/track/`;
    return mapInBatches(events, {
      // TikTok shows test events one by one: a test code sends each event alone (as RudderStack).
      size: settings.test_event_code ? 1 : BATCH_LIMIT,
      mapEvent: (event) => tiktokEvent(event, settings.event_source),
      request: (bodies) => ({
        method: "POST",
        url,
        headers: { "access-token": settings.access_token, "content-type": "application/json" },
        body: JSON.stringify({
          event_source: settings.event_source,
          event_source_id: settings.pixel_code,
          ...(settings.test_event_code ? { test_event_code: settings.test_event_code } : {}),
          data: bodies,
        }),
      }),
    });
  },
  classify: tiktokClassify,
} satisfies Connector<typeof tiktokSettings>;

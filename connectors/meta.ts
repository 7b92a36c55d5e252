import { z } from "zod";
import type { SluiceEvent, UserData } from "../core/event.ts";
import {
  hashNormalized,
  normalizeCity,
  normalizeCountry,
  normalizeDateOfBirth,
  normalizeEmail,
  normalizeGender,
  normalizeName,
  normalizeState,
  normalizeZip,
  phoneDigits,
} from "../core/pii/mod.ts";
import { mapInBatches, skipAll } from "./_map_result.ts";
import { omitEmptyAndEmptyArrays, uniqueDefined } from "./_records.ts";
import { baseUrl, every, parseJson, retryOutcome } from "./_response.ts";
import { endpointSetting, secretSetting } from "./_settings.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  Outcome,
  PlatformResponse,
} from "./types.ts";

/** Meta destination settings. */
export const metaSettings = z.object({
  pixel_id: z.string().trim().regex(/^\d{1,32}$/, "must be the numeric pixel (dataset) id")
    .describe("Pixel (dataset) id: Events Manager → Data sources → your pixel → Settings"),
  access_token: secretSetting(
    "Conversions API access token: pixel Settings → Generate access token",
  ),
  api_version: z.string().trim().regex(/^v\d+\.\d+$/, 'must look like "v25.0"').default("v25.0")
    .describe("Graph API version"),
  test_event_code: z.string().trim().min(1).max(64).optional()
    .describe("Events Manager → Test events code; while set, events go to Test events only"),
  endpoint: endpointSetting("https://graph.facebook.com"),
}).strict();

/** Meta destination settings after validation. */
export type MetaSettings = z.output<typeof metaSettings>;

/** Sluice canonical names → Meta standard events; other names are sent unchanged as custom events. */
export const META_EVENT_NAMES: Readonly<Record<string, string>> = {
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
  donate: "Donate",
};

const ACTION_SOURCES = new Set([
  "website",
  "app",
  "email",
  "phone_call",
  "chat",
  "physical_store",
  "system_generated",
  "business_messaging",
  "other",
]);

const ACTION_SOURCE_ALIASES: Readonly<Record<string, string>> = {
  web: "website",
  browser: "website",
  mobile_app: "app",
  phone: "phone_call",
  store: "physical_store",
  offline: "physical_store",
  pos: "physical_store",
  crm: "system_generated",
  system: "system_generated",
};

const DAY_MS = 86_400_000;
const MAX_AGE_MS = 7 * DAY_MS;
const MAX_AGE_STORE_MS = 62 * DAY_MS;

/** Key sets Meta rejects an event for when its user_data has nothing beyond one of them. */
const TOO_LITTLE = [
  ["ct", "country", "st", "zp", "ge", "client_user_agent"],
  ["db", "client_user_agent"],
  ["fn", "ge"],
  ["ln", "ge"],
].map((keys) => new Set(keys));

/**
 * Meta `action_source`: the event's own `action_source` when Meta knows it (or an alias:
 * `web` → website, `offline`/`store`/`pos` → physical_store, `crm` → system_generated);
 * otherwise `website` when the event has a page URL or came from the web (source `web`,
 * browser or collect dialect), `app` for source `app`, `system_generated` for source `crm`,
 * and `other` for everything else (server-to-server events with no page).
 */
export function metaActionSource(event: SluiceEvent): string {
  const given = event.action_source?.trim().toLowerCase();
  if (given) {
    if (ACTION_SOURCES.has(given)) return given;
    const alias = ACTION_SOURCE_ALIASES[given];
    if (alias) return alias;
  }
  if (
    event.page?.url || event.source === "web" || event.dialect === "browser" ||
    event.dialect === "collect"
  ) return "website";
  if (event.source === "app") return "app";
  if (event.source === "crm") return "system_generated";
  return "other";
}

/** Meta `external_id` before hashing: trimmed and lowercased, as Meta's SDK does. */
export function metaExternalId(value: string): string | undefined {
  const id = value.trim().toLowerCase();
  return id === "" ? undefined : id;
}

/** Meta `user_data`: PII normalised per Meta's rules and hashed; ids, IP and UA raw. */
export function metaUserData(user: UserData, eventTime: number): Record<string, unknown> {
  const country = user.country;
  const fbclid = user.click_ids?.fbclid;
  return omitEmptyAndEmptyArrays({
    em: uniqueDefined([hashNormalized(user.email, normalizeEmail)]),
    ph: uniqueDefined([hashNormalized(user.phone, (v) => phoneDigits(v, country))]),
    fn: hashNormalized(user.first_name, normalizeName),
    ln: hashNormalized(user.last_name, normalizeName),
    ge: hashNormalized(user.gender, normalizeGender),
    db: hashNormalized(user.date_of_birth, (v) => normalizeDateOfBirth(v, country)),
    ct: hashNormalized(user.city, normalizeCity),
    st: hashNormalized(user.state, (v) => normalizeState(v, country)),
    zp: hashNormalized(user.zip, (v) => normalizeZip(v, country)),
    country: hashNormalized(country, normalizeCountry),
    external_id: uniqueDefined(
      [user.customer_id, ...(user.external_ids ?? [])].map((id) =>
        hashNormalized(id, metaExternalId)
      ),
    ),
    client_ip_address: user.client_ip,
    client_user_agent: user.user_agent,
    fbc: user.browser_ids?.fbc ?? (fbclid ? `fb.1.${eventTime}.${fbclid}` : undefined),
    fbp: user.browser_ids?.fbp,
    madid: user.madid,
  });
}

function customData(event: SluiceEvent): Record<string, unknown> | undefined {
  const items = event.items ?? [];
  const data: Record<string, unknown> = {};
  if (event.value !== undefined) data.value = event.value;
  if (event.currency) data.currency = event.currency;
  if (items.length > 0) {
    data.content_ids = items.map((item) => item.id);
    data.content_type = "product";
    data.contents = items.map((item) => ({
      id: item.id,
      ...(item.quantity !== undefined ? { quantity: item.quantity } : {}),
      ...(item.price !== undefined ? { item_price: item.price } : {}),
    }));
    data.num_items = items.reduce((sum, item) => sum + (item.quantity ?? 1), 0);
  }
  if (event.order_id) data.order_id = event.order_id;
  const search = event.properties.search_string ?? event.properties.query;
  if (typeof search === "string" && search !== "") data.search_string = search;
  return Object.keys(data).length > 0 ? data : undefined;
}

/** One Meta server event, or the reason it cannot be sent. */
function metaEvent(event: SluiceEvent): Record<string, unknown> | string {
  const actionSource = metaActionSource(event);
  const userData = metaUserData(event.user_data, event.event_time);
  const keys = Object.keys(userData);
  if (TOO_LITTLE.some((allowed) => keys.every((key) => allowed.has(key)))) {
    return "not enough customer information for Meta (it rejects user_data with only " +
      `${keys.length ? keys.join(", ") : "no keys"})`;
  }
  if (actionSource === "website" && !event.page?.url) {
    return "website events need event_source_url (page.url)";
  }
  if (actionSource === "website" && !userData.client_user_agent) {
    return "website events need client_user_agent (user_data.user_agent)";
  }
  const out: Record<string, unknown> = {
    event_name: META_EVENT_NAMES[event.event_name] ?? event.event_name,
    event_time: Math.floor(event.event_time / 1000),
    event_id: event.event_id,
    action_source: actionSource,
  };
  if (event.page?.url) out.event_source_url = event.page.url;
  if (event.page?.referrer) out.referrer_url = event.page.referrer;
  if (event.consent?.ad_user_data === "denied") {
    // Limited Data Use with country and state 0: Meta geolocates the user from the IP.
    out.data_processing_options = ["LDU"];
    out.data_processing_options_country = 0;
    out.data_processing_options_state = 0;
  }
  out.user_data = userData;
  const custom = customData(event);
  if (custom) out.custom_data = custom;
  return out;
}

const RETRY_CODES = new Set([1, 2, 4, 17, 32, 341, 368, 613, 80003]);
const AUTH_CODES = new Set([10, 102, 190]);

const graphError = z.object({
  error: z.object({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    error_user_title: z.string().optional(),
    error_user_msg: z.string().optional(),
    fbtrace_id: z.string().optional(),
    is_transient: z.boolean().optional(),
  }),
});

const graphSuccess = z.object({
  events_received: z.number().optional(),
  fbtrace_id: z.string().optional(),
});

/** How Meta answered a request; one invalid event fails the whole request, so one outcome for all. */
export function metaOutcome(response: PlatformResponse): Outcome {
  const json = parseJson(response.body);
  if (response.status >= 200 && response.status < 300) {
    const ok = graphSuccess.safeParse(json);
    const parts = ok.success
      ? [
        ok.data.events_received !== undefined ? `events_received=${ok.data.events_received}` : "",
        ok.data.fbtrace_id ? `fbtrace_id=${ok.data.fbtrace_id}` : "",
      ].filter(Boolean)
      : [];
    return parts.length ? { kind: "delivered", detail: parts.join(" ") } : { kind: "delivered" };
  }
  const parsed = graphError.safeParse(json);
  const error = parsed.success ? parsed.data.error : undefined;
  const code = error?.code;
  const label = code === undefined
    ? `HTTP ${response.status}`
    : `Meta error ${code}${error?.error_subcode ? `/${error.error_subcode}` : ""}`;
  const message = error?.error_user_msg ?? error?.message ?? response.body.slice(0, 300);
  const trace = error?.fbtrace_id ? ` (fbtrace_id ${error.fbtrace_id})` : "";
  const reason = `${label}: ${message}${trace}`;
  if (code !== undefined && (AUTH_CODES.has(code) || (code >= 200 && code < 300))) {
    return { kind: "auth_failed", reason };
  }
  if (
    response.status === 429 || response.status >= 500 ||
    (code !== undefined && RETRY_CODES.has(code)) || error?.is_transient === true
  ) {
    return retryOutcome(response, reason);
  }
  if (response.status === 401 || response.status === 403) return { kind: "auth_failed", reason };
  return { kind: "failed", reason };
}

/**
 * Meta Conversions API: server events posted to `/{api_version}/{pixel_id}/events`, up to
 * 1,000 per request. Events Meta would reject (older than 7 days, 62 for physical_store;
 * too little customer information; website events without a URL or user agent) are
 * skipped up front, since one bad event fails the whole request. `test_event_code` is sent
 * whenever it is configured; test mode without one sends nothing.
 *
 * @see https://developers.facebook.com/docs/marketing-api/conversions-api/parameters
 */
export const meta = {
  id: "meta",
  label: "Meta Conversions API",
  docsUrl: "https://developers.facebook.com/docs/marketing-api/conversions-api",
  settings: metaSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: 1000,
  consent: "ads",
  maxEventAgeMs: (event) =>
    metaActionSource(event) === "physical_store" ? MAX_AGE_STORE_MS : MAX_AGE_MS,
  testMode: "Sends with the destination's test_event_code; the event shows in Events Manager → " +
    "Test events only. Without a test_event_code nothing is sent.",
  map(events: readonly SluiceEvent[], settings: MetaSettings, options: MapOptions): MapResult {
    if (options.test && !settings.test_event_code) {
      // Without a test code Meta records test sends as real conversions: send nothing.
      const reason = "Meta test mode needs test_event_code in the destination settings";
      return skipAll(events, reason);
    }
    const url = `${baseUrl(settings.endpoint)}/${encodeURIComponent(settings.api_version)}/` +
      `${encodeURIComponent(settings.pixel_id)}/events?access_token=` +
      encodeURIComponent(settings.access_token);
    return mapInBatches(events, {
      size: 1000,
      mapEvent: metaEvent,
      request: (bodies) => ({
        method: "POST",
        url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          data: bodies,
          ...(settings.test_event_code ? { test_event_code: settings.test_event_code } : {}),
        }),
      }),
    });
  },
  classify(response: PlatformResponse): Classification {
    return every(metaOutcome(response));
  },
} satisfies Connector<typeof metaSettings>;

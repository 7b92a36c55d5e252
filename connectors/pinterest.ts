import { z } from "zod";
import type { Item, SluiceEvent, UserData } from "../core/event.ts";
import {
  hashNormalized,
  normalizeCity,
  normalizeCountry,
  normalizeDateOfBirth,
  normalizeEmail,
  normalizeName,
  normalizeState,
  phoneDigits,
} from "../core/pii/mod.ts";
import { pinterestGender, pinterestMaid, pinterestZip } from "./_pinterest_pii.ts";
import { mapInBatches } from "./_map_result.ts";
import { omitEmptyAndEmptyArrays, trimmedText, uniqueDefined } from "./_records.ts";
import { baseUrl, parseJson, retryOutcome } from "./_response.ts";
import { endpointSetting, secretSetting } from "./_settings.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  Outcome,
  PlatformResponse,
} from "./types.ts";

/** Pinterest destination settings. */
export const pinterestSettings = z.object({
  ad_account_id: z.string().trim().regex(/^\d{1,20}$/, "must be the numeric ad account id")
    .describe(
      "Ad account id: Ads Manager → the account menu (top left), or the number after " +
        "/advertiser/ in the Ads Manager URL",
    ),
  access_token: secretSetting(
    "Conversion access token: Ads Manager → Conversions → Conversion access token → " +
      "Generate new token (or an OAuth token with the ads:write scope)",
  ),
  endpoint: endpointSetting("https://api.pinterest.com"),
}).strict();

/** Pinterest destination settings after validation. */
export type PinterestSettings = z.output<typeof pinterestSettings>;

/**
 * Sluice canonical names → Pinterest conversion events. Pinterest's own names pass through;
 * every other name is sent as `custom` (Pinterest takes no other custom names).
 */
export const PINTEREST_EVENT_NAMES: Readonly<Record<string, string>> = {
  page_view: "page_visit",
  view_content: "view_content",
  view_category: "view_category",
  search: "search",
  add_to_cart: "add_to_cart",
  add_to_wishlist: "add_to_wishlist",
  initiate_checkout: "initiate_checkout",
  add_payment_info: "add_payment_info",
  purchase: "checkout",
  lead: "lead",
  complete_registration: "signup",
  subscribe: "subscribe",
  start_trial: "start_trial",
  contact: "contact",
  schedule: "schedule",
  submit_application: "submit_application",
  customize_product: "customize_product",
  find_location: "find_location",
  app_install: "app_install",
};

/** Every event name Pinterest takes (its OpenAPI enum and its conversion events page). */
const PINTEREST_NAMES = new Set([
  ...Object.values(PINTEREST_EVENT_NAMES),
  "app_open",
  "checkout",
  "custom",
  "page_visit",
  "signup",
  "watch_video",
]);

/** Pinterest `action_source` values. */
export type PinterestActionSource = "web" | "app_ios" | "app_android" | "offline";

const ACTION_SOURCES: Readonly<Record<string, PinterestActionSource>> = {
  web: "web",
  website: "web",
  browser: "web",
  app_ios: "app_ios",
  ios: "app_ios",
  app_android: "app_android",
  android: "app_android",
  offline: "offline",
  physical_store: "offline",
  store: "offline",
  pos: "offline",
  phone_call: "offline",
  phone: "offline",
  email: "offline",
  chat: "offline",
  crm: "offline",
  system_generated: "offline",
};
const OFFLINE_SOURCES = new Set(["crm", "offline", "pos", "store"]);

const DAY_MS = 86_400_000;
const MAX_AGE_MS = 7 * DAY_MS;
const BATCH_LIMIT = 1000;

/** `app_ios` or `app_android` from a user agent, or undefined when it names neither. */
function appPlatform(userAgent: string | undefined): PinterestActionSource | undefined {
  if (!userAgent) return undefined;
  if (/android/i.test(userAgent)) return "app_android";
  if (/iphone|ipad|ipod|\bios\b|cfnetwork|darwin/i.test(userAgent)) return "app_ios";
  return undefined;
}

/**
 * Pinterest `action_source`: the event's own `action_source` when it names one (or an
 * alias: `website` → web; `ios`/`android`; `physical_store`, `crm`, `phone_call`, … →
 * offline). App events (`app`, `mobile_app`, or source `app`) become `app_ios` or
 * `app_android` from the user agent, undefined when it names neither OS. Events from
 * source `crm`, `offline`, `pos` or `store` are `offline`; all others `web`, since Pinterest
 * cannot deduplicate offline events against the tag.
 */
export function pinterestActionSource(event: SluiceEvent): PinterestActionSource | undefined {
  const given = event.action_source?.trim().toLowerCase();
  const known = given ? ACTION_SOURCES[given] : undefined;
  if (known) return known;
  if (given === "app" || given === "mobile_app" || (!given && event.source === "app")) {
    return appPlatform(event.user_data.user_agent);
  }
  return OFFLINE_SOURCES.has(event.source) ? "offline" : "web";
}

/** The Pinterest event name for a Sluice name: its standard event, its own name, or `custom`. */
export function pinterestEventName(name: string): string {
  const mapped = PINTEREST_EVENT_NAMES[name] ?? name;
  return PINTEREST_NAMES.has(mapped) ? mapped : "custom";
}

function hashedList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : [value];
}

/** Pinterest `user_data`: PII normalised per Pinterest's rules and hashed (as arrays); IP, UA and epik raw. */
export function pinterestUserData(user: UserData): Record<string, unknown> {
  const country = user.country;
  return omitEmptyAndEmptyArrays({
    em: hashedList(hashNormalized(user.email, normalizeEmail)),
    ph: hashedList(hashNormalized(user.phone, (v) => phoneDigits(v, country))),
    fn: hashedList(hashNormalized(user.first_name, normalizeName)),
    ln: hashedList(hashNormalized(user.last_name, normalizeName)),
    ge: hashedList(hashNormalized(user.gender, pinterestGender)),
    db: hashedList(hashNormalized(user.date_of_birth, (v) => normalizeDateOfBirth(v, country))),
    ct: hashedList(hashNormalized(user.city, normalizeCity)),
    st: hashedList(hashNormalized(user.state, (v) => normalizeState(v, country))),
    zp: hashedList(hashNormalized(user.zip, (v) => pinterestZip(v, country))),
    country: hashedList(hashNormalized(country, normalizeCountry)),
    external_id: uniqueDefined(
      [user.customer_id, ...(user.external_ids ?? [])].map((id) =>
        hashNormalized(id, (v) => v.trim())
      ),
    ),
    hashed_maids: hashedList(hashNormalized(user.madid, pinterestMaid)),
    client_ip_address: user.client_ip,
    client_user_agent: user.user_agent,
    click_id: user.click_ids?.epik ?? user.browser_ids?.epik,
  });
}

function decimal(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())
    ? value.trim()
    : undefined;
}

function quantityOf(item: Item): number | undefined {
  return item.quantity !== undefined && Number.isInteger(item.quantity) && item.quantity >= 0
    ? item.quantity
    : undefined;
}

function contentOf(item: Item): Record<string, unknown> {
  return omitEmptyAndEmptyArrays({
    id: item.id,
    item_price: decimal(item.price),
    quantity: quantityOf(item),
    item_name: trimmedText(item.name),
    item_category: trimmedText(item.category),
    item_brand: trimmedText(item.brand),
  });
}

/** Pinterest `custom_data`: value and prices as strings, contents, order id and search string. */
function customData(event: SluiceEvent): Record<string, unknown> | undefined {
  const items = event.items ?? [];
  const props = event.properties;
  const data = omitEmptyAndEmptyArrays({
    currency: event.currency,
    value: decimal(event.value),
    content_ids: items.map((item) => item.id),
    contents: items.map(contentOf),
    num_items: items.length > 0
      ? items.reduce((sum, item) => sum + (quantityOf(item) ?? 1), 0)
      : undefined,
    order_id: event.order_id,
    search_string: trimmedText(props.search_string) ?? trimmedText(props.query),
    content_name: trimmedText(props.content_name),
    content_category: trimmedText(props.content_category),
    content_brand: trimmedText(props.content_brand),
    predicted_ltv: decimal(props.predicted_ltv),
    // Limited Data Processing: Pinterest reads the user's state and country (st, country).
    opt_out_type: event.consent?.ad_user_data === "denied" ? "LDP" : undefined,
  });
  return Object.keys(data).length > 0 ? data : undefined;
}

/** One Pinterest conversion event, or the reason it cannot be sent. */
function pinterestEvent(event: SluiceEvent): Record<string, unknown> | string {
  const actionSource = pinterestActionSource(event);
  if (actionSource === undefined) {
    return "Pinterest app events need the OS: set action_source to app_ios or app_android, " +
      "or send the app's user agent";
  }
  const userData = pinterestUserData(event.user_data);
  const matchable = userData.em || userData.hashed_maids ||
    (userData.client_ip_address && userData.client_user_agent);
  if (!matchable) {
    return "Pinterest needs an email, a mobile ad id, or both the IP address and the " +
      "user agent (user_data.email, madid, client_ip, user_agent)";
  }
  return omitEmptyAndEmptyArrays({
    event_name: pinterestEventName(event.event_name),
    action_source: actionSource,
    event_time: Math.floor(event.event_time / 1000),
    event_id: event.event_id,
    event_source_url: event.page?.url,
    opt_out: event.consent?.ad_personalization === "denied" ? true : undefined,
    user_data: userData,
    custom_data: customData(event),
  });
}

const pinterestError = z.object({
  code: z.number().optional(),
  message: z.string().optional(),
  details: z.unknown().optional(),
});

const eventAnswers = z.object({
  num_events_received: z.number().optional(),
  num_events_processed: z.number().optional(),
  events: z.array(z.object({
    status: z.string().optional(),
    error_message: z.string().nullish(),
    warning_message: z.string().nullish(),
  })),
});

type EventAnswers = z.output<typeof eventAnswers>;

const RETRY_CODES = new Set([8, 4197]);
const AUTH_CODES = new Set([2, 29]);

/** The outcome of each event of an answer that lists them, in request order. */
function perEvent(answers: EventAnswers): (Outcome | undefined)[] {
  return answers.events.map((answer): Outcome | undefined => {
    if (answer.status === "processed") {
      return answer.warning_message
        ? { kind: "delivered", detail: `Pinterest warning: ${answer.warning_message}` }
        : { kind: "delivered" };
    }
    if (answer.status === "failed") {
      return {
        kind: "failed",
        reason: `Pinterest refused the event: ${answer.error_message || "no error_message"}`,
      };
    }
    return undefined;
  });
}

/** How Pinterest answered a request that was not a 200 (an `Error` or `DetailedError` body). */
function errorOutcome(response: PlatformResponse, error: z.output<typeof pinterestError>): Outcome {
  const status = response.status;
  const code = error.code;
  const label = code === undefined ? `HTTP ${status}` : `Pinterest error ${code} (HTTP ${status})`;
  const reason = `${label}: ${error.message ?? (response.body.slice(0, 300) || "no body")}`;
  if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
    return { kind: "auth_failed", reason };
  }
  if (
    status === 408 || status === 429 || status >= 500 ||
    (code !== undefined && RETRY_CODES.has(code))
  ) {
    return retryOutcome(response, reason);
  }
  return { kind: "failed", reason };
}

/**
 * How Pinterest answered, per event: a 200 lists each event's status (`processed` or
 * `failed` with its `error_message`) in request order; a 422 `DetailedError` carries the same
 * list in `details` (not every event processed). Other answers give one outcome for all:
 * 401 (code 2) and 403 (code 29) refused credentials, 429 (code 8) and 503 (code 4197) and
 * other 5xx retried, the rest failed.
 */
export function pinterestClassify(response: PlatformResponse): Classification {
  const json = parseJson(response.body);
  if (response.status >= 200 && response.status < 300) {
    const answers = eventAnswers.safeParse(json);
    if (!answers.success) return { outcome: { kind: "delivered" } };
    const { num_events_received: received, num_events_processed: processed } = answers.data;
    const detail = received === undefined
      ? undefined
      : `Pinterest processed ${processed ?? "?"} of ${received} events`;
    return {
      outcome: detail ? { kind: "delivered", detail } : { kind: "delivered" },
      events: perEvent(answers.data),
    };
  }
  const parsed = pinterestError.safeParse(json);
  const error: z.output<typeof pinterestError> = parsed.success ? parsed.data : {};
  const outcome = errorOutcome(response, error);
  const details = eventAnswers.safeParse(error.details);
  if (response.status === 422 && details.success) {
    return { outcome, events: perEvent(details.data) };
  }
  return { outcome };
}

/**
 * Pinterest Conversions API (v5): events posted to `/v5/ad_accounts/{ad_account_id}/events`,
 * up to 1,000 per request, answered per event. Events older than 7 days, app events whose
 * OS is unknown, and events with neither an email, a mobile ad id nor IP and user agent
 * together are skipped. Test mode adds `?test=true`.
 *
 * @see https://developers.pinterest.com/docs/api/v5/events-create/
 */
export const pinterest = {
  id: "pinterest",
  label: "Pinterest Conversions API",
  docsUrl: "https://developers.pinterest.com/docs/api/v5/events-create/",
  settings: pinterestSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends with ?test=true: Pinterest validates the events and answers as usual, " +
    "but records nothing.",
  map(events: readonly SluiceEvent[], settings: PinterestSettings, options: MapOptions): MapResult {
    const url = `${baseUrl(settings.endpoint)}/v5/ad_accounts/` +
      `${encodeURIComponent(settings.ad_account_id)}/events${options.test ? "?test=true" : ""}`;
    return mapInBatches(events, {
      size: BATCH_LIMIT,
      mapEvent: pinterestEvent,
      request: (bodies) => ({
        method: "POST",
        url,
        headers: {
          authorization: `Bearer ${settings.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ data: bodies }),
      }),
    });
  },
  classify(response: PlatformResponse): Classification {
    return pinterestClassify(response);
  },
} satisfies Connector<typeof pinterestSettings>;

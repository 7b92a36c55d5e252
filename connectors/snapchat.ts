import { z } from "zod";
import type { SluiceEvent, UserData } from "../core/event.ts";
import { canonicalEventName } from "../core/event_names.ts";
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
} from "../core/pii/mod.ts";
import { snapExternalId, snapPhone } from "./_snapchat_pii.ts";
import { mapInBatches } from "./_map_result.ts";
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Snapchat destination settings. */
export const snapchatSettings = z.object({
  pixel_id: z.string().trim().regex(UUID, "must be the Snap Pixel ID (a UUID)")
    .describe("Snap Pixel ID: Ads Manager → Events Manager → your pixel (a UUID)"),
  access_token: secretSetting(
    "Conversions API token: Ads Manager → Business Details → Conversions API Tokens → " +
      "Generate token",
  ),
  endpoint: endpointSetting(
    "https://tr.snapchat.com",
    "Base URL (tr-shadow.snapchat.com for Snap's staging host, a proxy or a test server)",
  ),
}).strict();

/** Snapchat destination settings after validation. */
export type SnapchatSettings = z.output<typeof snapchatSettings>;

/** Snap's v3 event names (v2 names are the same); Snap takes no other names. */
const SNAP_EVENTS: ReadonlySet<string> = new Set([
  "PAGE_VIEW",
  "VIEW_CONTENT",
  "LIST_VIEW",
  "SEARCH",
  "ADD_CART",
  "ADD_TO_WISHLIST",
  "START_CHECKOUT",
  "ADD_BILLING",
  "PURCHASE",
  "SIGN_UP",
  "LOGIN",
  "SUBSCRIBE",
  "START_TRIAL",
  "SAVE",
  "SHARE",
  "INVITE",
  "RESERVE",
  "RATE",
  "AD_CLICK",
  "AD_VIEW",
  "COMPLETE_TUTORIAL",
  "LEVEL_COMPLETE",
  "ACHIEVEMENT_UNLOCKED",
  "SPENT_CREDITS",
  "APP_OPEN",
  "APP_INSTALL",
  "CUSTOM_EVENT_1",
  "CUSTOM_EVENT_2",
  "CUSTOM_EVENT_3",
  "CUSTOM_EVENT_4",
  "CUSTOM_EVENT_5",
]);

/** Sluice canonical names → Snap events; names with no Snap event are skipped. */
export const SNAP_EVENT_NAMES: Readonly<Record<string, string>> = {
  page_view: "PAGE_VIEW",
  view_content: "VIEW_CONTENT",
  view_category: "LIST_VIEW",
  search: "SEARCH",
  add_to_cart: "ADD_CART",
  add_to_wishlist: "ADD_TO_WISHLIST",
  initiate_checkout: "START_CHECKOUT",
  add_payment_info: "ADD_BILLING",
  purchase: "PURCHASE",
  complete_registration: "SIGN_UP",
  login: "LOGIN",
  subscribe: "SUBSCRIBE",
  start_trial: "START_TRIAL",
};

const DAY_MS = 86_400_000;
/** Snap reports events up to 37 days old (Conversions API introduction). */
const MAX_AGE_MS = 37 * DAY_MS;
/** RudderStack's maximum; Snap's v3 spec sets none (CONNECTORS.md §6). */
const BATCH_LIMIT = 2000;

/** Snap's action sources for a pixel's events. */
export type SnapActionSource = "WEB" | "MOBILE_APP" | "OFFLINE";

const WEB_SOURCES = new Set(["website", "web", "browser"]);
const APP_SOURCES = new Set(["app", "mobile_app"]);

/**
 * Snap `action_source`: WEB for the event's own `website`/`web`, MOBILE_APP for `app`,
 * OFFLINE for any other given source (store, phone, CRM, …); without one, WEB when the
 * event has a page URL or came from the web, MOBILE_APP for source `app`, else OFFLINE.
 */
export function snapActionSource(event: SluiceEvent): SnapActionSource {
  const given = event.action_source?.trim().toLowerCase();
  if (given) {
    if (WEB_SOURCES.has(given)) return "WEB";
    return APP_SOURCES.has(given) ? "MOBILE_APP" : "OFFLINE";
  }
  if (
    event.page?.url || event.source === "web" || event.dialect === "browser" ||
    event.dialect === "collect"
  ) return "WEB";
  return event.source === "app" ? "MOBILE_APP" : "OFFLINE";
}

/**
 * The Snap event name: a Snap name the event already carries (as named by a routing rule,
 * e.g. `CUSTOM_EVENT_1`, or as sent before Sluice canonicalised it), else the mapped
 * event; Snap takes no custom names, so other events have none.
 */
export function snapEventName(event: SluiceEvent): { name: string } | { error: string } {
  const original = event.original_event_name;
  const unrenamed = original !== undefined && canonicalEventName(original) === event.event_name
    ? original
    : undefined;
  const verbatim = [event.event_name, unrenamed].find((name) =>
    name !== undefined && SNAP_EVENTS.has(name)
  );
  const mapped = verbatim ?? SNAP_EVENT_NAMES[event.event_name];
  if (mapped) return { name: mapped };
  return {
    error: `"${event.event_name.slice(0, 60)}" has no Snap event (Snap takes only its own ` +
      "names; rename it with a rule, e.g. to CUSTOM_EVENT_1)",
  };
}

/** Snap `user_data`: PII normalised per Snap's rules and hashed; IP, UA, click id, cookie and madid raw. */
export function snapUserData(user: UserData): Record<string, unknown> {
  const country = user.country;
  return omitEmptyAndEmptyArrays({
    em: uniqueDefined([hashNormalized(user.email, normalizeEmail)]),
    ph: uniqueDefined([hashNormalized(user.phone, (v) => snapPhone(v, country))]),
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
        hashNormalized(id, snapExternalId)
      ),
    ),
    client_ip_address: user.client_ip,
    client_user_agent: user.user_agent,
    sc_click_id: user.click_ids?.sccid,
    sc_cookie1: user.browser_ids?.scid,
    madid: user.madid?.trim().toLowerCase(),
  });
}

/** Snap `custom_data`; contents quantities and prices are strings, as Snap's v3 spec types them. */
function snapCustomData(event: SluiceEvent): Record<string, unknown> {
  const items = event.items ?? [];
  const props = event.properties;
  return omitEmptyAndEmptyArrays({
    value: event.value,
    currency: event.currency,
    ...(items.length > 0
      ? {
        content_ids: items.map((item) => item.id),
        contents: items.map((item) =>
          omitEmptyAndEmptyArrays({
            id: item.id,
            quantity: item.quantity === undefined ? undefined : String(item.quantity),
            item_price: item.price === undefined ? undefined : String(item.price),
            brand: untrimmedText(item.brand),
          })
        ),
        num_items: items.reduce((sum, item) => sum + (item.quantity ?? 1), 0),
      }
      : {}),
    order_id: event.order_id,
    search_string: untrimmedText(props.search_string) ?? untrimmedText(props.query) ??
      untrimmedText(props.search_term),
    sign_up_method: untrimmedText(props.sign_up_method) ?? untrimmedText(props.method),
  });
}

/** Whether Snap can match the event: email, phone, mobile ad id, or IP together with UA. */
function matchable(userData: Record<string, unknown>): boolean {
  return !!(userData.em || userData.ph || userData.madid ||
    (userData.client_ip_address && userData.client_user_agent));
}

/** One Snap event, or the reason Snap would refuse it. */
function snapEvent(event: SluiceEvent): Record<string, unknown> | string {
  const name = snapEventName(event);
  if ("error" in name) return name.error;
  const source = snapActionSource(event);
  if (source === "MOBILE_APP") {
    return "Snap app events need a Snap App ID and app data; this destination sends a pixel's " +
      "web and offline events";
  }
  if (source === "WEB" && !event.page?.url) {
    return "Snap web events need event_source_url (page.url)";
  }
  const userData = snapUserData(event.user_data);
  if (!matchable(userData)) {
    return "Snap needs an email, a phone, a mobile ad id, or both IP and user agent to match " +
      "the event";
  }
  if (name.name === "PURCHASE" && (event.value === undefined || !event.currency)) {
    return "Snap PURCHASE events need value and currency";
  }
  const consent = event.consent;
  const limited = consent?.ad_user_data === "denied" || consent?.ad_personalization === "denied";
  const customData = snapCustomData(event);
  return omitEmptyAndEmptyArrays({
    event_name: name.name,
    event_time: Math.floor(event.event_time / 1000),
    event_id: event.event_id,
    action_source: source,
    event_source_url: source === "WEB" ? event.page?.url : undefined,
    data_processing_options: limited ? ["LDU"] : undefined,
    user_data: userData,
    custom_data: Object.keys(customData).length > 0 ? customData : undefined,
  });
}

const errorDetails = z.object({
  codes: z.array(z.string()).optional(),
  error_msgs: z.array(z.string()).optional(),
});

/** Snap's `EventResponse` and `ValidateResponse` (business-sdk-v3 `api/openapi.yaml`). */
const snapAnswer = z.object({
  status: z.string().optional(),
  reason: z.string().optional(),
  event: z.number().int().nonnegative().optional(),
  errors: errorDetails.optional(),
  event_logs: z.array(z.object({
    event: z.number().int().nonnegative().optional(),
    status: z.string().optional(),
    errors: errorDetails.optional(),
    warnings: z.array(z.string()).optional(),
  })).optional(),
});

function errorText(errors: z.output<typeof errorDetails> | undefined): string {
  const codes = errors?.codes ?? [];
  const messages = errors?.error_msgs ?? [];
  return Array.from(
    { length: Math.max(codes.length, messages.length) },
    (_, i) => [codes[i], messages[i]].filter(Boolean).join(": "),
  ).join("; ");
}

/** `Snap <status> (HTTP <code>): <what Snap said>`, at most 300 characters of it. */
function snapReason(
  response: PlatformResponse,
  said: { status?: string; parts: (string | undefined)[] },
): string {
  const text = said.parts.filter((p): p is string => !!p).join("; ").slice(0, 300);
  return `Snap ${said.status ?? "answer"} (HTTP ${response.status})${text ? `: ${text}` : ""}`;
}

const REFUSED = new Set(["INVALID", "FAILURE", "FAILED", "ERROR"]);

type EventLogs = NonNullable<z.output<typeof snapAnswer>["event_logs"]>;

/** Per-event verdicts of the validation endpoint (`event_logs[].event` is the row); `rest` for rows without one. */
function validated(
  response: PlatformResponse,
  answer: { request: OutboundRequest; logs: EventLogs; rest: Outcome },
): Classification {
  const events: (Outcome | undefined)[] = answer.request.eventIndexes.map(() => undefined);
  for (const log of answer.logs) {
    if (log.event === undefined || log.event >= events.length) continue;
    const status = log.status?.toUpperCase();
    events[log.event] = status !== undefined && REFUSED.has(status)
      ? { kind: "failed", reason: snapReason(response, { status, parts: [errorText(log.errors)] }) }
      : {
        kind: "delivered",
        detail: ["validated by Snap (test mode, not recorded)", ...(log.warnings ?? [])]
          .join("; "),
      };
  }
  return { outcome: answer.rest, events };
}

/**
 * How Snap answered; the same schema comes on every status, so the body is read each time.
 * 429 and 5xx are retried, 401 and 403 are refused credentials. A refusal (`INVALID`) that
 * names the failing row (`event`) fails that row and sends the others again; without a row
 * it fails the request. The validation endpoint's `event_logs` give a verdict per event.
 */
export function snapClassify(response: PlatformResponse, request: OutboundRequest): Classification {
  const parsed = snapAnswer.safeParse(parseJson(response.body));
  if (!parsed.success) return { outcome: statusOutcome(response, httpReason(response)) };
  const answer = parsed.data;
  const status = answer.status?.toUpperCase();
  const reason = snapReason(response, {
    status,
    parts: [answer.reason, errorText(answer.errors)],
  });
  if (response.status === 429 || response.status >= 500) {
    return { outcome: retryOutcome(response, reason) };
  }
  if (response.status === 401 || response.status === 403) {
    return { outcome: { kind: "auth_failed", reason } };
  }
  const ok = response.status >= 200 && response.status < 300;
  const refused = !ok || (status !== undefined && REFUSED.has(status));
  const whole: Outcome = refused ? { kind: "failed", reason } : { kind: "delivered" };
  if (answer.event_logs?.length) {
    return validated(response, { request, logs: answer.event_logs, rest: whole });
  }
  const row = answer.event;
  if (refused && row !== undefined && row < request.eventIndexes.length) {
    if (request.eventIndexes.length === 1) return { outcome: whole };
    return {
      outcome: {
        kind: "retry",
        reason: `Snap refused the batch for another event (${reason}); sent again without it`,
      },
      events: request.eventIndexes.map((_, i) => i === row ? whole : undefined),
    };
  }
  if (!refused && answer.reason) return { outcome: { kind: "delivered", detail: reason } };
  return { outcome: whole };
}

/**
 * Snap Conversions API v3: a pixel's web and offline events posted to
 * `/v3/{pixel_id}/events?access_token=…`, up to 2,000 per request, event_time in Unix
 * seconds; test mode posts to `/v3/{pixel_id}/events/validate`. Events Snap would refuse
 * (older than 37 days, no Snap event name, app events, web events without a URL, nothing
 * to match on, purchases without value and currency) are skipped up front.
 *
 * @see https://developers.snap.com/api/marketing-api/Conversions-API
 */
export const snapchat = {
  id: "snapchat",
  label: "Snapchat Conversions API",
  docsUrl: "https://developers.snap.com/api/marketing-api/Conversions-API",
  settings: snapchatSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends to Snap's validation endpoint (/v3/{pixel_id}/events/validate): the events " +
    "are checked and shown in Events Manager's test events, not recorded, and Snap's verdict " +
    "for each event comes back in the answer.",
  map(events: readonly SluiceEvent[], settings: SnapchatSettings, options: MapOptions): MapResult {
    const path = options.test ? "events/validate" : "events";
    const url = `${baseUrl(settings.endpoint)}/v3/${encodeURIComponent(settings.pixel_id)}/` +
      `${path}?access_token=${encodeURIComponent(settings.access_token)}`;
    return mapInBatches(events, {
      size: BATCH_LIMIT,
      mapEvent: snapEvent,
      request: (bodies) => ({
        method: "POST",
        url,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: bodies }),
      }),
    });
  },
  classify: snapClassify,
} satisfies Connector<typeof snapchatSettings>;

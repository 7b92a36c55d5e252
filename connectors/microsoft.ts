import { z } from "zod";
import type { SluiceEvent, UserData } from "../core/event.ts";
import { hashNormalized, phoneE164 } from "../core/pii/mod.ts";
import { microsoftEmail } from "./_microsoft_pii.ts";
import { mapInBatches } from "./_map_result.ts";
import { omitEmpty, untrimmedText } from "./_records.ts";
import { baseUrl, parseJson, retryOutcome } from "./_response.ts";
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

/** Microsoft Advertising UET Conversions API destination settings. */
export const microsoftSettings = z.object({
  uet_tag_id: z.string().trim().regex(/^\d{1,20}$/, "must be the numeric UET tag id")
    .describe("UET tag id: Microsoft Advertising → Tools → UET tag (the number in the tag's ti)"),
  access_token: secretSetting(
    "Conversions API token of that UET tag: UET tag → Use Conversions API (a pilot; your " +
      "account manager enables it)",
  ),
  endpoint: endpointSetting("https://capi.uet.microsoft.com"),
}).strict();

/** Microsoft destination settings after validation. */
export type MicrosoftSettings = z.output<typeof microsoftSettings>;

/**
 * Sluice canonical names → the event actions (`eventName`) sent with custom events: the
 * gtag recommended names UET tags share; other names are sent unchanged. `page_view` is
 * a pageLoad event instead.
 */
export const MICROSOFT_EVENT_NAMES: Readonly<Record<string, string>> = {
  view_content: "view_item",
  view_category: "view_item_list",
  initiate_checkout: "begin_checkout",
  lead: "generate_lead",
  complete_registration: "sign_up",
};

/** Retail `pageType` per canonical event, for dynamic remarketing. */
const PAGE_TYPES: Readonly<Record<string, string>> = {
  purchase: "purchase",
  view_cart: "cart",
  view_content: "product",
  view_category: "category",
  search: "searchresults",
};

/** Canonical events that record who someone is, not something they did. */
const NOT_CONVERSIONS = new Set(["identify", "group", "alias"]);

/**
 * The longest conversion window a Microsoft Advertising goal can have (129,600 minutes) and
 * how far back offline conversions may go: older events can no longer be attributed.
 */
const MAX_AGE_MS = 90 * 86_400_000;
const BATCH_LIMIT = 1000;
const UET_COOKIE_PREFIX = "_uet";

/** An absolute http(s) URL as sent, or undefined: Microsoft refuses other URL values. */
function httpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The latest Microsoft click id: the landing page's `msclkid`, else the UET tag's
 * `_uetmsclkid` cookie, whose value is the click id behind a `_uet` prefix.
 */
export function microsoftClickId(user: UserData): string | undefined {
  const fromUrl = user.click_ids?.msclkid?.trim();
  if (fromUrl) return fromUrl;
  const cookie = user.browser_ids?.uet_msclkid?.trim();
  return cookie?.startsWith(UET_COOKIE_PREFIX) ? cookie.slice(UET_COOKIE_PREFIX.length) : cookie;
}

/** `idfa` or `gaid`, from the user agent; undefined when it names neither platform. */
function adIdField(userAgent: string | undefined): "idfa" | "gaid" | undefined {
  if (!userAgent) return undefined;
  if (/android/i.test(userAgent)) return "gaid";
  return /iphone|ipad|ipod|\bios\b|cfnetwork|darwin/i.test(userAgent) ? "idfa" : undefined;
}

/**
 * Microsoft `userData`: email and phone normalised per Microsoft and hashed, the external
 * id hashed (Microsoft asks never to send a real user id), the rest raw.
 */
export function microsoftUserData(user: UserData): Record<string, unknown> {
  const field = adIdField(user.user_agent);
  return omitEmpty({
    msclkid: microsoftClickId(user),
    anonymousId: user.anonymous_id,
    externalId: hashNormalized(user.customer_id ?? user.external_ids?.[0], (v) => v.trim()),
    em: hashNormalized(user.email, microsoftEmail),
    ph: hashNormalized(user.phone, (v) => phoneE164(v, user.country)),
    clientIpAddress: user.client_ip?.trim(),
    clientUserAgent: user.user_agent,
    ...(field && user.madid?.trim() ? { [field]: user.madid.trim() } : {}),
  });
}

function stringProperty(event: SluiceEvent, ...names: string[]): string | undefined {
  for (const name of names) {
    const text = untrimmedText(event.properties[name]);
    if (text !== undefined) return text;
  }
  return undefined;
}

/**
 * Microsoft `customData` of a custom event: revenue (`value` and `currency`), the order id
 * as `transactionId`, items and their ids, the retail page type (with `ecommTotalValue` on
 * cart and purchase pages), the search term, and the UET goal fields `event_category`,
 * `event_label` and `event_value` from the event's properties.
 */
export function microsoftCustomData(event: SluiceEvent): Record<string, unknown> | undefined {
  const items = event.items ?? [];
  const pageType = PAGE_TYPES[event.event_name];
  const eventValue = event.properties.event_value;
  const data = omitEmpty({
    eventCategory: stringProperty(event, "event_category"),
    eventLabel: stringProperty(event, "event_label"),
    eventValue: typeof eventValue === "number" && Number.isFinite(eventValue)
      ? eventValue
      : undefined,
    searchTerm: stringProperty(event, "search_term", "search_string", "query"),
    transactionId: event.order_id,
    value: event.value,
    currency: event.value !== undefined ? event.currency : undefined,
    items: items.length > 0
      ? items.map((item) =>
        omitEmpty({
          id: item.id,
          quantity: Number.isInteger(item.quantity) ? item.quantity : undefined,
          price: item.price,
          name: typeof item.name === "string" ? item.name : undefined,
        })
      )
      : undefined,
    itemIds: items.length > 0 ? items.map((item) => item.id) : undefined,
    pageType,
    ecommTotalValue: pageType === "purchase" || pageType === "cart" ? event.value : undefined,
  });
  return Object.keys(data).length > 0 ? data : undefined;
}

/** `G` or `D` from ad_user_data consent; absent (Microsoft then assumes granted) when unknown. */
function adStorageConsent(event: SluiceEvent): "G" | "D" | undefined {
  const state = event.consent?.ad_user_data;
  return state === undefined ? undefined : state === "granted" ? "G" : "D";
}

/**
 * One UET event, or the reason it cannot be sent. Page views are `pageLoad` events (which
 * need the page URL and carry no revenue); everything else is a `custom` event whose
 * `eventName` is the goal's event action. Test sends are marked consent denied.
 */
function microsoftEvent(event: SluiceEvent, test: boolean): Record<string, unknown> | string {
  if (NOT_CONVERSIONS.has(event.event_name)) {
    return `"${event.event_name}" calls are not conversions; Microsoft UET takes page loads ` +
      "and custom events only";
  }
  const pageLoad = event.event_name === "page_view";
  const url = httpUrl(event.page?.url);
  if (pageLoad && url === undefined) {
    return "Microsoft pageLoad events need eventSourceUrl (an absolute page.url)";
  }
  const userData = microsoftUserData(event.user_data);
  if (Object.keys(userData).length === 0) {
    return "no Microsoft identifier (msclkid, anonymous id, external id, email, phone, IP, " +
      "user agent or mobile ad id)";
  }
  return omitEmpty({
    eventType: pageLoad ? "pageLoad" : "custom",
    eventId: event.event_id,
    eventName: pageLoad ? undefined : MICROSOFT_EVENT_NAMES[event.event_name] ?? event.event_name,
    eventTime: Math.floor(event.event_time / 1000),
    eventSourceUrl: url,
    referrerUrl: httpUrl(event.page?.referrer),
    pageTitle: event.page?.title,
    adStorageConsent: test ? "D" : adStorageConsent(event),
    userData,
    customData: pageLoad ? undefined : microsoftCustomData(event),
  });
}

const detailSchema = z.object({
  index: z.number().int().optional(),
  propertyName: z.string().optional(),
  errorMessage: z.string().optional(),
  errorCode: z.string().optional(),
  isWarning: z.boolean().optional(),
});

const answerSchema = z.object({
  eventsReceived: z.number().optional(),
  traceId: z.string().optional(),
  error: z.object({
    code: z.string().optional(),
    message: z.string().optional(),
    details: z.array(detailSchema).optional(),
  }).optional(),
});

type Detail = z.infer<typeof detailSchema>;

/** The position, in the request's `data`, a validation detail names (`index`, else `data[3].…`). */
function detailPosition(detail: Detail): number | undefined {
  if (detail.index !== undefined) return detail.index;
  const match = /^data\[(\d+)\]/.exec(detail.propertyName ?? "");
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function detailText(detail: Detail): string {
  return [detail.propertyName, detail.errorMessage ?? detail.errorCode].filter(Boolean).join(": ");
}

/** Validation details grouped by event position: errors, and warnings apart. */
function detailsByPosition(details: readonly Detail[], count: number) {
  const errors = new Map<number, string[]>();
  const warnings = new Map<number, string[]>();
  for (const detail of details) {
    const position = detailPosition(detail);
    if (position === undefined || position < 0 || position >= count) continue;
    const into = detail.isWarning ? warnings : errors;
    into.set(position, [...into.get(position) ?? [], detailText(detail)]);
  }
  return { errors, warnings };
}

/**
 * How Microsoft answered a request, per event. With `continueOnValidationError` Microsoft
 * skips invalid events and takes the rest: on a 2xx the events its `details[].index` name
 * failed (warnings are delivered with the warning as detail), the others are delivered. A
 * 400 took nothing: named events fail, the others are sent again. 401/403 refuse the
 * token; 429 and 5xx are retried.
 */
export function microsoftClassify(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  const status = response.status;
  const parsed = answerSchema.safeParse(parseJson(response.body));
  const answer = parsed.success ? parsed.data : {};
  const error = answer.error;
  const label = `Microsoft ${error?.code ?? `HTTP ${status}`}`;
  const reason = `${label}: ${error?.message ?? (response.body.slice(0, 300) || "no body")}`;
  const count = request.eventIndexes.length;
  const { errors, warnings } = detailsByPosition(error?.details ?? [], count);
  const failedAt = (position: number): Outcome => ({
    kind: "failed",
    reason: `${label}: ${errors.get(position)!.join("; ")}`,
  });

  if (status >= 200 && status < 300) {
    const received = answer.eventsReceived;
    const summary = [
      received !== undefined ? `eventsReceived=${received}` : "",
      answer.traceId ? `traceId=${answer.traceId}` : "",
    ].filter(Boolean).join(" ");
    const delivered: Outcome = summary
      ? { kind: "delivered", detail: summary }
      : { kind: "delivered" };
    if (errors.size === 0 && warnings.size === 0) return { outcome: delivered };
    const events = request.eventIndexes.map((_, position): Outcome | undefined =>
      errors.has(position)
        ? failedAt(position)
        : warnings.has(position)
        ? { kind: "delivered", detail: `warning: ${warnings.get(position)!.join("; ")}` }
        : undefined
    );
    return { outcome: delivered, events };
  }
  if (status === 429 || status === 408 || status >= 500) {
    return { outcome: retryOutcome(response, reason) };
  }
  if (status === 401 || status === 403) return { outcome: { kind: "auth_failed", reason } };
  if (status === 400 && errors.size > 0) {
    const events = request.eventIndexes.map((_, position) =>
      errors.has(position) ? failedAt(position) : undefined
    );
    const outcome: Outcome = errors.size < count
      ? { kind: "retry", reason: `not processed: Microsoft refused the batch (${reason})` }
      : { kind: "failed", reason };
    return { outcome, events };
  }
  return { outcome: { kind: "failed", reason } };
}

/**
 * Microsoft Advertising UET Conversions API: events posted to `/v1/{uet_tag_id}/events` as
 * `{data, continueOnValidationError: true}` (so one invalid event never sinks the batch),
 * up to 1,000 per request, `eventTime` in Unix seconds, `eventId` the event id (the UET
 * tag's `event_id` for deduplication). Email and phone are normalised per Microsoft and
 * hashed, the external id hashed, msclkid and anonymous id sent raw. Microsoft has no test
 * mode: test sends are real sends marked `adStorageConsent: "D"`, which Microsoft uses for
 * no advertising purpose.
 *
 * @see https://learn.microsoft.com/en-us/advertising/guides/uet-conversion-api-integration
 */
export const microsoft = {
  id: "microsoft",
  label: "Microsoft Advertising UET Conversions API",
  docsUrl: "https://learn.microsoft.com/en-us/advertising/guides/uet-conversion-api-integration",
  settings: microsoftSettings,
  secretFields: ["access_token"],
  urlFields: ["endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Microsoft has no test mode or sandbox: the test event is sent live, marked " +
    'adStorageConsent "D" and without msclkid, so Microsoft validates it but uses it for no ' +
    "advertising purpose.",
  map(events: readonly SluiceEvent[], settings: MicrosoftSettings, options: MapOptions): MapResult {
    const url = `${baseUrl(settings.endpoint)}/v1/${
      encodeURIComponent(settings.uet_tag_id)
    }/events`;
    return mapInBatches(events, {
      size: BATCH_LIMIT,
      mapEvent: (event) => microsoftEvent(event, options.test === true),
      request: (bodies) => ({
        method: "POST",
        url,
        headers: {
          authorization: `Bearer ${settings.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ data: bodies, continueOnValidationError: true }),
      }),
    });
  },
  classify: microsoftClassify,
} satisfies Connector<typeof microsoftSettings>;

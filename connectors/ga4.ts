import { z } from "zod";
import { sha256Hex } from "../core/digest.ts";
import type { SluiceEvent, UserData } from "../core/event.ts";
import { hashNormalized, normalizeCountry, phoneE164 } from "../core/pii/mod.ts";
import {
  googleCity,
  googleEmail,
  googleName,
  googlePostalCode,
  googleRegion,
} from "./_google_pii.ts";
import { omitEmpty } from "./_records.ts";
import { baseUrl, chunk, every, httpReason, parseJson, retryOutcome } from "./_response.ts";
import { endpointSetting, secretSetting } from "./_settings.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  OutboundRequest,
  PlatformResponse,
  SkippedEvent,
} from "./types.ts";

/** GA4 Measurement Protocol destination settings. */
export const ga4Settings = z.object({
  measurement_id: z.string().trim().regex(/^G-[A-Z0-9]{4,20}$/i, 'must look like "G-XXXXXXX"')
    .describe("Measurement id: Admin → Data streams → your web stream"),
  api_secret: secretSetting(
    "Measurement Protocol API secret: the same stream → Measurement Protocol API secrets",
  ),
  endpoint: endpointSetting(
    "https://www.google-analytics.com",
    "Base URL (region1.google-analytics.com for EU collection, a proxy or a test server)",
  ),
}).strict();

/** GA4 destination settings after validation. */
export type Ga4Settings = z.output<typeof ga4Settings>;

/** Sluice canonical names → GA4 recommended events; other valid names pass unchanged. */
export const GA4_EVENT_NAMES: Readonly<Record<string, string>> = {
  page_view: "page_view",
  view_content: "view_item",
  view_category: "view_item_list",
  search: "search",
  add_to_cart: "add_to_cart",
  remove_from_cart: "remove_from_cart",
  add_to_wishlist: "add_to_wishlist",
  view_cart: "view_cart",
  initiate_checkout: "begin_checkout",
  add_payment_info: "add_payment_info",
  add_shipping_info: "add_shipping_info",
  purchase: "purchase",
  refund: "refund",
  lead: "generate_lead",
  complete_registration: "sign_up",
  login: "login",
};

const RESERVED_NAMES = new Set([
  "ad_activeview",
  "ad_click",
  "ad_exposure",
  "ad_impression",
  "ad_query",
  "ad_reward",
  "adunit_exposure",
  "app_background",
  "app_clear_data",
  "app_exception",
  "app_install",
  "app_remove",
  "app_store_refund",
  "app_store_subscription_cancel",
  "app_store_subscription_convert",
  "app_store_subscription_renew",
  "app_update",
  "app_upgrade",
  "dynamic_link_app_open",
  "dynamic_link_app_update",
  "dynamic_link_first_open",
  "error",
  "first_open",
  "first_visit",
  "in_app_purchase",
  "notification_dismiss",
  "notification_foreground",
  "notification_open",
  "notification_receive",
  "os_update",
  "session_start",
  "session_start_with_rollout",
  "screen_view",
  "user_engagement",
]);
const RESERVED_PREFIXES = ["_", "firebase_", "ga_", "google_", "gtag."];
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
const MAX_AGE_MS = 72 * 3_600_000;
const DEFAULT_ENGAGEMENT_MS = 100;
const MAX_PARAMS = 25;

/**
 * The GA4 event name for a Sluice event, or an error when GA4 refuses it: reserved names
 * and prefixes, and names that are not 1–40 letters, digits and underscores starting
 * with a letter.
 */
export function ga4EventName(name: string): { name: string } | { error: string } {
  const mapped = GA4_EVENT_NAMES[name] ?? name;
  const lower = mapped.toLowerCase();
  if (
    RESERVED_NAMES.has(lower) || lower.startsWith("ad_") || lower.startsWith("app_") ||
    RESERVED_PREFIXES.some((p) => lower.startsWith(p))
  ) {
    return { error: `"${mapped}" is a reserved GA4 event name` };
  }
  if (!NAME.test(mapped)) {
    return {
      error: `"${mapped.slice(0, 60)}" is not a valid GA4 event name ` +
        "(letters, digits and underscores, starting with a letter, at most 40)",
    };
  }
  return { name: mapped };
}

/**
 * GA4 `client_id`: from the `_ga` cookie (`GA1.1.<rand>.<ts>` → `<rand>.<ts>`), else the
 * anonymous id, else one derived from the customer id (two 32-bit numbers from its SHA-256,
 * in the `<rand>.<ts>` shape), else undefined.
 */
export function ga4ClientId(user: UserData): string | undefined {
  const ga = user.browser_ids?.ga?.trim();
  if (ga) return /^GA\d+\.\d+\.(\d+\.\d+)$/i.exec(ga)?.[1] ?? ga;
  if (user.anonymous_id) return user.anonymous_id;
  if (user.customer_id) {
    const hash = sha256Hex(`sluice:${user.customer_id}`);
    return `${parseInt(hash.slice(0, 8), 16)}.${parseInt(hash.slice(8, 16), 16)}`;
  }
  return undefined;
}

/**
 * GA4 `session_id` from `browser_ids.ga_session_id`: the bare number, or the number inside
 * a `_ga_<ID>` cookie value (`GS1.1.<sid>.…` or `GS2.1.s<sid>$o…`).
 */
export function ga4SessionId(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return text;
  return /^GS1\.\d+\.(\d+)\./.exec(text)?.[1] ?? /^GS2\.\d+\.s(\d+)/.exec(text)?.[1];
}

/** GA4 `user_data`: hashed email/phone/names per Google's rules, unhashed city/region/zip/country. */
export function ga4UserData(user: UserData): Record<string, unknown> | undefined {
  const country = user.country;
  const email = hashNormalized(user.email, googleEmail);
  const phone = hashNormalized(user.phone, (v) => phoneE164(v, country));
  const address = omitEmpty({
    sha256_first_name: hashNormalized(user.first_name, googleName),
    sha256_last_name: hashNormalized(user.last_name, googleName),
    city: user.city === undefined ? undefined : googleCity(user.city),
    region: user.state === undefined ? undefined : googleRegion(user.state, country),
    postal_code: user.zip === undefined ? undefined : googlePostalCode(user.zip),
    country: country === undefined ? undefined : normalizeCountry(country)?.toUpperCase(),
  });
  const out = omitEmpty({
    sha256_email_address: email ? [email] : undefined,
    sha256_phone_number: phone ? [phone] : undefined,
    address: Object.keys(address).length > 0 ? [address] : undefined,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

function scalarParams(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (!NAME.test(key) || RESERVED_PREFIXES.some((p) => key.toLowerCase().startsWith(p))) {
      continue;
    }
    if (typeof value === "string") out[key] = value.slice(0, 100);
    else if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
    else if (typeof value === "boolean") out[key] = String(value);
  }
  return out;
}

function ga4Params(event: SluiceEvent): Record<string, unknown> {
  const props = event.properties;
  const sessionId = ga4SessionId(event.user_data.browser_ids?.ga_session_id);
  const engagement = props.engagement_time_msec;
  const search = props.search_term ?? props.search_string ?? props.query;
  const params: Record<string, unknown> = {
    ...scalarParams(props),
    ...omitEmpty({
      session_id: sessionId,
      engagement_time_msec: typeof engagement === "number" ? engagement : DEFAULT_ENGAGEMENT_MS,
      page_location: event.page?.url,
      page_referrer: event.page?.referrer,
      page_title: event.page?.title,
      currency: event.currency,
      value: event.value,
      transaction_id: event.order_id,
      search_term: typeof search === "string" ? search : undefined,
    }),
  };
  delete params.query;
  delete params.search_string;
  if (event.items?.length) {
    params.items = event.items.map((item) =>
      omitEmpty({
        item_id: item.id,
        item_name: typeof item.name === "string" ? item.name : undefined,
        price: item.price,
        quantity: item.quantity,
      })
    );
  }
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMS) {
    const keep = new Set(["items", ...keys.slice(-MAX_PARAMS)]);
    for (const key of keys) if (!keep.has(key)) delete params[key];
  }
  return params;
}

interface Envelope {
  client_id: string;
  user_id?: string;
  ip_override?: string;
  consent?: Record<string, string>;
  user_data?: Record<string, unknown>;
}

function envelopeOf(event: SluiceEvent, clientId: string): Envelope {
  const user = event.user_data;
  const consent = event.consent;
  const consentOut = omitEmpty({
    ad_user_data: consent?.ad_user_data?.toUpperCase(),
    ad_personalization: consent?.ad_personalization?.toUpperCase(),
  });
  // User-provided data is only sent when ad_user_data consent is not denied.
  const userData = consent?.ad_user_data === "denied" ? undefined : ga4UserData(user);
  return omitEmpty({
    client_id: clientId,
    user_id: user.customer_id,
    ip_override: user.client_ip,
    consent: Object.keys(consentOut).length > 0 ? consentOut as Record<string, string> : undefined,
    user_data: userData,
  }) as Envelope;
}

const debugAnswer = z.object({
  validationMessages: z.array(z.object({
    fieldPath: z.string().optional(),
    description: z.string().optional(),
    validationCode: z.string().optional(),
  })).optional(),
});

/**
 * GA4 Measurement Protocol: events posted to `/mp/collect` (test mode: the
 * `/debug/mp/collect` validation server), at most 25 per request and one client (and
 * user, consent, user_data) per request. Events older than 72 hours, without any client
 * id, or with a reserved name are skipped.
 *
 * @see https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference
 */
export const ga4 = {
  id: "ga4",
  label: "Google Analytics 4 (Measurement Protocol)",
  docsUrl: "https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference",
  settings: ga4Settings,
  secretFields: ["api_secret"],
  urlFields: ["endpoint"],
  batchLimit: 25,
  consent: "analytics",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends to GA4's validation server (/debug/mp/collect): nothing is recorded, and " +
    "GA4's validation messages come back in the answer.",
  map(events: readonly SluiceEvent[], settings: Ga4Settings, options: MapOptions): MapResult {
    const skipped: SkippedEvent[] = [];
    const groups = new Map<
      string,
      { envelope: Envelope; events: { index: number; body: Record<string, unknown> }[] }
    >();
    events.forEach((event, index) => {
      const name = ga4EventName(event.event_name);
      if ("error" in name) {
        skipped.push({ index, reason: name.error });
        return;
      }
      const clientId = ga4ClientId(event.user_data);
      if (clientId === undefined) {
        skipped.push({
          index,
          reason: "no GA4 client id (no _ga cookie, anonymous_id or customer_id)",
        });
        return;
      }
      const envelope = envelopeOf(event, clientId);
      const key = JSON.stringify(envelope);
      const group = groups.get(key) ?? { envelope, events: [] };
      groups.set(key, group);
      group.events.push({
        index,
        body: {
          name: name.name,
          params: ga4Params(event),
          timestamp_micros: event.event_time * 1000,
        },
      });
    });
    const path = options.test ? "/debug/mp/collect" : "/mp/collect";
    const url = `${baseUrl(settings.endpoint)}${path}?measurement_id=` +
      `${encodeURIComponent(settings.measurement_id)}&api_secret=` +
      encodeURIComponent(settings.api_secret);
    const requests: OutboundRequest[] = [];
    for (const group of groups.values()) {
      for (const batch of chunk(group.events, 25)) {
        requests.push({
          method: "POST",
          url,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...group.envelope, events: batch.map((e) => e.body) }),
          eventIndexes: batch.map((e) => e.index),
        });
      }
    }
    return { requests, skipped };
  },
  classify(response: PlatformResponse): Classification {
    if (response.status >= 200 && response.status < 300) {
      // Only the debug server answers with a body; its validation messages mean "rejected".
      const parsed = debugAnswer.safeParse(parseJson(response.body));
      const messages = parsed.success ? parsed.data.validationMessages ?? [] : [];
      if (messages.length === 0) return every({ kind: "delivered" });
      return every({
        kind: "failed",
        reason: "GA4 validation: " +
          messages.map((m) =>
            [m.validationCode, m.fieldPath, m.description].filter(Boolean).join(" ")
          )
            .join("; "),
      });
    }
    const reason = httpReason(response);
    if (response.status === 429 || response.status >= 500) {
      return every(retryOutcome(response, reason));
    }
    return every({ kind: "failed", reason });
  },
} satisfies Connector<typeof ga4Settings>;

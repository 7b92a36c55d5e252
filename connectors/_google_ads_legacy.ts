/**
 * Folder-private: the Google Ads connector's legacy path (`api: "google_ads"`), the Google
 * Ads API's `customers/{id}:uploadClickConversions`, for developer tokens Google still
 * allowlists for offline conversion import.
 *
 * @see https://developers.google.com/google-ads/api/reference/rpc/latest/ConversionUploadService/UploadClickConversions
 * @module
 */
import { z } from "zod";
import type { SluiceEvent } from "../core/event.ts";
import { hashNormalized, phoneE164 } from "../core/pii/mod.ts";
import { conversionActionId } from "./_google_ads_data_manager.ts";
import {
  canonicalOutcome,
  type GoogleAdsError,
  readErrorBody,
  readStatus,
  statusReason,
} from "./_google_ads_errors.ts";
import { clickIdsOf, eventSourceOf, googleConsent, notAConversion } from "./_google_ads_event.ts";
import { legacyHeaders } from "./_google_ads_headers.ts";
import { googleEmail } from "./_google_pii.ts";
import { mapInBatches } from "./_map_result.ts";
import { baseUrl, parseJson } from "./_response.ts";
import type { GoogleAdsSettings } from "./google_ads.ts";
import type {
  Classification,
  MapOptions,
  MapResult,
  OutboundRequest,
  Outcome,
  PlatformResponse,
} from "./types.ts";

/** The Google Ads API's default base URL. */
export const GOOGLE_ADS_ENDPOINT = "https://googleads.googleapis.com";

/** Most conversions one request carries (`TOO_MANY_CONVERSIONS_IN_REQUEST` above it). */
export const GOOGLE_ADS_BATCH = 2000;

const LABEL = "Google Ads";
const SIX_HOURS_MS = 6 * 3_600_000;

/** `conversionDateTime`: `yyyy-mm-dd hh:mm:ss+00:00` in UTC (Google requires the offset). */
export function conversionDateTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace("T", " ")}+00:00`;
}

/** `userIdentifiers`: hashed email (Google Ads rule) and E.164 phone, the only two click uploads take. */
function userIdentifiersOf(event: SluiceEvent): Record<string, string>[] {
  const user = event.user_data;
  const email = hashNormalized(user.email, googleEmail);
  const phone = hashNormalized(user.phone, (v) => phoneE164(v, user.country));
  return [
    ...(email ? [{ userIdentifierSource: "FIRST_PARTY", hashedEmail: email }] : []),
    ...(phone ? [{ userIdentifierSource: "FIRST_PARTY", hashedPhoneNumber: phone }] : []),
  ];
}

function cartDataOf(
  event: SluiceEvent,
  settings: GoogleAdsSettings,
): Record<string, unknown> | undefined {
  const items = event.items ?? [];
  if (!settings.merchant_id || items.length === 0) return undefined;
  return {
    merchantId: settings.merchant_id,
    ...(settings.merchant_feed_label ? { feedCountryCode: settings.merchant_feed_label } : {}),
    ...(settings.merchant_feed_language_code
      ? { feedLanguageCode: settings.merchant_feed_language_code }
      : {}),
    items: items.map((item) => ({
      productId: item.id,
      ...(item.quantity !== undefined ? { quantity: Math.max(1, Math.round(item.quantity)) } : {}),
      ...(item.price !== undefined ? { unitPrice: item.price } : {}),
    })),
  };
}

/** One `ClickConversion`, or the reason the event cannot be sent. */
export function clickConversion(
  event: SluiceEvent,
  settings: GoogleAdsSettings,
): Record<string, unknown> | string {
  const skip = notAConversion(event, settings.event_names);
  if (skip) return skip;
  const clickIds = clickIdsOf(event);
  const identifiers = userIdentifiersOf(event);
  if (Object.keys(clickIds).length === 0 && identifiers.length === 0) {
    return "no gclid, gbraid, wbraid, email or phone: Google Ads can't attribute the conversion";
  }
  const source = eventSourceOf(event);
  const consent = googleConsent(event, (state) => state.toUpperCase());
  const cartData = cartDataOf(event, settings);
  return {
    ...clickIds,
    conversionAction: `customers/${settings.customer_id}/conversionActions/` +
      conversionActionId(settings.conversion_action),
    conversionDateTime: conversionDateTime(event.event_time),
    ...(event.value !== undefined ? { conversionValue: event.value } : {}),
    ...(event.currency ? { currencyCode: event.currency } : {}),
    orderId: event.order_id ?? event.event_id,
    ...(identifiers.length > 0 ? { userIdentifiers: identifiers } : {}),
    ...(consent ? { consent } : {}),
    ...(source === "WEB" || source === "APP" ? { conversionEnvironment: source } : {}),
    ...(cartData ? { cartData } : {}),
  };
}

/** `uploadClickConversions` requests of up to 2,000 conversions, `partialFailure` always on. */
export function legacyRequests(
  events: readonly SluiceEvent[],
  settings: GoogleAdsSettings,
  options: MapOptions,
): MapResult {
  const base = baseUrl(settings.endpoint ?? GOOGLE_ADS_ENDPOINT);
  const url = `${base}/${encodeURIComponent(settings.api_version)}/customers/` +
    `${encodeURIComponent(settings.customer_id)}:uploadClickConversions`;
  const headers = legacyHeaders(settings, options);
  return mapInBatches(events, {
    size: GOOGLE_ADS_BATCH,
    mapEvent: (event) => clickConversion(event, settings),
    request: (bodies) => ({
      method: "POST",
      url,
      headers,
      body: JSON.stringify({
        conversions: bodies,
        partialFailure: true,
        ...(options.test ? { validateOnly: true } : {}),
      }),
    }),
  });
}

/** Codes that mean the conversion is already recorded, or needs no recording: delivered. */
const ALREADY_DONE: Readonly<Record<string, string>> = {
  CLICK_CONVERSION_ALREADY_EXISTS: "already recorded (same click and time)",
  ORDER_ID_ALREADY_IN_USE: "already recorded (same order id)",
  DUPLICATE_ORDER_ID: "duplicate of another conversion in the same request",
  DUPLICATE_CLICK_CONVERSION_IN_REQUEST: "duplicate of another conversion in the same request",
  CLICK_NOT_FOUND: "no Google Ads click matches it (it did not come from an ad; Google says to " +
    "ignore this)",
};

/** Codes Google asks to retry after six hours (the click or the conversion action is too new). */
const TOO_RECENT = new Set(["TOO_RECENT_EVENT", "TOO_RECENT_CONVERSION_ACTION", "TOO_RECENT_CALL"]);

/** Codes of passing trouble, retried with backoff. */
const TRANSIENT = new Set([
  "INTERNAL_ERROR",
  "TRANSIENT_ERROR",
  "RESOURCE_EXHAUSTED",
  "RESOURCE_TEMPORARILY_EXHAUSTED",
  "CONCURRENT_MODIFICATION",
  "DEADLINE_EXCEEDED",
]);

const NOT_ALLOWLISTED = "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE";

/** What one Google Ads API error makes of the conversion (or request) it is about. */
export function adsErrorOutcome(error: GoogleAdsError, requestId?: string): Outcome {
  const code = error.code ?? "UNKNOWN";
  const trace = requestId ? ` (requestId ${requestId})` : "";
  const reason = `${LABEL} ${code}: ${error.message ?? "no message"}${trace}`;
  const done = ALREADY_DONE[code];
  if (done) return { kind: "delivered", detail: `${code}: ${done}` };
  if (code === NOT_ALLOWLISTED) {
    return {
      kind: "failed",
      reason: `${reason}. Google no longer takes new offline conversion imports through the ` +
        'Google Ads API: set this destination\'s api to "data_manager"',
    };
  }
  if (TOO_RECENT.has(code)) return { kind: "retry", reason, afterMs: SIX_HOURS_MS };
  if (TRANSIENT.has(code)) return { kind: "retry", reason };
  if (error.family === "authenticationError" || error.family === "authorizationError") {
    return { kind: "auth_failed", reason };
  }
  return { kind: "failed", reason };
}

const uploadAnswer = z.object({
  partialFailureError: z.unknown().optional(),
  jobId: z.union([z.string(), z.number()]).optional(),
});

/**
 * How `uploadClickConversions` answered. HTTP 200 is not success: `partialFailureError`
 * names each failed row by its `conversions[index]` (errors naming no row settle the whole
 * request); duplicates and `CLICK_NOT_FOUND` count as delivered. Error answers fail, retry
 * or refuse credentials as a whole; a token not allowlisted is told to use Data Manager.
 */
export function classifyUpload(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  if (response.status >= 200 && response.status < 300) {
    const parsed = uploadAnswer.safeParse(parseJson(response.body));
    const answer = parsed.success ? parsed.data : {};
    const failure = readStatus(answer.partialFailureError);
    const rowless = failure.adsErrors.find((error) => error.index === undefined);
    if (rowless && failure.adsErrors.every((error) => error.index === undefined)) {
      return { outcome: adsErrorOutcome(rowless, failure.requestId) };
    }
    const events: (Outcome | undefined)[] = [];
    for (const error of failure.adsErrors) {
      if (error.index === undefined || error.index >= request.eventIndexes.length) continue;
      events[error.index] ??= adsErrorOutcome(error, failure.requestId);
    }
    const detail = answer.jobId !== undefined ? `jobId=${answer.jobId}` : undefined;
    return {
      outcome: detail ? { kind: "delivered", detail } : { kind: "delivered" },
      ...(events.length > 0 ? { events } : {}),
    };
  }
  const status = readErrorBody(response.body);
  const first = status.adsErrors[0];
  if (first?.code === NOT_ALLOWLISTED) return { outcome: adsErrorOutcome(first, status.requestId) };
  const reason = first
    ? `${statusReason(LABEL, response, status)} [${first.code}]`
    : statusReason(LABEL, response, status);
  const canonical = canonicalOutcome(response, status, reason);
  if (canonical) return { outcome: canonical };
  return { outcome: first ? adsErrorOutcome(first, status.requestId) : { kind: "failed", reason } };
}

/**
 * Folder-private: the Google Ads connector's Data Manager path, `POST /v1/events:ingest`
 * (the default since Google closed `uploadClickConversions` to new adopters) and its
 * asynchronous `GET /v1/requestStatus:retrieve`.
 *
 * @see https://developers.google.com/data-manager/api/reference/rest/v1/events/ingest
 * @module
 */
import { z } from "zod";
import type { SluiceEvent } from "../core/event.ts";
import { hashNormalized, normalizeCountry, phoneE164 } from "../core/pii/mod.ts";
import {
  clickIdsOf,
  eventSourceOf,
  googleConsent,
  notAConversion,
  shareableIp,
} from "./_google_ads_event.ts";
import {
  canonicalOutcome,
  type FieldViolation,
  readErrorBody,
  statusReason,
} from "./_google_ads_errors.ts";
import { bearer, jsonHeaders } from "./_google_ads_headers.ts";
import { dataManagerEmail, dataManagerFamilyName, dataManagerGivenName } from "./_google_pii.ts";
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

/** Data Manager's default base URL. */
export const DATA_MANAGER_ENDPOINT = "https://datamanager.googleapis.com";

/** Most events one `events:ingest` request carries (limits page; the events field comment). */
export const DATA_MANAGER_BATCH = 2000;

const LABEL = "Google Data Manager";

/** The numeric conversion action id from `123` or `customers/…/conversionActions/123`. */
export function conversionActionId(value: string): string {
  return /(\d+)$/.exec(value.trim())?.[1] ?? value.trim();
}

/** The request's one destination: the customer's conversion action, through the manager when set. */
export function dataManagerDestination(settings: GoogleAdsSettings): Record<string, unknown> {
  return {
    operatingAccount: { accountType: "GOOGLE_ADS", accountId: settings.customer_id },
    ...(settings.login_customer_id
      ? { loginAccount: { accountType: "GOOGLE_ADS", accountId: settings.login_customer_id } }
      : {}),
    productDestinationId: conversionActionId(settings.conversion_action),
  };
}

/**
 * `address` identifier: hashed given and family name with the unhashed ISO region code and
 * postal code; Data Manager requires all four, so it is left out when one is missing.
 */
function addressOf(event: SluiceEvent): Record<string, string> | undefined {
  const user = event.user_data;
  const givenName = hashNormalized(user.first_name, dataManagerGivenName);
  const familyName = hashNormalized(user.last_name, dataManagerFamilyName);
  const regionCode = user.country === undefined
    ? undefined
    : normalizeCountry(user.country)?.toUpperCase();
  const postalCode = user.zip?.trim();
  if (!givenName || !familyName || !regionCode || !postalCode) return undefined;
  return { givenName, familyName, regionCode, postalCode };
}

/** `userData.userIdentifiers`: hashed email, hashed E.164 phone and the address, each when present. */
export function dataManagerIdentifiers(event: SluiceEvent): Record<string, unknown>[] {
  const user = event.user_data;
  const email = hashNormalized(user.email, dataManagerEmail);
  const phone = hashNormalized(user.phone, (v) => phoneE164(v, user.country));
  const address = addressOf(event);
  return [
    ...(email ? [{ emailAddress: email }] : []),
    ...(phone ? [{ phoneNumber: phone }] : []),
    ...(address ? [{ address }] : []),
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
    ...(settings.merchant_feed_label ? { merchantFeedLabel: settings.merchant_feed_label } : {}),
    ...(settings.merchant_feed_language_code
      ? { merchantFeedLanguageCode: settings.merchant_feed_language_code }
      : {}),
    items: items.map((item) => ({
      merchantProductId: item.id,
      ...(item.quantity !== undefined ? { quantity: Math.max(1, Math.round(item.quantity)) } : {}),
      ...(item.price !== undefined ? { unitPrice: item.price } : {}),
    })),
  };
}

function deviceInfoOf(event: SluiceEvent): Record<string, string> | undefined {
  const userAgent = event.user_data.user_agent?.trim();
  const ipAddress = shareableIp(event);
  if (!userAgent && !ipAddress) return undefined;
  return { ...(userAgent ? { userAgent } : {}), ...(ipAddress ? { ipAddress } : {}) };
}

/** One Data Manager `Event`, or the reason the event cannot be sent. */
export function dataManagerEvent(
  event: SluiceEvent,
  settings: GoogleAdsSettings,
): Record<string, unknown> | string {
  const skip = notAConversion(event, settings.event_names);
  if (skip) return skip;
  const adIdentifiers = clickIdsOf(event);
  const identifiers = dataManagerIdentifiers(event);
  if (Object.keys(adIdentifiers).length === 0 && identifiers.length === 0) {
    return "no gclid, gbraid, wbraid, email, phone or name with address: Google Data Manager " +
      "refuses events without identifiers (NO_IDENTIFIERS_PROVIDED)";
  }
  const consent = googleConsent(event, (state) => `CONSENT_${state.toUpperCase()}`);
  const cartData = cartDataOf(event, settings);
  const deviceInfo = deviceInfoOf(event);
  return {
    transactionId: event.order_id ?? event.event_id,
    eventTimestamp: new Date(event.event_time).toISOString(),
    eventSource: eventSourceOf(event),
    ...(Object.keys(adIdentifiers).length > 0 ? { adIdentifiers } : {}),
    ...(identifiers.length > 0 ? { userData: { userIdentifiers: identifiers } } : {}),
    ...(consent ? { consent } : {}),
    ...(event.value !== undefined ? { conversionValue: event.value } : {}),
    ...(event.currency ? { currency: event.currency } : {}),
    ...(cartData ? { cartData } : {}),
    ...(deviceInfo ? { eventDeviceInfo: deviceInfo } : {}),
  };
}

/** Data Manager's base URL for these settings (the endpoint override only applies to this API). */
export function dataManagerBase(settings: GoogleAdsSettings): string {
  return baseUrl(
    settings.api === "data_manager" && settings.endpoint
      ? settings.endpoint
      : DATA_MANAGER_ENDPOINT,
  );
}

/** `events:ingest` requests of up to 2,000 events; test mode sets `validateOnly`. */
export function dataManagerRequests(
  events: readonly SluiceEvent[],
  settings: GoogleAdsSettings,
  options: MapOptions,
): MapResult {
  const destination = dataManagerDestination(settings);
  return mapInBatches(events, {
    size: DATA_MANAGER_BATCH,
    mapEvent: (event) => dataManagerEvent(event, settings),
    request: (bodies) => ({
      method: "POST",
      url: `${dataManagerBase(settings)}/v1/events:ingest`,
      headers: jsonHeaders(options),
      // validateOnly goes last: classify() recognises a validation answer by the body's end.
      body: JSON.stringify({
        destinations: [destination],
        events: bodies,
        encoding: "HEX",
        ...(options.test ? { validateOnly: true } : {}),
      }),
    }),
  });
}

function isValidation(request: OutboundRequest): boolean {
  return request.body?.endsWith(',"validateOnly":true}') ?? false;
}

const ingestAnswer = z.object({ requestId: z.string().min(1) });

/**
 * The `fieldViolations` positions of events (`events[3].user_data…`, also seen as
 * `events.events[3]…`), each with what was wrong with it; paths that name no event are
 * left out.
 */
export function violationsByEvent(violations: readonly FieldViolation[]): Map<number, string[]> {
  const byEvent = new Map<number, string[]>();
  for (const violation of violations) {
    const index = /(?:^|\.)events\[(\d+)\]/.exec(violation.field)?.[1];
    if (index === undefined) continue;
    const what = [violation.reason, violation.field, violation.description]
      .filter(Boolean).join(" ");
    byEvent.set(Number(index), [...byEvent.get(Number(index)) ?? [], what]);
  }
  return byEvent;
}

/** Data Manager `ErrorReason`s that say the destination's set-up is wrong, with what to do. */
const SETUP_HINTS: Readonly<Record<string, string>> = {
  INVALID_DESTINATION: "check customer_id and login_customer_id",
  INVALID_CONVERSION_ACTION_ID: "check conversion_action",
  INVALID_CONVERSION_ACTION_TYPE: "the conversion action must be an import (offline) action",
  OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH: "login_customer_id must manage customer_id",
  TERMS_AND_CONDITIONS_NOT_SIGNED: "accept the customer data terms in Google Ads",
  DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED:
    "accept the enhanced conversions terms in Google Ads",
  DESTINATION_ACCOUNT_NOT_ENABLED_ENHANCED_CONVERSIONS_FOR_LEADS:
    "turn on enhanced conversions for leads in Google Ads",
  DESTINATION_ACCOUNT_DATA_POLICY_PROHIBITS_ENHANCED_CONVERSIONS:
    "the account's data policy does not allow enhanced conversions",
  NOT_ALLOWLISTED: "Google has not allowlisted this account for the feature",
};

/**
 * How Data Manager answered `events:ingest`. Success carries only a `requestId`: the events
 * are `accepted` and settled later by `requestStatus:retrieve` (a `validateOnly` answer has
 * nothing to follow up, so it is `delivered`). Errors are fast-fail: nothing was ingested;
 * on `INVALID_ARGUMENT` the events `fieldViolations` name fail and the rest are retried.
 */
export function classifyIngest(
  response: PlatformResponse,
  request: OutboundRequest,
): Classification {
  if (response.status >= 200 && response.status < 300) {
    if (isValidation(request)) {
      return { outcome: { kind: "delivered", detail: "validated only (validateOnly)" } };
    }
    const answer = ingestAnswer.safeParse(parseJson(response.body));
    return answer.success
      ? {
        outcome: {
          kind: "accepted",
          token: answer.data.requestId,
          detail: `requestId=${answer.data.requestId}`,
        },
      }
      : { outcome: { kind: "delivered", detail: "no requestId in the answer" } };
  }
  const status = readErrorBody(response.body);
  const reason = statusReason(LABEL, response, status);
  const canonical = canonicalOutcome(response, status, reason);
  if (canonical) return { outcome: canonical };
  const byEvent = violationsByEvent(status.violations);
  const positions = [...byEvent.keys()].filter((i) => i < request.eventIndexes.length);
  if (positions.length === 0) {
    const hint = status.reasons.map((r) => SETUP_HINTS[r]).find(Boolean);
    return { outcome: { kind: "failed", reason: hint ? `${reason} (${hint})` : reason } };
  }
  const events: (Outcome | undefined)[] = [];
  for (const position of positions) {
    events[position] = {
      kind: "failed",
      reason: `${LABEL} refused this event: ${byEvent.get(position)!.join("; ")}` +
        (status.requestId ? ` (requestId ${status.requestId})` : ""),
    };
  }
  return {
    outcome: {
      kind: "retry",
      reason: `${LABEL} rejected the whole request (fast-fail) because of other events in it; ` +
        "sent again without them",
    },
    events,
  };
}

/** The `requestStatus:retrieve` request for an `events:ingest` requestId. */
export function requestStatusRequest(
  requestId: string,
  settings: GoogleAdsSettings,
  options: MapOptions,
): OutboundRequest {
  return {
    method: "GET",
    url: `${dataManagerBase(settings)}/v1/requestStatus:retrieve?requestId=` +
      encodeURIComponent(requestId),
    headers: bearer(options),
    eventIndexes: [],
  };
}

const countShape = z.object({
  recordCount: z.union([z.string(), z.number()]).optional(),
  reason: z.string().optional(),
});
const statusAnswer = z.object({
  requestStatusPerDestination: z.array(z.object({
    requestStatus: z.string().optional(),
    errorInfo: z.object({ errorCounts: z.array(countShape).optional() }).optional(),
    warningInfo: z.object({ warningCounts: z.array(countShape).optional() }).optional(),
    eventsIngestionStatus: z.object({
      recordCount: z.union([z.string(), z.number()]).optional(),
    }).optional(),
  })).optional(),
});

function counts(list: z.output<typeof countShape>[] | undefined): string {
  return (list ?? []).map((c) => `${c.reason ?? "UNKNOWN"} × ${c.recordCount ?? "?"}`).join(", ");
}

/**
 * How `requestStatus:retrieve` settles the accepted events (one destination per request):
 * `SUCCESS` delivered, `FAILURE` (`FAILED` in the proto) failed with Google's error
 * counts, `PARTIAL_SUCCESS` delivered with a detail saying some records failed (Google does
 * not say which), `PROCESSING` still accepted. Errors and unreadable answers ask again.
 */
export function classifyRequestStatus(response: PlatformResponse): Classification {
  const parsed = statusAnswer.safeParse(parseJson(response.body));
  const statuses = parsed.success ? parsed.data.requestStatusPerDestination ?? [] : [];
  if (response.status < 200 || response.status >= 300 || statuses.length === 0) {
    return {
      outcome: { kind: "retry", reason: `${LABEL} request status: HTTP ${response.status}` },
    };
  }
  const states = statuses.map((s) => s.requestStatus ?? "REQUEST_STATUS_UNKNOWN");
  if (states.some((s) => s !== "SUCCESS" && s !== "PARTIAL_SUCCESS" && !isFailure(s))) {
    return { outcome: { kind: "accepted", token: "", detail: "still processing" } };
  }
  const errors = counts(statuses.flatMap((s) => s.errorInfo?.errorCounts ?? []));
  const warnings = counts(statuses.flatMap((s) => s.warningInfo?.warningCounts ?? []));
  const records = statuses[0]?.eventsIngestionStatus?.recordCount;
  const noted = warnings ? `; warnings: ${warnings}` : "";
  if (states.every(isFailure)) {
    return {
      outcome: {
        kind: "failed",
        reason: `${LABEL} failed to process the request: ${errors || "no error counts"}${noted}`,
      },
    };
  }
  if (states.every((s) => s === "SUCCESS")) {
    return {
      outcome: { kind: "delivered", detail: `processed: SUCCESS${noted}` },
    };
  }
  return {
    outcome: {
      kind: "delivered",
      detail: `processed: PARTIAL_SUCCESS, some of the request's ${records ?? "?"} records ` +
        `failed (${errors || "no error counts"}), Google does not say which${noted}`,
    },
  };
}

function isFailure(state: string): boolean {
  return state === "FAILURE" || state === "FAILED";
}

import { z } from "zod";
import { EVENT_LIMITS, type SluiceEvent } from "../core/event.ts";
import {
  classifyIngest,
  classifyRequestStatus,
  DATA_MANAGER_BATCH,
  dataManagerRequests,
  requestStatusRequest,
} from "./_google_ads_data_manager.ts";
import { classifyUpload, legacyRequests } from "./_google_ads_legacy.ts";
import { accessGrant, refreshTokenRequest } from "./_oauth.ts";
import { parseJson, retryOutcome } from "./_response.ts";
import {
  endpointSetting,
  optionalSecretSetting,
  optionalUrlSetting,
  secretSetting,
} from "./_settings.ts";
import type {
  AccessGrant,
  Classification,
  Connector,
  MapOptions,
  MapResult,
  OutboundRequest,
  Outcome,
  PlatformResponse,
} from "./types.ts";

/** Digits of a Google Ads customer id, hyphens allowed as the UI shows them (`123-456-7890`). */
const customerId = z.string().trim().transform((v) => v.replaceAll("-", ""))
  .pipe(z.string().regex(/^\d{10}$/, 'must be a 10-digit customer id like "123-456-7890"'));

/** Google Ads destination settings. */
export const googleAdsSettings = z.object({
  customer_id: customerId
    .describe(
      "Google Ads customer id of the account that owns the conversion action (top right of " +
        "Google Ads, 123-456-7890)",
    ),
  conversion_action: z.string().trim()
    .regex(
      /^(?:\d+|customers\/\d+\/conversionActions\/\d+)$/,
      'must be the numeric conversion action id or "customers/…/conversionActions/…"',
    )
    .describe(
      "Conversion action id: Goals → Conversions → the action's page, ctId= in the URL (or " +
        "its resource name customers/…/conversionActions/…); it must be an import action",
    ),
  client_id: z.string().trim().min(1)
    .describe("OAuth client id: Google Cloud console → APIs & Services → Credentials"),
  client_secret: secretSetting("OAuth client secret of the same OAuth client"),
  refresh_token: secretSetting(
    "OAuth refresh token of a Google Ads user, granted the " +
      "https://www.googleapis.com/auth/datamanager scope (api data_manager) or " +
      "https://www.googleapis.com/auth/adwords (api google_ads)",
  ),
  login_customer_id: customerId.optional()
    .describe("Manager account (MCC) customer id, when access to customer_id goes through one"),
  token_endpoint: endpointSetting(
    "https://oauth2.googleapis.com/token",
    "OAuth2 token endpoint the refresh token is exchanged at",
  ),
  api: z.enum(["data_manager", "google_ads"]).default("data_manager")
    .describe(
      "data_manager (Data Manager API events:ingest, the default) or google_ads (the Google " +
        "Ads API's uploadClickConversions, only for developer tokens Google still allowlists)",
    ),
  developer_token: optionalSecretSetting(
    "Google Ads API developer token (API Center in the manager account); api google_ads only",
  ),
  api_version: z.string().trim().regex(/^v\d+$/, 'must look like "v26"').default("v26")
    .describe("Google Ads API version; api google_ads only"),
  event_names: z.array(z.string().trim().min(1).max(EVENT_LIMITS.nameLength)).min(1)
    .default(["purchase"])
    .describe(
      "Sluice event names counted as this conversion action; other events are skipped",
    ),
  merchant_id: z.string().trim().regex(/^\d+$/, "must be a numeric Merchant Center id").optional()
    .describe("Merchant Center id: with it, purchase items are sent as cart data"),
  merchant_feed_label: z.string().trim().min(1).max(20).optional()
    .describe("Merchant Center feed label (or feed country code) of the items"),
  merchant_feed_language_code: z.string().trim().regex(/^[a-z]{2}$/i, "must be ISO 639-1")
    .optional()
    .describe("ISO 639-1 language code of the Merchant Center feed"),
  endpoint: optionalUrlSetting(
    "Base URL (a proxy or test server); default https://datamanager.googleapis.com, or " +
      "https://googleads.googleapis.com for api google_ads",
  ),
}).strict().superRefine((settings, ctx) => {
  if (settings.api === "google_ads" && !settings.developer_token) {
    ctx.addIssue({
      code: "custom",
      path: ["developer_token"],
      message: 'api "google_ads" needs a developer_token',
    });
  }
});

/** Google Ads destination settings after validation. */
export type GoogleAdsSettings = z.output<typeof googleAdsSettings>;

const DAY_MS = 86_400_000;
/** Google Ads click-through windows end at 90 days; older clicks give `EXPIRED_EVENT`. */
const MAX_AGE_MS = 90 * DAY_MS;
const HOUR_MS = 3_600_000;

const tokenError = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

/**
 * Reads the token endpoint's answer: an access token (Google's last an hour), or refused
 * credentials (`invalid_grant`: the refresh token expired or was revoked; `invalid_client`)
 * as `auth_failed`, or throttling and server errors as `retry`.
 */
export function readTokenAnswer(response: PlatformResponse): AccessGrant | Outcome {
  const grant = accessGrant(response);
  if (grant) return grant;
  const error = tokenError.safeParse(parseJson(response.body));
  const reason = "Google OAuth token endpoint: " +
    (error.success
      ? `${error.data.error}${
        error.data.error_description ? ` (${error.data.error_description})` : ""
      }`
      : `HTTP ${response.status}: ${response.body.slice(0, 200)}`);
  if (response.status === 429 || response.status >= 500) return retryOutcome(response, reason);
  if (response.status >= 400 && response.status < 500) return { kind: "auth_failed", reason };
  return { kind: "failed", reason: `${reason} (no access_token in the answer)` };
}

function isLegacyUpload(request: OutboundRequest): boolean {
  return request.url.endsWith(":uploadClickConversions");
}

/**
 * Google Ads offline (click) conversions and enhanced conversions for leads. By default
 * through the Data Manager API: events posted to `{endpoint}/v1/events:ingest`, up to
 * 2,000 per request, for the conversion action in `destinations[]`, with PII hashed as hex
 * per Google's rules and `transactionId` = order_id (else event_id) as the dedup key.
 * Data Manager answers only a requestId: the events stay `accepted` until
 * `requestStatus:retrieve` says how processing went (about 30 minutes later). A 400 is
 * fast-fail (nothing ingested): the events its `fieldViolations` name fail, the rest are
 * sent again. `api: "google_ads"` uses the Google Ads API's `uploadClickConversions`
 * instead (partial failure per row). OAuth2 access tokens come from the refresh token.
 *
 * @see https://developers.google.com/data-manager/api/reference/rest/v1/events/ingest
 */
export const googleAds = {
  id: "google_ads",
  label: "Google Ads (offline conversions)",
  docsUrl: "https://developers.google.com/data-manager/api/reference/rest/v1/events/ingest",
  settings: googleAdsSettings,
  secretFields: ["client_secret", "refresh_token", "developer_token"],
  urlFields: ["endpoint", "token_endpoint"],
  batchLimit: DATA_MANAGER_BATCH,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: "Sends with validateOnly: true: Google checks the accounts, the conversion action " +
    "and every event as it would for a real send, and records nothing.",
  map(events: readonly SluiceEvent[], settings: GoogleAdsSettings, options: MapOptions): MapResult {
    return settings.api === "google_ads"
      ? legacyRequests(events, settings, options)
      : dataManagerRequests(events, settings, options);
  },
  classify(response: PlatformResponse, request: OutboundRequest): Classification {
    return isLegacyUpload(request)
      ? classifyUpload(response, request)
      : classifyIngest(response, request);
  },
  authorize: {
    request(settings: GoogleAdsSettings): OutboundRequest {
      const { client_id, client_secret, refresh_token } = settings;
      return refreshTokenRequest(settings.token_endpoint, {
        client_id,
        client_secret,
        refresh_token,
      });
    },
    read: readTokenAnswer,
  },
  followUp: {
    firstCheckAfterMs: HOUR_MS / 2,
    giveUpAfterMs: 48 * HOUR_MS,
    request: requestStatusRequest,
    classify: classifyRequestStatus,
  },
} satisfies Connector<typeof googleAdsSettings>;

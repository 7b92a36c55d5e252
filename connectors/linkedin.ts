import { z } from "zod";
import type { SluiceEvent, UserData } from "../core/event.ts";
import { hashNormalized, normalizeCountry, normalizeEmail } from "../core/pii/mod.ts";
import { mapInBatches, skipAll } from "./_map_result.ts";
import { accessGrant, refreshTokenRequest } from "./_oauth.ts";
import { trimmedText } from "./_records.ts";
import { baseUrl, parseJson, retryOutcome, statusOutcome } from "./_response.ts";
import { endpointSetting, optionalSecretSetting } from "./_settings.ts";
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

const RULE_URN_PREFIX = "urn:lla:llaPartnerConversion:";

/** LinkedIn destination settings: a ready access token, or an OAuth2 refresh token and its app. */
export const linkedinSettings = z.object({
  conversion_rule_id: z.string().trim()
    .regex(
      /^(?:urn:lla:llaPartnerConversion:)?\d{1,20}$/,
      "must be the numeric conversion rule id (or its urn:lla:llaPartnerConversion: URN)",
    )
    .describe(
      "Conversion rule id: Campaign Manager → Analyze → Conversion tracking → a rule whose " +
        "method is Conversions API (the number in its URL or details)",
    ),
  access_token: optionalSecretSetting(
    "Member access token with the rw_conversions scope (from your LinkedIn app's OAuth " +
      "flow or the Developer Portal token generator); expires after 60 days. Not needed with " +
      "refresh_token",
  ),
  client_id: z.string().trim().min(1).optional()
    .describe("Client ID of your LinkedIn app (Developer Portal → your app → Auth)"),
  client_secret: optionalSecretSetting(
    "Primary client secret of the same app (Developer Portal → your app → Auth)",
  ),
  refresh_token: optionalSecretSetting(
    "OAuth2 refresh token from the app's authorization flow (programmatic refresh tokens " +
      "must be enabled for the app); Sluice exchanges it for access tokens as they expire",
  ),
  token_endpoint: endpointSetting(
    "https://www.linkedin.com/oauth/v2/accessToken",
    "OAuth2 token endpoint for refresh_token (a proxy or test server)",
  ),
  api_version: z.string().trim().regex(/^\d{6}$/, 'must be a YYYYMM version such as "202607"')
    .default("202607")
    .describe("LinkedIn Marketing API version (LinkedIn-Version header, YYYYMM)"),
  event_names: z.array(z.string().trim().min(1).max(100)).min(1).optional()
    .describe(
      "Sluice event names this conversion rule counts (e.g. purchase); other events are " +
        "skipped. Without it every event routed here is sent except page_view, screen_view, " +
        "identify, group and alias",
    ),
  endpoint: endpointSetting("https://api.linkedin.com"),
}).strict().superRefine((settings, ctx) => {
  for (const issue of credentialIssues(settings)) {
    ctx.addIssue({ code: "custom", path: [issue.field], message: issue.message });
  }
});

/** LinkedIn destination settings after validation. */
export type LinkedinSettings = z.output<typeof linkedinSettings>;

interface Credentials {
  access_token?: string;
  client_id?: string;
  client_secret?: string;
  refresh_token?: string;
}

/**
 * What the credentials lack: an access token, or a refresh token with the app's client id
 * and secret. Each issue names the missing field.
 */
function credentialIssues(settings: Credentials): { field: string; message: string }[] {
  if (settings.refresh_token) {
    return (["client_id", "client_secret"] as const)
      .filter((field) => !settings[field])
      .map((field) => ({ field, message: `${field} is required with refresh_token` }));
  }
  if (settings.access_token) return [];
  if (settings.client_id || settings.client_secret) {
    return [{
      field: "refresh_token",
      message: "refresh_token is required with client_id and client_secret (or set access_token)",
    }];
  }
  return [{
    field: "access_token",
    message: "access_token is required (or refresh_token with client_id and client_secret)",
  }];
}

/** Events never sent to a conversion rule unless `event_names` lists them: they are not conversions. */
const NOT_CONVERSIONS = new Set(["page_view", "screen_view", "identify", "group", "alias"]);

const DAY_MS = 86_400_000;
const MAX_AGE_MS = 90 * DAY_MS;
const BATCH_LIMIT = 5000;
const MAX_EVENT_ID_LENGTH = 64;
const NO_TOKEN = "no LinkedIn access token: the refresh token was not exchanged for one";
const NO_TEST_MODE = "LinkedIn's Conversions API has no test mode: a test event would count " +
  "as a real conversion. Point a second destination at a throwaway conversion rule instead";

/** The `conversion` URN of the configured rule. */
export function conversionUrn(ruleId: string): string {
  return RULE_URN_PREFIX + ruleId.replace(RULE_URN_PREFIX, "");
}

/** LinkedIn `user.userIds`: the SHA-256 of the canonical email, and the raw li_fat_id. */
export function linkedinUserIds(user: UserData): { idType: string; idValue: string }[] {
  const email = hashNormalized(user.email, normalizeEmail);
  const liFatId = user.click_ids?.li_fat_id?.trim();
  return [
    ...(email ? [{ idType: "SHA256_EMAIL", idValue: email }] : []),
    ...(liFatId ? [{ idType: "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", idValue: liFatId }] : []),
  ];
}

/**
 * LinkedIn `user.userInfo`, raw: only when both first and last name are known (LinkedIn
 * refuses one without the other), with the company (`user_data.company_name`), job title
 * (`user_data.job_title`) and country (ISO alpha-2, uppercase) when present.
 */
export function linkedinUserInfo(user: UserData): Record<string, string> | undefined {
  const firstName = trimmedText(user.first_name);
  const lastName = trimmedText(user.last_name);
  if (!firstName || !lastName) return undefined;
  const info: Record<string, string> = { firstName, lastName };
  const companyName = trimmedText(user.company_name);
  const title = trimmedText(user.job_title);
  const countryCode = user.country ? normalizeCountry(user.country)?.toUpperCase() : undefined;
  if (companyName) info.companyName = companyName;
  if (title) info.title = title;
  if (countryCode) info.countryCode = countryCode;
  return info;
}

/** Why this destination does not send the event by its name, if it does not. */
function nameExcluded(name: string, eventNames: readonly string[] | undefined): string | undefined {
  if (eventNames) {
    return eventNames.includes(name)
      ? undefined
      : `"${name}" is not one of this conversion rule's event_names (${eventNames.join(", ")})`;
  }
  return NOT_CONVERSIONS.has(name)
    ? `"${name}" is not a conversion: LinkedIn would count it for the rule (list it in ` +
      "event_names to send it)"
    : undefined;
}

/** A decimal string as LinkedIn documents it: `50.0` for 50, `49.9` for 49.9. */
export function linkedinAmount(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** One LinkedIn conversion event, or the reason it cannot be sent. */
function linkedinEvent(
  event: SluiceEvent,
  settings: LinkedinSettings,
): Record<string, unknown> | string {
  const excluded = nameExcluded(event.event_name, settings.event_names);
  if (excluded) return excluded;
  const userIds = linkedinUserIds(event.user_data);
  if (userIds.length === 0) {
    return "LinkedIn needs an email or a li_fat_id click id (user_data.email, " +
      "click_ids.li_fat_id) to match the member";
  }
  if (event.event_id.length > MAX_EVENT_ID_LENGTH) {
    return `LinkedIn takes event ids of at most ${MAX_EVENT_ID_LENGTH} characters ` +
      `(this one has ${event.event_id.length})`;
  }
  const user: Record<string, unknown> = { userIds };
  const userInfo = linkedinUserInfo(event.user_data);
  if (userInfo) user.userInfo = userInfo;
  const externalId = event.user_data.customer_id ?? event.user_data.external_ids?.[0];
  if (externalId) user.externalIds = [externalId];
  const out: Record<string, unknown> = {
    conversion: conversionUrn(settings.conversion_rule_id),
    conversionHappenedAt: Math.floor(event.event_time),
  };
  if (event.value !== undefined && event.currency) {
    out.conversionValue = { currencyCode: event.currency, amount: linkedinAmount(event.value) };
  }
  out.eventId = event.event_id;
  out.user = user;
  return out;
}

const linkedinError = z.object({
  status: z.number().optional(),
  serviceErrorCode: z.number().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});

type LinkedinError = z.output<typeof linkedinError>;

const batchAnswer = z.object({
  elements: z.array(
    z.object({
      status: z.number().optional(),
      batchIndex: z.number().int().nonnegative().optional(),
      error: linkedinError.nullish(),
    }).nullable(),
  ),
});

function errorText(error: LinkedinError | null | undefined): string {
  if (!error) return "";
  const code = [error.code, error.serviceErrorCode].filter((c) => c !== undefined).join(" ");
  return [code, error.message].filter(Boolean).join(": ");
}

/** The outcome of one element of a BATCH_CREATE answer. */
function elementOutcome(
  element: z.output<typeof batchAnswer>["elements"][number],
  response: PlatformResponse,
): Outcome {
  if (element === null || element.status === undefined) {
    return { kind: "failed", reason: "LinkedIn answered no status for this event" };
  }
  const described = errorText(element.error);
  const reason = `LinkedIn refused the event (status ${element.status})` +
    (described ? `: ${described}` : "");
  return statusOutcome({ ...response, status: element.status }, reason);
}

/**
 * How LinkedIn answered a BATCH_CREATE, per event: HTTP 200 with `elements[i].status` (201
 * created; 4xx with an `error` refused) in request order, or at `elements[i].batchIndex` when
 * LinkedIn names it. A non-2xx answer is one outcome for all: 401 and 403 refused credentials
 * (the engine refreshes the token once on a 401), 408, 423, 429 and 5xx retried, others failed.
 */
export function linkedinClassify(response: PlatformResponse): Classification {
  const json = parseJson(response.body);
  if (response.status < 200 || response.status >= 300) {
    const parsed = linkedinError.safeParse(json);
    const described = parsed.success ? errorText(parsed.data) : "";
    const reason = `LinkedIn HTTP ${response.status}: ` +
      (described || response.body.slice(0, 300) || "no body");
    return { outcome: statusOutcome(response, reason) };
  }
  const answer = batchAnswer.safeParse(json);
  if (!answer.success) return { outcome: { kind: "delivered" } };
  const events: (Outcome | undefined)[] = [];
  answer.data.elements.forEach((element, position) => {
    events[element?.batchIndex ?? position] = elementOutcome(element, response);
  });
  return { outcome: { kind: "delivered" }, events };
}

const tokenError = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/** Reads LinkedIn's token endpoint answer: a grant, or why there is none. */
export function readLinkedinToken(response: PlatformResponse): AccessGrant | Outcome {
  const grant = accessGrant(response);
  if (grant) return grant;
  if (response.status >= 200 && response.status < 300) {
    return { kind: "retry", reason: "LinkedIn token endpoint answered without an access_token" };
  }
  const parsed = tokenError.safeParse(parseJson(response.body));
  const described = parsed.success
    ? [parsed.data.error, parsed.data.error_description].filter(Boolean).join(": ")
    : "";
  const reason = `LinkedIn token endpoint HTTP ${response.status}: ` +
    (described || response.body.slice(0, 300) || "no body");
  const status = response.status;
  if (status === 408 || status === 429 || status >= 500) return retryOutcome(response, reason);
  return { kind: "auth_failed", reason };
}

/**
 * LinkedIn Conversions API: conversion events streamed to `/rest/conversionEvents` with
 * `X-RestLi-Method: BATCH_CREATE`, up to 5,000 per request, answered per event. Every event
 * goes to the one configured conversion rule. Events older than 90 days, without an email
 * or li_fat_id, with an event id over 64 characters, or not named in `event_names` (by
 * default page views and identity calls) are skipped. With a refresh token, `authorize`
 * obtains access tokens; otherwise `access_token` is used as it is. No test mode exists.
 *
 * @see https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api
 */
export const linkedin = {
  id: "linkedin",
  label: "LinkedIn Conversions API",
  docsUrl:
    "https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api",
  settings: linkedinSettings,
  secretFields: ["access_token", "client_secret", "refresh_token"],
  urlFields: ["endpoint", "token_endpoint"],
  batchLimit: BATCH_LIMIT,
  consent: "ads",
  maxEventAgeMs: () => MAX_AGE_MS,
  testMode: null,
  map(events: readonly SluiceEvent[], settings: LinkedinSettings, options: MapOptions): MapResult {
    if (options.test) return skipAll(events, NO_TEST_MODE);
    const token = options.accessToken ?? settings.access_token;
    if (!token) return skipAll(events, NO_TOKEN);
    return mapInBatches(events, {
      size: BATCH_LIMIT,
      mapEvent: (event) => linkedinEvent(event, settings),
      request: (bodies) => ({
        method: "POST",
        url: `${baseUrl(settings.endpoint)}/rest/conversionEvents`,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "linkedin-version": settings.api_version,
          "x-restli-protocol-version": "2.0.0",
          "x-restli-method": "BATCH_CREATE",
        },
        body: JSON.stringify({ elements: bodies }),
      }),
    });
  },
  classify(response: PlatformResponse): Classification {
    return linkedinClassify(response);
  },
  authorize: {
    request(settings: LinkedinSettings): OutboundRequest | null {
      const { refresh_token, client_id, client_secret } = settings;
      if (!refresh_token || !client_id || !client_secret) return null;
      return refreshTokenRequest(settings.token_endpoint, {
        refresh_token,
        client_id,
        client_secret,
      });
    },
    read: readLinkedinToken,
  },
} satisfies Connector<typeof linkedinSettings>;

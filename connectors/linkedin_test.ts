import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import type { SluiceEvent } from "../core/event.ts";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import {
  linkedin,
  linkedinAmount,
  linkedinClassify,
  linkedinSettings,
  linkedinUserIds,
  linkedinUserInfo,
  readLinkedinToken,
} from "./linkedin.ts";

const NOW = 1_767_225_600_000;
const withToken = linkedinSettings.parse({ conversion_rule_id: "104012", access_token: "AQX" });
const withRefresh = linkedinSettings.parse({
  conversion_rule_id: "104012",
  client_id: "86abc",
  client_secret: "s3cret",
  refresh_token: "AQW-refresh",
});

function issuesOf(input: Record<string, unknown>): string[] {
  const parsed = linkedinSettings.safeParse({ conversion_rule_id: "104012", ...input });
  return (parsed.error?.issues ?? []).map((i) => `${i.path.join(".")}: ${i.message}`);
}

function elements(events: SluiceEvent[], settings = withToken): Record<string, unknown>[] {
  const { requests } = linkedin.map(events, settings, { now: NOW });
  return JSON.parse(requests[0]?.body ?? '{"elements":[]}').elements;
}

Deno.test("linkedinSettings applies the documented defaults and accepts the rule URN", () => {
  assert.equal(withToken.api_version, "202607");
  assert.equal(withToken.endpoint, "https://api.linkedin.com");
  assert.equal(withToken.token_endpoint, "https://www.linkedin.com/oauth/v2/accessToken");
  assert.ok(
    linkedinSettings.safeParse({
      conversion_rule_id: "urn:lla:llaPartnerConversion:104012",
      access_token: "t",
    }).success,
  );
  assert.deepEqual(issuesOf({ access_token: "t", api_version: "2026-03" }), [
    'api_version: must be a YYYYMM version such as "202607"',
  ]);
  assert.equal(
    linkedinSettings.safeParse({ conversion_rule_id: "urn:li:conversion:1", access_token: "t" })
      .success,
    false,
  );
});

Deno.test("linkedinSettings requires a token or a complete refresh set, naming the missing field", () => {
  assert.deepEqual(issuesOf({}), [
    "access_token: access_token is required (or refresh_token with client_id and client_secret)",
  ]);
  assert.deepEqual(issuesOf({ refresh_token: "r", client_secret: "s" }), [
    "client_id: client_id is required with refresh_token",
  ]);
  assert.deepEqual(issuesOf({ refresh_token: "r", client_id: "c", access_token: "t" }), [
    "client_secret: client_secret is required with refresh_token",
  ]);
  assert.deepEqual(issuesOf({ client_id: "c", client_secret: "s" }), [
    "refresh_token: refresh_token is required with client_id and client_secret (or set access_token)",
  ]);
  assert.deepEqual(issuesOf({ client_id: "c", client_secret: "s", refresh_token: "r" }), []);
  assert.deepEqual(issuesOf({ access_token: "t", client_id: "c" }), []);
});

Deno.test("linkedin.authorize.request() is the refresh grant with a refresh token, else null", () => {
  assert.equal(linkedin.authorize.request(withToken), null);
  const refresh = linkedin.authorize.request({ ...withRefresh, access_token: "also-set" });
  assert.deepEqual(refresh, {
    method: "POST",
    url: "https://www.linkedin.com/oauth/v2/accessToken",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=refresh_token&refresh_token=AQW-refresh&client_id=86abc&client_secret=s3cret",
    eventIndexes: [],
  });
});

Deno.test("readLinkedinToken() takes the grant and refuses bad refresh tokens as auth_failed", () => {
  assert.deepEqual(
    readLinkedinToken(answer(200, {
      access_token: "AQV-new",
      expires_in: 5_184_000,
      refresh_token: "AQW-refresh",
      refresh_token_expires_in: 31_536_000,
    })),
    { accessToken: "AQV-new", expiresInMs: 5_184_000_000 },
  );
  assert.deepEqual(readLinkedinToken(answer(200, { access_token: "AQV" })), {
    accessToken: "AQV",
    expiresInMs: 3_600_000,
  });
  assert.equal((readLinkedinToken(answer(200, "{}")) as { kind: string }).kind, "retry");
  assert.deepEqual(
    readLinkedinToken(answer(400, {
      error: "invalid_grant",
      error_description: "The provided authorization grant or refresh token is invalid",
    })),
    {
      kind: "auth_failed",
      reason: "LinkedIn token endpoint HTTP 400: invalid_grant: The provided authorization " +
        "grant or refresh token is invalid",
    },
  );
  assert.equal(
    (readLinkedinToken(answer(401, { error: "invalid_client" })) as { kind: string }).kind,
    "auth_failed",
  );
  assert.equal((readLinkedinToken(answer(503, "")) as { kind: string }).kind, "retry");
  assert.deepEqual(readLinkedinToken(answer(429, "", { "retry-after": "5" })), {
    kind: "retry",
    reason: "LinkedIn token endpoint HTTP 429: no body",
    afterMs: 5000,
  });
});

Deno.test("linkedin.map() uses the authorized token over access_token, and sends nothing without one", () => {
  const both = { ...withRefresh, access_token: "AQX-static" };
  const sent = linkedin.map([testEvent()], both, { now: NOW, accessToken: "AQV-fresh" });
  assert.equal(sent.requests[0]?.headers.authorization, "Bearer AQV-fresh");
  assert.equal(
    linkedin.map([testEvent()], both, { now: NOW }).requests[0]?.headers.authorization,
    "Bearer AQX-static",
  );
  const none = linkedin.map([testEvent()], withRefresh, { now: NOW });
  assert.deepEqual(none.requests, []);
  assert.match(none.skipped[0]?.reason ?? "", /no LinkedIn access token/);
});

Deno.test("linkedin.map() has no test mode: a test send sends nothing and says why", () => {
  const { requests, skipped } = linkedin.map([testEvent(), testEvent()], withToken, {
    now: NOW,
    test: true,
  });
  assert.deepEqual(requests, []);
  assert.deepEqual(skipped.map((s) => s.index), [0, 1]);
  assert.match(skipped[0]?.reason ?? "", /no test mode.*throwaway conversion rule/);
});

Deno.test("linkedin.map() sends the versioned Rest.li headers and splits more than 5,000 events", () => {
  const events = Array.from({ length: 5001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests } = linkedin.map(events, withToken, { now: NOW });
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [5000, 1]);
  assert.equal(requests[0]?.url, "https://api.linkedin.com/rest/conversionEvents");
  assert.deepEqual(requests[0]?.headers, {
    authorization: "Bearer AQX",
    "content-type": "application/json",
    "linkedin-version": "202607",
    "x-restli-protocol-version": "2.0.0",
    "x-restli-method": "BATCH_CREATE",
  });
});

Deno.test("linkedinUserIds() hashes the canonical email once and sends li_fat_id raw", () => {
  const hashed = sha256Hex("ada@example.com");
  assert.deepEqual(
    linkedinUserIds({ email: "  Ada@Example.COM ", click_ids: { li_fat_id: " AbC-123 " } }),
    [
      { idType: "SHA256_EMAIL", idValue: hashed },
      { idType: "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", idValue: "AbC-123" },
    ],
  );
  assert.deepEqual(linkedinUserIds({ email: hashed.toUpperCase() }), [
    { idType: "SHA256_EMAIL", idValue: hashed },
  ]);
  assert.deepEqual(linkedinUserIds({ email: "not an email", phone: "+16505551212" }), []);
});

Deno.test("linkedinUserInfo() is sent only with both names, raw, with company, title and country", () => {
  assert.equal(linkedinUserInfo({ first_name: "Ada" }), undefined);
  assert.equal(linkedinUserInfo({ last_name: "Lovelace", country: "GB" }), undefined);
  assert.deepEqual(
    linkedinUserInfo({
      first_name: " Ada ",
      last_name: "Lovelace",
      company_name: "Analytical Engines Ltd",
      job_title: "Programmer",
      country: "United Kingdom",
    }),
    {
      firstName: "Ada",
      lastName: "Lovelace",
      companyName: "Analytical Engines Ltd",
      title: "Programmer",
      countryCode: "GB",
    },
  );
});

Deno.test("linkedinAmount() writes decimal strings as LinkedIn documents them", () => {
  assert.equal(linkedinAmount(50), "50.0");
  assert.equal(linkedinAmount(49.9), "49.9");
  assert.equal(linkedinAmount(0), "0.0");
});

Deno.test("linkedin.map() skips page views and identity calls unless event_names lists them", () => {
  const names = ["page_view", "screen_view", "identify", "purchase", "lead", "my_signup"];
  const events = names.map((event_name) => testEvent({ event_name }));
  const byDefault = linkedin.map(events, withToken, { now: NOW });
  assert.deepEqual(byDefault.skipped.map((s) => s.index), [0, 1, 2]);
  assert.match(byDefault.skipped[0]?.reason ?? "", /"page_view" is not a conversion/);
  const listed = linkedinSettings.parse({ ...withToken, event_names: ["page_view", "lead"] });
  const chosen = linkedin.map(events, listed, { now: NOW });
  assert.deepEqual(chosen.requests[0]?.eventIndexes, [0, 4]);
  assert.equal(
    chosen.skipped.find((s) => s.index === 3)?.reason,
    '"purchase" is not one of this conversion rule\'s event_names (page_view, lead)',
  );
});

Deno.test("linkedin.map() builds the element: URN, epoch ms, value with currency, one externalId", () => {
  const [element, noCurrency] = elements([
    testEvent({
      event_id: "order-1",
      event_time: 1_767_225_599_123,
      value: 20,
      currency: "EUR",
      user_data: { email: "ada@example.com", customer_id: "c-1", external_ids: ["x-1", "x-2"] },
    }),
    testEvent({ value: 20, user_data: { email: "ada@example.com", external_ids: ["x-1"] } }),
  ]);
  assert.deepEqual(element, {
    conversion: "urn:lla:llaPartnerConversion:104012",
    conversionHappenedAt: 1_767_225_599_123,
    conversionValue: { currencyCode: "EUR", amount: "20.0" },
    eventId: "order-1",
    user: {
      userIds: [{ idType: "SHA256_EMAIL", idValue: sha256Hex("ada@example.com") }],
      externalIds: ["c-1"],
    },
  });
  assert.equal("conversionValue" in (noCurrency ?? {}), false);
  assert.deepEqual((noCurrency?.user as { externalIds: string[] }).externalIds, ["x-1"]);
});

Deno.test("linkedinClassify() reads each element's status from a BATCH_CREATE answer", () => {
  const result = linkedinClassify(answer(200, {
    elements: [
      { status: 201 },
      {
        status: 400,
        error: {
          status: 400,
          code: "INVALID_FIELD",
          message: "conversionHappenedAt must be within the past 90 days",
        },
      },
      { status: 429 },
      null,
    ],
  }));
  assert.deepEqual(result.outcome, { kind: "delivered" });
  assert.deepEqual(result.events, [
    { kind: "delivered" },
    {
      kind: "failed",
      reason: "LinkedIn refused the event (status 400): INVALID_FIELD: conversionHappenedAt " +
        "must be within the past 90 days",
    },
    { kind: "retry", reason: "LinkedIn refused the event (status 429)" },
    { kind: "failed", reason: "LinkedIn answered no status for this event" },
  ]);
});

Deno.test("linkedinClassify() places elements by batchIndex when LinkedIn names it", () => {
  const result = linkedinClassify(answer(200, {
    elements: [{ status: 422, batchIndex: 2, error: { message: "bad user" } }, {
      status: 201,
      batchIndex: 0,
    }],
  }));
  assert.deepEqual(result.events?.[0], { kind: "delivered" });
  assert.equal(result.events?.[1], undefined);
  assert.deepEqual(result.events?.[2], {
    kind: "failed",
    reason: "LinkedIn refused the event (status 422): bad user",
  });
});

Deno.test("outcomeOf(linkedin, ) maps LinkedIn's error answers", () => {
  assert.deepEqual(
    outcomeOf(
      linkedin,
      answer(401, {
        status: 401,
        serviceErrorCode: 65600,
        code: "INVALID_ACCESS_TOKEN",
        message: "Invalid access token",
      }),
    ),
    {
      kind: "auth_failed",
      reason: "LinkedIn HTTP 401: INVALID_ACCESS_TOKEN 65600: Invalid access token",
    },
  );
  assert.equal(
    outcomeOf(
      linkedin,
      answer(403, { status: 403, serviceErrorCode: 100, message: "Not enough permissions" }),
    ).kind,
    "auth_failed",
  );
  assert.deepEqual(
    outcomeOf(
      linkedin,
      answer(429, { status: 429, message: "Too many requests" }, {
        "retry-after": "60",
      }),
    ),
    { kind: "retry", reason: "LinkedIn HTTP 429: Too many requests", afterMs: 60_000 },
  );
  assert.equal(outcomeOf(linkedin, answer(423, "")).kind, "retry");
  assert.equal(outcomeOf(linkedin, answer(504, "gateway")).kind, "retry");
  assert.deepEqual(
    outcomeOf(linkedin, answer(422, { status: 422, message: "Invalid conversion rule" })),
    { kind: "failed", reason: "LinkedIn HTTP 422: Invalid conversion rule" },
  );
  assert.deepEqual(outcomeOf(linkedin, answer(201, "")), { kind: "delivered" });
});

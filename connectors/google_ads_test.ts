import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { phoneE164 } from "../core/pii/mod.ts";
import {
  classifyIngest,
  classifyRequestStatus,
  conversionActionId,
  dataManagerIdentifiers,
  violationsByEvent,
} from "./_google_ads_data_manager.ts";
import { clickIdsOf, eventSourceOf, shareableIp } from "./_google_ads_event.ts";
import { classifyUpload, conversionDateTime } from "./_google_ads_legacy.ts";
import { dataManagerProblems } from "../tests/_google_ads_proto.ts";
import {
  dataManagerEmail,
  dataManagerFamilyName,
  dataManagerGivenName,
  googleEmail,
} from "./_google_pii.ts";
import { answer, testEvent } from "./_test_events.ts";
import { googleAds, type GoogleAdsSettings, readTokenAnswer } from "./google_ads.ts";
import type { OutboundRequest, Outcome } from "./types.ts";

const NOW = Date.parse("2025-06-07T00:00:00Z");

function settings(over: Record<string, unknown> = {}): GoogleAdsSettings {
  return googleAds.settings.parse({
    customer_id: "123-456-7890",
    conversion_action: "987654321",
    client_id: "client.apps.googleusercontent.com",
    client_secret: "GOCSPX-secret",
    refresh_token: "1//refresh",
    ...over,
  });
}

/** A request of `n` events, as classify() receives it. */
function sent(n: number, url = "https://datamanager.googleapis.com/v1/events:ingest") {
  return {
    method: "POST",
    url,
    headers: {},
    body: "{}",
    eventIndexes: Array.from({ length: n }, (_, i) => i),
  } satisfies OutboundRequest;
}

function kinds(
  outcomes: readonly (Outcome | undefined)[] | undefined,
  n: number,
  fallback: Outcome,
) {
  return Array.from({ length: n }, (_, i) => (outcomes?.[i] ?? fallback).kind);
}

// Google's UserDataFormatter test vectors (googleads/data-manager-node util/test/formatter.test.ts)
// and CONNECTORS.md §4.1's examples.

Deno.test("dataManagerEmail() trims and lowercases every domain, keeping dots and +tags", () => {
  assert.equal(dataManagerEmail("QuinnY@example.com"), "quinny@example.com");
  assert.equal(dataManagerEmail("QuinnY@EXAMPLE.com"), "quinny@example.com");
  assert.equal(dataManagerEmail("user.name+NYC@Example.com"), "user.name+nyc@example.com");
  assert.equal(dataManagerEmail("  ALEXZ@example.com   "), "alexz@example.com");
});

Deno.test("dataManagerEmail() drops dots and cuts at + for gmail.com and googlemail.com", () => {
  assert.equal(
    dataManagerEmail("jefferson.Loves.hiking@gmail.com"),
    "jeffersonloveshiking@gmail.com",
  );
  assert.equal(
    dataManagerEmail("j.e.f..ferson.Loves.hiking@gmail.com"),
    "jeffersonloveshiking@gmail.com",
  );
  assert.equal(
    dataManagerEmail("jefferson.Loves.hiking@googlemail.com"),
    "jeffersonloveshiking@googlemail.com",
  );
  assert.equal(
    dataManagerEmail("Cloudy.SanFrancisco+shopping@gmail.com"),
    "cloudysanfrancisco@gmail.com",
  );
  assert.equal(
    dataManagerEmail("Cloudy.SanFrancisco+shopping@googlemail.com"),
    "cloudysanfrancisco@googlemail.com",
  );
});

Deno.test("dataManagerEmail() refuses what is not an address", () => {
  for (const bad of ["@example.com", "quinn", "+shopping@gmail.com", "a b@example.com", " "]) {
    assert.equal(dataManagerEmail(bad), undefined, bad);
  }
});

Deno.test("googleEmail() (Google Ads API rule) keeps the +tag that Data Manager cuts", () => {
  assert.equal(
    googleEmail("Cloudy.SanFrancisco+shopping@gmail.com"),
    "cloudysanfrancisco+shopping@gmail.com",
  );
  assert.equal(
    dataManagerEmail("Cloudy.SanFrancisco+shopping@gmail.com"),
    "cloudysanfrancisco@gmail.com",
  );
});

Deno.test("phoneE164() gives the formatter's E.164 with + for its phone vectors", () => {
  const vectors: Record<string, string> = {
    "1 800 555 0100": "+18005550100",
    "18005550100": "+18005550100",
    "+1 800-555-0100": "+18005550100",
    "441134960987": "+441134960987",
    "+441134960987": "+441134960987",
    "+44-113-496-0987": "+441134960987",
    "   +1-800-555-0100": "+18005550100",
    "1-800-555-0100   ": "+18005550100",
  };
  for (const [input, expected] of Object.entries(vectors)) {
    assert.equal(phoneE164(input), expected, input);
  }
  assert.equal(phoneE164("(800)555-0100", "US"), "+18005550100");
  assert.equal(phoneE164("+abc-DEF"), undefined);
  assert.equal(phoneE164("++++"), undefined);
});

Deno.test("dataManagerGivenName() strips Mr./Mrs./Ms./Dr. and punctuation", () => {
  for (const input of [" Alex   ", " Mr. Alex   ", " Mrs. Alex   ", " Dr. Alex   ", "Ms. Alex"]) {
    assert.equal(dataManagerGivenName(input), "alex", input);
  }
  assert.equal(dataManagerGivenName(" Mralex   "), "mralex");
  // The formatter keeps "alex dr."; the proto asks for no punctuation.
  assert.equal(dataManagerGivenName(" Alex Dr."), "alex dr");
  assert.equal(dataManagerGivenName(" Mr. "), undefined);
  assert.equal(dataManagerGivenName(" "), undefined);
});

Deno.test("dataManagerFamilyName() strips suffixes repeatedly, and punctuation", () => {
  const vectors: Record<string, string> = {
    " Quinn   ": "quinn",
    " Quinn, Jr.   ": "quinn",
    " Quinn,Jr.   ": "quinn",
    " Quinn Sr.  ": "quinn",
    "quinn, jr. dds": "quinn",
    "quinn, jr., dds": "quinn",
    "Quinn III": "quinn",
    "Quinn PhD": "quinn",
    "Boardds": "boardds",
    "lacparm": "lacparm",
    "O'Brien": "obrien",
    // The formatter keeps "quinn-alex"; the proto asks for no punctuation.
    "Quinn-Alex": "quinnalex",
  };
  for (const [input, expected] of Object.entries(vectors)) {
    assert.equal(dataManagerFamilyName(input), expected, input);
  }
  assert.equal(dataManagerFamilyName(", Jr. "), undefined);
  assert.equal(dataManagerFamilyName(",Jr.,DDS "), undefined);
});

Deno.test("Data Manager identifiers hash to the formatter's hex digests", () => {
  for (const email of ["alexz@example.com", "  alexz@example.com", "  ALEXZ@example.com   "]) {
    const [id] = dataManagerIdentifiers(testEvent({ user_data: { email } }));
    assert.deepEqual(id, {
      emailAddress: "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a",
    });
  }
  for (const phone of ["+18005550100", "   +1-800-555-0100", "1-800-555-0100   "]) {
    const [id] = dataManagerIdentifiers(testEvent({ user_data: { phone } }));
    assert.deepEqual(id, {
      phoneNumber: "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30",
    });
  }
  const [address] = dataManagerIdentifiers(testEvent({
    user_data: {
      first_name: "  GivenName  ",
      last_name: "Familyname",
      country: " us",
      zip: " 1229-076  ",
    },
  }));
  assert.deepEqual(address, {
    address: {
      givenName: "128a07bfe2df877c52076e60d7774cf5baaa046c5a6c48daf30ff43ecca2f814",
      familyName: "77762c287e61ce065bee5c15464012c6fbe088398b8057627d5577249430d574",
      regionCode: "US",
      postalCode: "1229-076",
    },
  });
});

Deno.test("dataManagerIdentifiers() sends an address only with all four parts, and passes hashes through", () => {
  const partial = testEvent({
    user_data: { first_name: "Ada", last_name: "Lovelace", country: "GB" },
  });
  assert.deepEqual(dataManagerIdentifiers(partial), []);
  const named = testEvent({
    user_data: {
      first_name: "Ada",
      last_name: "Lovelace",
      country: "United Kingdom",
      zip: "W1 1AA",
    },
  });
  assert.deepEqual(dataManagerIdentifiers(named), [{
    address: {
      givenName: sha256Hex("ada"),
      familyName: sha256Hex("lovelace"),
      regionCode: "GB",
      postalCode: "W1 1AA",
    },
  }]);
  const hashed = "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3";
  assert.deepEqual(dataManagerIdentifiers(testEvent({ user_data: { email: hashed } })), [{
    emailAddress: hashed.toLowerCase(),
  }]);
});

Deno.test("settings take hyphenated customer ids, both conversion action forms, and refuse typos", () => {
  const parsed = settings({ login_customer_id: "111-222-3333" });
  assert.equal(parsed.customer_id, "1234567890");
  assert.equal(parsed.login_customer_id, "1112223333");
  assert.equal(parsed.api, "data_manager");
  assert.deepEqual(parsed.event_names, ["purchase"]);
  assert.deepEqual(googleAds.settings.parse(parsed), parsed, "parsing is idempotent");
  assert.equal(conversionActionId("987654321"), "987654321");
  assert.equal(conversionActionId("customers/1234567890/conversionActions/987654321"), "987654321");
  const bad = googleAds.settings.safeParse({ ...parsed, conversion_action: "Purchase" });
  assert.equal(bad.success, false);
  const legacy = googleAds.settings.safeParse({ ...parsed, api: "google_ads" });
  assert.equal(legacy.success, false);
  assert.match(JSON.stringify(legacy.error?.issues), /developer_token/);
  const short = googleAds.settings.safeParse({ ...parsed, customer_id: "12345" });
  assert.equal(short.success, false);
});

Deno.test("eventSourceOf() reads action_source, then the page and source", () => {
  assert.equal(eventSourceOf(testEvent({ action_source: "website" })), "WEB");
  assert.equal(eventSourceOf(testEvent({ action_source: "physical_store" })), "IN_STORE");
  assert.equal(eventSourceOf(testEvent({ action_source: "phone_call" })), "PHONE");
  assert.equal(eventSourceOf(testEvent({ action_source: "chat" })), "MESSAGE");
  assert.equal(eventSourceOf(testEvent({ action_source: "crm" })), "OTHER");
  assert.equal(eventSourceOf(testEvent({ page: { url: "https://shop.example/" } })), "WEB");
  assert.equal(eventSourceOf(testEvent({ dialect: "browser" })), "WEB");
  assert.equal(eventSourceOf(testEvent({ source: "app" })), "APP");
  assert.equal(eventSourceOf(testEvent()), "OTHER");
});

Deno.test("clickIdsOf() sends one click id: gclid (or _gcl_aw), else the braid for the source", () => {
  const user = (over: Record<string, unknown>) => testEvent({ user_data: over });
  assert.deepEqual(
    clickIdsOf(user({ click_ids: { gclid: "G1", gbraid: "B", wbraid: "W" } })),
    { gclid: "G1" },
  );
  assert.deepEqual(
    clickIdsOf(user({ browser_ids: { gcl_aw: "GCL.1749200000.Cj0KCQjw" } })),
    { gclid: "Cj0KCQjw" },
  );
  assert.deepEqual(clickIdsOf(user({ browser_ids: { gcl_aw: "garbage" } })), {});
  const both = { click_ids: { gbraid: "B", wbraid: "W" } };
  assert.deepEqual(clickIdsOf(testEvent({ source: "web", user_data: both })), { wbraid: "W" });
  assert.deepEqual(clickIdsOf(testEvent({ source: "app", user_data: both })), { gbraid: "B" });
  assert.deepEqual(clickIdsOf(user({ click_ids: { gbraid: "B" } })), { gbraid: "B" });
});

Deno.test("shareableIp() leaves out IPs of EEA, UK and Swiss users", () => {
  const ip = (country?: string) =>
    shareableIp(testEvent({ user_data: { client_ip: "192.0.2.1", country } }));
  assert.equal(ip("US"), "192.0.2.1");
  assert.equal(ip(undefined), "192.0.2.1");
  assert.equal(ip("DE"), undefined);
  assert.equal(ip("United Kingdom"), undefined);
  assert.equal(ip("ch"), undefined);
  assert.equal(ip("NO"), undefined);
});

Deno.test("googleAds.map() splits 2,001 events into requests of 2,000 and 1", () => {
  const events = Array.from(
    { length: 2001 },
    (_, i) => testEvent({ event_id: `e-${i}`, event_time: NOW - 60_000 }),
  );
  const { requests, skipped } = googleAds.map(events, settings(), { now: NOW, accessToken: "t" });
  assert.deepEqual(skipped, []);
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [2000, 1]);
  assert.equal(requests[1]!.eventIndexes[0], 2000);
});

Deno.test("googleAds.map() uses event_id as transactionId without an order id, and the token as Bearer", () => {
  const { requests } = googleAds.map([testEvent({ event_id: "evt-9" })], settings(), {
    now: NOW,
    accessToken: "ya29.abc",
  });
  const request = requests[0]!;
  assert.equal(request.headers.authorization, "Bearer ya29.abc");
  assert.equal(JSON.parse(request.body!).events[0].transactionId, "evt-9");
  assert.equal(JSON.parse(request.body!).validateOnly, undefined);
  const untokened = googleAds.map([testEvent()], settings(), { now: NOW }).requests[0]!;
  assert.equal(untokened.headers.authorization, undefined);
});

Deno.test("every Data Manager request body conforms to Google's IngestEventsRequest proto", () => {
  const fixtures = new URL("../tests/fixtures/google_ads/", import.meta.url);
  let checked = 0;
  for (const entry of Deno.readDirSync(fixtures)) {
    const fixture = JSON.parse(Deno.readTextFileSync(new URL(entry.name, fixtures)));
    for (const request of fixture.expected.requests) {
      if (!request.url.endsWith("/v1/events:ingest")) continue;
      assert.deepEqual(dataManagerProblems("IngestEventsRequest", request.body), [], entry.name);
      checked++;
    }
  }
  assert.ok(checked >= 2);
  const rich = testEvent({
    user_data: {
      email: "a@example.com",
      phone: "+16505551212",
      first_name: "A",
      last_name: "B",
      country: "US",
      zip: "94045",
      client_ip: "192.0.2.1",
      user_agent: "UA",
      click_ids: { gclid: "G" },
    },
    value: 1.5,
    currency: "USD",
    items: [{ id: "sku", quantity: 1.6, price: 2 }],
    consent: { ad_user_data: "granted", ad_personalization: "denied" },
  });
  const withCart = settings({ login_customer_id: "1112223333", merchant_id: "1" });
  const body = JSON.parse(
    googleAds.map([rich], withCart, { now: NOW, test: true }).requests[0]!.body!,
  );
  assert.deepEqual(dataManagerProblems("IngestEventsRequest", body), []);
});

Deno.test("the proto check itself refuses misspelt fields, unknown enum names and missing required ones", () => {
  const problems = dataManagerProblems("IngestEventsRequest", {
    destinations: [{ operatingAccount: { accountType: "GOOGLE_AD", accountId: "1" } }],
    events: [{ eventTimestamp: "2025-06-06 10:00", transactionID: "x", eventSource: "WEBSITE" }],
    encoding: "HEX",
  });
  assert.deepEqual(problems, [
    'destinations[0].operatingAccount.accountType: "GOOGLE_AD" is not a AccountType value',
    "destinations[0].productDestinationId: required by google.ads.datamanager.v1.Destination",
    'events[0].eventTimestamp: not an RFC 3339 timestamp ("2025-06-06 10:00")',
    "events[0].transactionID: no such field in google.ads.datamanager.v1.Event",
    'events[0].eventSource: "WEBSITE" is not a EventSource value',
  ]);
});

Deno.test("googleAds.authorize exchanges the refresh token at token_endpoint", () => {
  const request = googleAds.authorize.request(
    settings({ token_endpoint: "https://auth.test/token" }),
  );
  assert.ok(request);
  assert.equal(request.method, "POST");
  assert.equal(request.url, "https://auth.test/token");
  assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), {
    grant_type: "refresh_token",
    client_id: "client.apps.googleusercontent.com",
    client_secret: "GOCSPX-secret",
    refresh_token: "1//refresh",
  });
});

Deno.test("readTokenAnswer() reads grants, refused grants and outages", () => {
  assert.deepEqual(
    readTokenAnswer(answer(200, {
      access_token: "ya29.a0",
      expires_in: 3599,
      scope: "https://www.googleapis.com/auth/datamanager",
      token_type: "Bearer",
    })),
    { accessToken: "ya29.a0", expiresInMs: 3_599_000 },
  );
  const revoked = readTokenAnswer(answer(400, {
    error: "invalid_grant",
    error_description: "Token has been expired or revoked.",
  }));
  assert.deepEqual(revoked, {
    kind: "auth_failed",
    reason: "Google OAuth token endpoint: invalid_grant (Token has been expired or revoked.)",
  });
  const client = readTokenAnswer(
    answer(401, { error: "invalid_client", error_description: "Unauthorized" }),
  );
  assert.equal("kind" in client && client.kind, "auth_failed");
  const outage = readTokenAnswer(answer(503, "", { "retry-after": "3" }));
  assert.deepEqual(outage, {
    kind: "retry",
    reason: "Google OAuth token endpoint: HTTP 503: ",
    afterMs: 3000,
  });
  const empty = readTokenAnswer(answer(200, {}));
  assert.equal("kind" in empty && empty.kind, "failed");
});

const DM_REQUEST_ID = "t-a8896317-069f-4198-afed-182a3872a660";

function dmError(
  code: number,
  status: string,
  reason: string,
  violations: { field: string; description: string; reason: string }[] = [],
) {
  return {
    error: {
      code,
      message: "There was a problem with the request.",
      status,
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason,
          domain: "datamanager.googleapis.com",
          metadata: { requestId: DM_REQUEST_ID },
        },
        { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: DM_REQUEST_ID },
        ...(violations.length
          ? [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: violations }]
          : []),
      ],
    },
  };
}

Deno.test("classify() takes Data Manager's requestId as accepted, to be followed up", () => {
  const request = sent(3);
  const result = googleAds.classify(
    answer(200, { requestId: "126365e1-16d0-4c81-9de9-f362711e250a" }),
    request,
  );
  assert.deepEqual(result, {
    outcome: {
      kind: "accepted",
      token: "126365e1-16d0-4c81-9de9-f362711e250a",
      detail: "requestId=126365e1-16d0-4c81-9de9-f362711e250a",
    },
  });
  const validated = { ...request, body: '{"events":[],"encoding":"HEX","validateOnly":true}' };
  assert.deepEqual(googleAds.classify(answer(200, {}), validated).outcome, {
    kind: "delivered",
    detail: "validated only (validateOnly)",
  });
});

Deno.test("classify() fails the events fieldViolations name and retries their neighbours", () => {
  const body = dmError(400, "INVALID_ARGUMENT", "INVALID_HEX_ENCODING", [{
    field: "events.events[1].user_data.user_identifiers[0]",
    description: "Email is not hex encoded.",
    reason: "INVALID_HEX_ENCODING",
  }, {
    field: "events[7].event_timestamp",
    description: "Out of range.",
    reason: "EVENT_TIME_INVALID",
  }]);
  const result = classifyIngest(answer(400, body), sent(3));
  assert.equal(result.outcome.kind, "retry");
  assert.deepEqual(kinds(result.events, 3, result.outcome), ["retry", "failed", "retry"]);
  assert.deepEqual(result.events?.[1], {
    kind: "failed",
    reason: "Google Data Manager refused this event: INVALID_HEX_ENCODING " +
      "events.events[1].user_data.user_identifiers[0] Email is not hex encoded. " +
      `(requestId ${DM_REQUEST_ID})`,
  });
});

Deno.test("violationsByEvent() reads the index out of every path form, and skips others", () => {
  const byEvent = violationsByEvent([
    { field: "events[0].userData", reason: "INVALID_FORMAT" },
    { field: "events.events[2].transaction_id", description: "too long" },
    { field: "events[0].currency", reason: "INVALID_CURRENCY_CODE" },
    { field: "destinations[0].login_account.account_id", reason: "INVALID_DESTINATION" },
    { field: "encoding" },
  ]);
  assert.deepEqual([...byEvent.keys()], [0, 2]);
  assert.equal(byEvent.get(0)?.length, 2);
});

Deno.test("classify() fails a request-level 400 as a whole, with a set-up hint", () => {
  const body = dmError(400, "INVALID_ARGUMENT", "INVALID_CONVERSION_ACTION_ID", [{
    field: "destinations[0].product_destination_id",
    description: "Conversion action not found.",
    reason: "INVALID_CONVERSION_ACTION_ID",
  }]);
  const result = classifyIngest(answer(400, body), sent(2));
  assert.deepEqual(result, {
    outcome: {
      kind: "failed",
      reason: "Google Data Manager INVALID_ARGUMENT INVALID_CONVERSION_ACTION_ID: There was a " +
        `problem with the request. (requestId ${DM_REQUEST_ID}) (check conversion_action)`,
    },
  });
});

Deno.test("classify() refuses credentials on 401/403 and retries throttling and outages", () => {
  const unauthenticated = classifyIngest(
    answer(401, dmError(401, "UNAUTHENTICATED", "ACCESS_TOKEN_EXPIRED")),
    sent(1),
  );
  assert.equal(unauthenticated.outcome.kind, "auth_failed");
  const disabled = classifyIngest(
    answer(403, dmError(403, "PERMISSION_DENIED", "SERVICE_DISABLED")),
    sent(1),
  );
  assert.deepEqual(disabled.outcome, {
    kind: "auth_failed",
    reason: "Google Data Manager PERMISSION_DENIED SERVICE_DISABLED: There was a problem with " +
      `the request. (requestId ${DM_REQUEST_ID})`,
  });
  const throttled = classifyIngest(
    answer(429, dmError(429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"), { "retry-after": "30" }),
    sent(1),
  );
  assert.deepEqual(
    [throttled.outcome.kind, throttled.outcome.kind === "retry" && throttled.outcome.afterMs],
    ["retry", 30_000],
  );
  assert.equal(classifyIngest(answer(503, "unavailable"), sent(1)).outcome.kind, "retry");
  assert.equal(
    classifyIngest(answer(400, dmError(400, "UNAVAILABLE", "INTERNAL_ERROR")), sent(1)).outcome
      .kind,
    "retry",
  );
  assert.equal(classifyIngest(answer(404, "<html>"), sent(1)).outcome.kind, "failed");
});

function statusBody(state: string, extra: Record<string, unknown> = {}) {
  return {
    requestStatusPerDestination: [{
      destination: {
        operatingAccount: { accountType: "GOOGLE_ADS", accountId: "1234567890" },
        productDestinationId: "987654321",
      },
      requestStatus: state,
      eventsIngestionStatus: { recordCount: "3" },
      ...extra,
    }],
  };
}

Deno.test("followUp.classify() settles SUCCESS, FAILURE and PARTIAL_SUCCESS, and waits on PROCESSING", () => {
  assert.deepEqual(classifyRequestStatus(answer(200, statusBody("SUCCESS"))).outcome, {
    kind: "delivered",
    detail: "processed: SUCCESS",
  });
  const errorInfo = {
    errorInfo: {
      errorCounts: [{ recordCount: "3", reason: "PROCESSING_ERROR_REASON_INVALID_GCLID" }],
    },
  };
  for (const failure of ["FAILURE", "FAILED"]) {
    assert.deepEqual(classifyRequestStatus(answer(200, statusBody(failure, errorInfo))).outcome, {
      kind: "failed",
      reason: "Google Data Manager failed to process the request: " +
        "PROCESSING_ERROR_REASON_INVALID_GCLID × 3",
    });
  }
  const partial = classifyRequestStatus(answer(
    200,
    statusBody("PARTIAL_SUCCESS", {
      errorInfo: {
        errorCounts: [{
          recordCount: "1",
          reason: "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID",
        }],
      },
      warningInfo: {
        warningCounts: [{ recordCount: "2", reason: "PROCESSING_WARNING_REASON_INTERNAL_ERROR" }],
      },
    }),
  ));
  assert.deepEqual(partial.outcome, {
    kind: "delivered",
    detail: "processed: PARTIAL_SUCCESS, some of the request's 3 records failed " +
      "(PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID × 1), Google does not say which; " +
      "warnings: PROCESSING_WARNING_REASON_INTERNAL_ERROR × 2",
  });
  assert.equal(
    classifyRequestStatus(answer(200, statusBody("PROCESSING"))).outcome.kind,
    "accepted",
  );
  assert.equal(classifyRequestStatus(answer(500, "")).outcome.kind, "retry");
  assert.equal(classifyRequestStatus(answer(200, {})).outcome.kind, "retry");
  assert.equal(classifyRequestStatus(answer(200, "not json")).outcome.kind, "retry");
});

Deno.test("followUp.request() asks requestStatus:retrieve with the token", () => {
  const request = googleAds.followUp.request("req/1", settings({ endpoint: "https://dm.test/" }), {
    now: NOW,
    accessToken: "ya29.x",
  });
  assert.deepEqual(request, {
    method: "GET",
    url: "https://dm.test/v1/requestStatus:retrieve?requestId=req%2F1",
    headers: { authorization: "Bearer ya29.x" },
    eventIndexes: [],
  });
  assert.equal(googleAds.followUp.firstCheckAfterMs, 30 * 60_000);
  assert.equal(googleAds.followUp.giveUpAfterMs, 48 * 3_600_000);
});

const LEGACY_URL =
  "https://googleads.googleapis.com/v26/customers/1234567890:uploadClickConversions";

function adsFailure(
  errors: { family: string; code: string; index?: number; message: string }[],
) {
  return {
    "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
    errors: errors.map((e) => ({
      errorCode: { [e.family]: e.code },
      message: e.message,
      ...(e.index === undefined ? {} : {
        location: {
          fieldPathElements: [{ fieldName: "conversions", index: e.index }, { fieldName: "gclid" }],
        },
      }),
    })),
    requestId: "gAdsReq1",
  };
}

Deno.test("classify() reads uploadClickConversions' partialFailureError per row", () => {
  const body = {
    partialFailureError: {
      code: 3,
      message: "The imported gclid could not be decoded., at conversions[0].gclid",
      details: [adsFailure([
        {
          family: "conversionUploadError",
          code: "UNPARSEABLE_GCLID",
          index: 0,
          message: "The imported gclid could not be decoded.",
        },
        {
          family: "conversionUploadError",
          code: "CLICK_CONVERSION_ALREADY_EXISTS",
          index: 1,
          message: "already exists",
        },
        {
          family: "conversionUploadError",
          code: "TOO_RECENT_EVENT",
          index: 2,
          message: "too recent",
        },
        {
          family: "conversionUploadError",
          code: "CLICK_NOT_FOUND",
          index: 4,
          message: "not found",
        },
      ])],
    },
    results: [{}, {}, {}, { gclid: "G4", conversionAction: "customers/1/conversionActions/2" }, {}],
    jobId: "9871",
  };
  const result = classifyUpload(answer(200, body), sent(5, LEGACY_URL));
  assert.deepEqual(result.outcome, { kind: "delivered", detail: "jobId=9871" });
  assert.deepEqual(kinds(result.events, 5, result.outcome), [
    "failed",
    "delivered",
    "retry",
    "delivered",
    "delivered",
  ]);
  assert.deepEqual(result.events?.[0], {
    kind: "failed",
    reason:
      "Google Ads UNPARSEABLE_GCLID: The imported gclid could not be decoded. (requestId gAdsReq1)",
  });
  assert.deepEqual(result.events?.[2], {
    kind: "retry",
    reason: "Google Ads TOO_RECENT_EVENT: too recent (requestId gAdsReq1)",
    afterMs: 6 * 3_600_000,
  });
  assert.match(
    (result.events?.[4] as { detail?: string } | undefined)?.detail ?? "",
    /^CLICK_NOT_FOUND: /,
  );
});

Deno.test("classify() tells a non-allowlisted developer token to switch to data_manager", () => {
  const body = {
    error: {
      code: 403,
      message: "The caller does not have permission",
      status: "PERMISSION_DENIED",
      details: [adsFailure([{
        family: "notAllowlistedError",
        code: "CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE",
        message: "Customer is not allowlisted for accessing this feature.",
      }])],
    },
  };
  const outcome = googleAds.classify(answer(403, body), sent(2, LEGACY_URL)).outcome;
  assert.equal(outcome.kind, "failed");
  assert.match(
    outcome.kind === "failed" ? outcome.reason : "",
    /CUSTOMER_NOT_ALLOWLISTED_FOR_THIS_FEATURE.*set this destination's api to "data_manager"/,
  );
});

Deno.test("classify() maps legacy request errors: auth, quota, invalid", () => {
  const envelope = (code: number, status: string, family: string, error: string) => ({
    error: {
      code,
      message: "failed",
      status,
      details: [adsFailure([{ family, code: error, message: error }])],
    },
  });
  const auth = googleAds.classify(
    answer(401, envelope(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_EXPIRED")),
    sent(1, LEGACY_URL),
  );
  assert.equal(auth.outcome.kind, "auth_failed");
  const denied = googleAds.classify(
    answer(403, envelope(403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED")),
    sent(1, LEGACY_URL),
  );
  assert.equal(denied.outcome.kind, "auth_failed");
  const quota = googleAds.classify(
    answer(429, envelope(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED"), {
      "retry-after": "60",
    }),
    sent(1, LEGACY_URL),
  );
  assert.deepEqual(quota.outcome.kind === "retry" && quota.outcome.afterMs, 60_000);
  const invalid = googleAds.classify(
    answer(400, envelope(400, "INVALID_ARGUMENT", "requestError", "INVALID_INPUT")),
    sent(1, LEGACY_URL),
  );
  assert.deepEqual(invalid.outcome, {
    kind: "failed",
    reason: "Google Ads INVALID_INPUT: INVALID_INPUT (requestId gAdsReq1)",
  });
});

Deno.test("classify() settles the whole upload by a partial failure that names no row", () => {
  const body = {
    partialFailureError: {
      code: 8,
      message: "Too many requests.",
      details: [adsFailure([{
        family: "quotaError",
        code: "RESOURCE_TEMPORARILY_EXHAUSTED",
        message: "Too many requests.",
      }])],
    },
    results: [],
  };
  const result = classifyUpload(answer(200, body), sent(2, LEGACY_URL));
  assert.deepEqual(result, {
    outcome: {
      kind: "retry",
      reason: "Google Ads RESOURCE_TEMPORARILY_EXHAUSTED: Too many requests. (requestId gAdsReq1)",
    },
  });
});

Deno.test("conversionDateTime() writes UTC with the offset Google requires", () => {
  assert.equal(
    conversionDateTime(Date.parse("2026-01-01T12:32:45.678Z")),
    "2026-01-01 12:32:45+00:00",
  );
});

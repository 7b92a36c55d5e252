/**
 * Google Ads end to end: a loopback mock of Google's OAuth token endpoint, Data Manager
 * (`events:ingest`, `requestStatus:retrieve`) and the Google Ads API's
 * `uploadClickConversions`, driven through the HTTP API.
 */
import assert from "node:assert/strict";
import { dataManagerProblems } from "./_google_ads_proto.ts";
import { sha256Hex } from "../core/digest.ts";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import {
  connectPlatform,
  deliveriesOf,
  deliveriesWhen,
  DELIVERY_ENV,
  ingestEvents,
  platformOf,
  settledDelivery,
} from "./_delivery.ts";
import { storedEvent } from "./_http.ts";
import { bearerToken, mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";
import { pause } from "./_wait.ts";

/** What the tests read of the JSON bodies Google receives (events:ingest, uploadClickConversions). */
interface GoogleBody {
  events?: { transactionId: string }[];
  conversions?: { orderId: string }[];
  destinations?: unknown;
  partialFailure?: boolean;
  [field: string]: unknown;
}

/** A scripted answer for the nth request of one kind (1-based), or undefined for the default. */
type Script = (n: number, body: GoogleBody) => Response | undefined;

/** A Google double: issues `ya29.token-<n>` and takes only the tokens in `valid`. */
interface MockGoogle extends AsyncDisposable {
  url: string;
  received: ReceivedRequest<GoogleBody>[];
  /** Access tokens the mock accepts; the rest get 401. */
  valid: Set<string>;
  tokensIssued: number;
  /** The requestStatus the follow-up check is answered with. */
  status: string;
}

/** Google's error envelope (google.rpc.Status with ErrorInfo, RequestInfo and BadRequest details). */
function googleError(
  code: number,
  status: string,
  reason: string,
  violations: { field: string; description: string; reason: string }[] = [],
  headers: HeadersInit = {},
): Response {
  return Response.json({
    error: {
      code,
      message: `Request failed: ${reason}`,
      status,
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason,
          domain: "datamanager.googleapis.com",
        },
        { "@type": "type.googleapis.com/google.rpc.RequestInfo", requestId: "t-req-err" },
        ...(violations.length
          ? [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: violations }]
          : []),
      ],
    },
  }, { status: code, headers });
}

function mockGoogle(
  scripts: { token?: Script; ingest?: Script; upload?: Script } = {},
): MockGoogle {
  const counts = { token: 0, ingest: 0, upload: 0 };
  const google = {
    valid: new Set<string>(),
    tokensIssued: 0,
    status: "PROCESSING",
  };
  const mock = mockPlatform<GoogleBody>((_, request) => {
    const path = new URL(request.path, "http://google.test").pathname;
    const body = request.json ?? {};
    if (path === "/token") {
      const scripted = scripts.token?.(++counts.token, body);
      if (scripted) return scripted;
      const token = `ya29.token-${++google.tokensIssued}`;
      google.valid.add(token);
      return Response.json({ access_token: token, expires_in: 3599, token_type: "Bearer" });
    }
    if (!google.valid.has(bearerToken(request) ?? "")) {
      return googleError(401, "UNAUTHENTICATED", "ACCESS_TOKEN_EXPIRED");
    }
    if (path === "/v1/events:ingest") {
      const n = ++counts.ingest;
      return scripts.ingest?.(n, body) ?? Response.json({ requestId: `req-${n}` });
    }
    if (path === "/v1/requestStatus:retrieve") {
      return Response.json({
        requestStatusPerDestination: [{
          destination: body.destinations,
          requestStatus: google.status,
          eventsIngestionStatus: { recordCount: "1" },
        }],
      });
    }
    if (path.endsWith(":uploadClickConversions")) {
      const n = ++counts.upload;
      return scripts.upload?.(n, body) ?? Response.json({ results: [{}], jobId: `${n}` });
    }
    return new Response("not found", { status: 404 });
  });
  return Object.assign(google, {
    url: mock.url,
    received: mock.received,
    [Symbol.asyncDispose]: () => mock.close(),
  });
}

const CONFIG = {
  customer_id: "123-456-7890",
  conversion_action: "987654321",
  client_id: "1234-abc.apps.googleusercontent.com",
  client_secret: "GOCSPX-client-secret",
  refresh_token: "1//0refresh-token",
};

/** Connects Google Ads to `mock`; the answer shows the customer id without its hyphens. */
async function connectGoogleAds(
  s: TestSluice,
  mock: MockGoogle,
  extra: { name?: string; config?: Record<string, unknown> } = {},
): Promise<string> {
  const id = await connectPlatform(s, {
    type: "google_ads",
    name: extra.name ?? "Google Ads",
    config: { ...CONFIG, token_endpoint: `${mock.url}/token`, endpoint: mock.url, ...extra.config },
  });
  assert.equal((await platformOf(s, id)).config.customer_id, "1234567890");
  return id;
}

/** A minute ago, in the unix seconds events are posted with. */
const EVENT_TIME = Math.floor(Date.now() / 1000) - 60;
const EVENT_ISO = new Date(EVENT_TIME * 1000).toISOString();

function purchase(eventId: string, over: Record<string, unknown> = {}) {
  return {
    event_id: eventId,
    event_name: "purchase",
    event_time: EVENT_TIME,
    order_id: eventId,
    value: 49.9,
    currency: "EUR",
    action_source: "website",
    page: { url: "https://shop.example/thanks" },
    user_data: {
      email: "Jo.Smith+shop@gmail.com",
      client_ip: "203.0.113.9",
      user_agent: "Mozilla/5.0",
      click_ids: { gclid: "Cj0KCQjw-gclid" },
    },
    consent: { ad_user_data: "granted", ad_personalization: "denied" },
    ...over,
  };
}

function ingests(mock: MockGoogle): ReceivedRequest<GoogleBody>[] {
  return mock.received.filter((r) => r.path === "/v1/events:ingest");
}

function transactionIds(request: ReceivedRequest<GoogleBody>): string[] {
  return (request.json?.events ?? []).map((e) => e.transactionId);
}

/** Method, path and Bearer of each request, in order. */
function calls(mock: MockGoogle): string[] {
  return mock.received.map((r) => `${r.method} ${r.path} ${r.headers.get("authorization") ?? "-"}`);
}

Deno.test("google_ads: OAuth refresh, the exact events:ingest request, accepted then settled by the follow-up check", async () => {
  await using mock = mockGoogle();
  await using s = await openTestSluice(DELIVERY_ENV);
  const destinationId = await connectGoogleAds(s, mock, {
    config: { login_customer_id: "111-222-3333" },
  });
  await ingestEvents(s, [purchase("order-1")]);
  const accepted = await settledDelivery(s, "order-1", "accepted");
  assert.equal(accepted.detail, "requestId=req-1");
  assert.equal(accepted.last_status, 200);

  const [token, ingest] = mock.received;
  assert.equal(token?.method, "POST");
  assert.equal(token?.path, "/token");
  assert.equal(token?.headers.get("content-type"), "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(token?.text)), {
    grant_type: "refresh_token",
    client_id: CONFIG.client_id,
    client_secret: CONFIG.client_secret,
    refresh_token: CONFIG.refresh_token,
  });
  assert.equal(ingest?.method, "POST");
  assert.equal(ingest?.headers.get("authorization"), "Bearer ya29.token-1");
  assert.equal(ingest?.headers.get("content-type"), "application/json");
  assert.equal(
    ingest?.headers.has("developer-token"),
    false,
    "Data Manager takes no developer token",
  );
  assert.equal(
    ingest?.headers.has("login-customer-id"),
    false,
    "the manager travels in destinations[]",
  );
  assert.deepEqual(ingest?.json, {
    destinations: [{
      operatingAccount: { accountType: "GOOGLE_ADS", accountId: "1234567890" },
      loginAccount: { accountType: "GOOGLE_ADS", accountId: "1112223333" },
      productDestinationId: "987654321",
    }],
    events: [{
      transactionId: "order-1",
      eventTimestamp: EVENT_ISO,
      eventSource: "WEB",
      adIdentifiers: { gclid: "Cj0KCQjw-gclid" },
      userData: { userIdentifiers: [{ emailAddress: sha256Hex("josmith@gmail.com") }] },
      consent: { adUserData: "CONSENT_GRANTED", adPersonalization: "CONSENT_DENIED" },
      conversionValue: 49.9,
      currency: "EUR",
      eventDeviceInfo: { userAgent: "Mozilla/5.0", ipAddress: "203.0.113.9" },
    }],
    encoding: "HEX",
  });
  assert.deepEqual(dataManagerProblems("IngestEventsRequest", ingest?.json), []);

  // The engine queued a check for in 30 minutes; run it now, as the queue would then,
  // with the storage id and the requestId the API shows.
  const event = await storedEvent(s, "order-1");
  const check = {
    type: "check" as const,
    workspace_id: s.workspace.id,
    destination_id: destinationId,
    ids: [event.id],
    token: accepted.detail!.replace("requestId=", ""),
    accepted_at: Date.now(),
    check: 1,
  };
  await s.rt.engine.check(check);
  assert.equal((await deliveriesOf(s, "order-1"))[0]?.status, "accepted");
  mock.status = "SUCCESS";
  await s.rt.engine.check({ ...check, check: 2 });
  const [delivered] = await deliveriesOf(s, "order-1");
  assert.equal(delivered?.status, "delivered");
  assert.equal(delivered?.detail, "processed: SUCCESS");
  assert.deepEqual(calls(mock), [
    "POST /token -",
    "POST /v1/events:ingest Bearer ya29.token-1",
    "GET /v1/requestStatus:retrieve?requestId=req-1 Bearer ya29.token-1",
    "GET /v1/requestStatus:retrieve?requestId=req-1 Bearer ya29.token-1",
  ]);
});

Deno.test("google_ads: the token is reused across batches, and a 401 refreshes it once", async () => {
  await using mock = mockGoogle();
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectGoogleAds(s, mock);
  await ingestEvents(s, [purchase("batch-1")]);
  await settledDelivery(s, "batch-1", "accepted");
  await ingestEvents(s, [purchase("batch-2")]);
  await settledDelivery(s, "batch-2", "accepted");
  assert.equal(mock.tokensIssued, 1);
  mock.valid.clear(); // Google revokes the access token
  await ingestEvents(s, [purchase("batch-3")]);
  const third = await settledDelivery(s, "batch-3", "accepted");
  assert.equal(third.attempts, 1);
  assert.equal(mock.tokensIssued, 2);
  assert.deepEqual(calls(mock), [
    "POST /token -",
    "POST /v1/events:ingest Bearer ya29.token-1",
    "POST /v1/events:ingest Bearer ya29.token-1",
    "POST /v1/events:ingest Bearer ya29.token-1",
    "POST /token -",
    "POST /v1/events:ingest Bearer ya29.token-2",
  ]);
  assert.deepEqual(ingests(mock).map(transactionIds), [
    ["batch-1"],
    ["batch-2"],
    ["batch-3"],
    ["batch-3"],
  ]);
});

Deno.test("google_ads: fieldViolations fail one event alone; its neighbours are sent again and accepted", async () => {
  await using mock = mockGoogle({
    ingest: (_n, body) => {
      const ids = (body.events ?? []).map((e) => e.transactionId);
      const bad = ids.indexOf("bad-order");
      return bad < 0 ? undefined : googleError(400, "INVALID_ARGUMENT", "INVALID_FORMAT", [{
        field: `events[${bad}].user_data.user_identifiers[0].phone_number`,
        description: "The phone number is not in E.164 format.",
        reason: "INVALID_FORMAT",
      }]);
    },
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectGoogleAds(s, mock);
  await ingestEvents(s, [purchase("good-1"), purchase("bad-order"), purchase("good-2")]);
  const good1 = await settledDelivery(s, "good-1", "accepted");
  const good2 = await settledDelivery(s, "good-2", "accepted");
  const bad = await settledDelivery(s, "bad-order", "failed");
  assert.equal(bad.last_status, 400);
  assert.equal(
    bad.last_error,
    "Google Data Manager refused this event: INVALID_FORMAT " +
      "events[1].user_data.user_identifiers[0].phone_number " +
      "The phone number is not in E.164 format. (requestId t-req-err)",
  );
  assert.deepEqual([good1.attempts, good2.attempts, bad.attempts], [2, 2, 1]);
  assert.deepEqual(ingests(mock).map(transactionIds), [
    ["good-1", "bad-order", "good-2"],
    ["good-1", "good-2"],
  ]);
  await pause(400);
  assert.equal(ingests(mock).length, 2, "nothing is sent after that");
});

Deno.test("google_ads: a 429 RESOURCE_EXHAUSTED is retried, then the batch is accepted", async () => {
  await using mock = mockGoogle({
    ingest: (n) =>
      n === 1
        ? googleError(429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", [], { "retry-after": "0" })
        : undefined,
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectGoogleAds(s, mock);
  await ingestEvents(s, [purchase("order-429")]);
  const row = await settledDelivery(s, "order-429", "accepted");
  assert.equal(row.attempts, 2);
  assert.equal(row.detail, "requestId=req-2");
  assert.equal(ingests(mock).length, 2);
  assert.equal(mock.tokensIssued, 1, "a throttled request keeps its token");
});

Deno.test("google_ads: refused credentials pause the destination (invalid_grant, PERMISSION_DENIED)", async () => {
  await using revoked = mockGoogle({
    token: () =>
      Response.json({
        error: "invalid_grant",
        error_description: "Token has been expired or revoked.",
      }, { status: 400 }),
  });
  await using denied = mockGoogle({
    ingest: () => googleError(403, "PERMISSION_DENIED", "PERMISSION_DENIED"),
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  const revokedId = await connectGoogleAds(s, revoked, { name: "Revoked" });
  const deniedId = await connectGoogleAds(s, denied, { name: "Denied" });
  await ingestEvents(s, [purchase("order-auth")]);
  const rows = await deliveriesWhen(
    s,
    "order-auth",
    (all) => all.length === 2 && all.every((r) => r.status === "failed"),
  );
  const byId = new Map(rows.map((r) => [r.platform_id, r]));
  assert.equal(
    byId.get(revokedId)?.last_error,
    "Google OAuth token endpoint: invalid_grant (Token has been expired or revoked.)",
  );
  assert.equal(
    byId.get(deniedId)?.last_error,
    "Google Data Manager PERMISSION_DENIED: Request failed: PERMISSION_DENIED " +
      "(requestId t-req-err)",
  );
  assert.equal(ingests(revoked).length, 0);
  assert.equal(ingests(denied).length, 1, "a fresh token refused is not refreshed again");
  for (const id of [revokedId, deniedId]) {
    assert.equal((await platformOf(s, id)).health.status, "unhealthy");
  }
  await ingestEvents(s, [purchase("order-after")]);
  const paused = await deliveriesWhen(
    s,
    "order-after",
    (all) => all.length === 2 && all.every((r) => r.status === "skipped"),
  );
  assert.ok(paused.every((r) => /paused/.test(r.last_error ?? "")), JSON.stringify(paused));
  assert.equal(ingests(denied).length, 1);
});

Deno.test("google_ads (api google_ads): uploadClickConversions headers and per-row partial failure", async () => {
  await using mock = mockGoogle({
    upload: (_n, body) => {
      const orders = (body.conversions ?? []).map((c) => c.orderId);
      const error = (index: number, code: string, message: string) => ({
        errorCode: { conversionUploadError: code },
        message,
        location: { fieldPathElements: [{ fieldName: "conversions", index }] },
      });
      return Response.json({
        partialFailureError: {
          code: 3,
          message: "Multiple errors in ‘details’.",
          details: [{
            "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
            errors: [
              error(
                orders.indexOf("legacy-bad"),
                "UNPARSEABLE_GCLID",
                "The imported gclid could not be decoded.",
              ),
              error(orders.indexOf("legacy-organic"), "CLICK_NOT_FOUND", "No click matches."),
            ],
            requestId: "ads-req-1",
          }],
        },
        results: orders.map((o) => o === "legacy-ok" ? { gclid: "Cj0KCQjw-gclid" } : {}),
        jobId: "4242",
      });
    },
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectGoogleAds(s, mock, {
    config: {
      api: "google_ads",
      developer_token: "dev-token-123",
      login_customer_id: "111-222-3333",
    },
  });
  await ingestEvents(s, [
    purchase("legacy-ok"),
    purchase("legacy-bad"),
    purchase("legacy-organic"),
  ]);
  const ok = await settledDelivery(s, "legacy-ok", "delivered");
  const bad = await settledDelivery(s, "legacy-bad", "failed");
  const organic = await settledDelivery(s, "legacy-organic", "delivered");
  assert.equal(ok.detail, "jobId=4242");
  assert.equal(
    bad.last_error,
    "Google Ads UNPARSEABLE_GCLID: The imported gclid could not be decoded. (requestId ads-req-1)",
  );
  assert.match(organic.detail ?? "", /^CLICK_NOT_FOUND: /);
  const uploads = mock.received.filter((r) => r.path.endsWith(":uploadClickConversions"));
  assert.equal(uploads.length, 1);
  const [upload] = uploads;
  assert.equal(upload?.path, "/v26/customers/1234567890:uploadClickConversions");
  assert.equal(upload?.headers.get("authorization"), "Bearer ya29.token-1");
  assert.equal(upload?.headers.get("developer-token"), "dev-token-123");
  assert.equal(upload?.headers.get("login-customer-id"), "1112223333");
  assert.equal(upload?.json?.partialFailure, true);
  const [first] = upload?.json?.conversions ?? [];
  assert.deepEqual(first, {
    gclid: "Cj0KCQjw-gclid",
    conversionAction: "customers/1234567890/conversionActions/987654321",
    conversionDateTime: `${EVENT_ISO.slice(0, 19).replace("T", " ")}+00:00`,
    conversionValue: 49.9,
    currencyCode: "EUR",
    orderId: "legacy-ok",
    userIdentifiers: [{
      userIdentifierSource: "FIRST_PARTY",
      hashedEmail: sha256Hex("josmith+shop@gmail.com"),
    }],
    consent: { adUserData: "GRANTED", adPersonalization: "DENIED" },
    conversionEnvironment: "WEB",
  });
});

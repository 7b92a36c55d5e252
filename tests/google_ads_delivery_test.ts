/**
 * Google Ads end to end: a loopback mock of Google's OAuth token endpoint, Data Manager
 * (`events:ingest`, `requestStatus:retrieve`) and the Google Ads API's
 * `uploadClickConversions`, driven through the HTTP API.
 */
import assert from "node:assert/strict";
import { dataManagerProblems } from "../connectors/_google_ads_proto.ts";
import { sha256Hex } from "../core/digest.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { eventually, pause } from "./_wait.ts";

/** One request the mock received. */
interface Received {
  method: string;
  path: string;
  authorization?: string;
  developerToken?: string;
  loginCustomerId?: string;
  contentType?: string;
  /** Parsed JSON, or the form fields of a token request. */
  body: Record<string, unknown>;
}

/** A scripted answer for the nth request of one kind (1-based), or undefined for the default. */
type Script = (n: number, body: Record<string, unknown>) => Response | undefined;

interface MockGoogle {
  url: string;
  received: Received[];
  /** Access tokens the mock accepts; the rest get 401. */
  valid: Set<string>;
  tokensIssued: number;
  status: string;
  close(): Promise<void>;
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
  const mock = {
    received: [] as Received[],
    valid: new Set<string>(),
    tokensIssued: 0,
    status: "PROCESSING",
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    const form = req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded");
    const body = form
      ? Object.fromEntries(new URLSearchParams(text))
      : text
      ? JSON.parse(text)
      : {};
    const authorization = req.headers.get("authorization") ?? undefined;
    mock.received.push({
      method: req.method,
      path: url.pathname + url.search,
      authorization,
      developerToken: req.headers.get("developer-token") ?? undefined,
      loginCustomerId: req.headers.get("login-customer-id") ?? undefined,
      contentType: req.headers.get("content-type") ?? undefined,
      body,
    });
    if (url.pathname === "/token") {
      const scripted = scripts.token?.(++counts.token, body);
      if (scripted) return scripted;
      const token = `ya29.token-${++mock.tokensIssued}`;
      mock.valid.add(token);
      return Response.json({ access_token: token, expires_in: 3599, token_type: "Bearer" });
    }
    if (!mock.valid.has(authorization?.replace(/^Bearer /, "") ?? "")) {
      return googleError(401, "UNAUTHENTICATED", "ACCESS_TOKEN_EXPIRED");
    }
    if (url.pathname === "/v1/events:ingest") {
      const n = ++counts.ingest;
      return scripts.ingest?.(n, body) ?? Response.json({ requestId: `req-${n}` });
    }
    if (url.pathname === "/v1/requestStatus:retrieve") {
      return Response.json({
        requestStatusPerDestination: [{
          destination: body.destinations,
          requestStatus: mock.status,
          eventsIngestionStatus: { recordCount: "1" },
        }],
      });
    }
    if (url.pathname.endsWith(":uploadClickConversions")) {
      const n = ++counts.upload;
      return scripts.upload?.(n, body) ?? Response.json({ results: [{}], jobId: `${n}` });
    }
    return new Response("not found", { status: 404 });
  });
  return Object.assign(mock, {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
    },
  });
}

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "1s",
};

const CONFIG = {
  customer_id: "123-456-7890",
  conversion_action: "987654321",
  client_id: "1234-abc.apps.googleusercontent.com",
  client_secret: "GOCSPX-client-secret",
  refresh_token: "1//0refresh-token",
};

async function connectGoogleAds(
  s: TestSluice,
  mock: MockGoogle,
  config: Record<string, unknown> = {},
  name = "Google Ads",
): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "google_ads",
      name,
      config: { ...CONFIG, token_endpoint: `${mock.url}/token`, endpoint: mock.url, ...config },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.client_secret, "********");
  assert.equal(body.config.refresh_token, "********");
  assert.equal(body.config.customer_id, "1234567890");
  return body.id;
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

async function send(s: TestSluice, events: Record<string, unknown>[]): Promise<void> {
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202, await res.clone().text());
  const body = await res.json();
  assert.equal(body.accepted, events.length, JSON.stringify(body));
}

interface DeliveryJson {
  platform_id: string;
  status: string;
  attempts: number;
  last_status?: number;
  last_error?: string;
  detail?: string;
}

async function eventView(
  s: TestSluice,
  eventId: string,
): Promise<{ event: { id: string }; deliveries: DeliveryJson[] }> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

/** The delivery row once `done` holds for it. */
async function rowWhen(
  s: TestSluice,
  eventId: string,
  done: (row: DeliveryJson) => boolean,
): Promise<DeliveryJson> {
  return await eventually(`${eventId} delivery`, async () => {
    const row = (await eventView(s, eventId)).deliveries[0];
    return row && done(row) ? row : undefined;
  });
}

function ingests(mock: MockGoogle): Received[] {
  return mock.received.filter((r) => r.path === "/v1/events:ingest");
}

function transactionIds(request: Received): string[] {
  return (request.body.events as { transactionId: string }[]).map((e) => e.transactionId);
}

/** Method, path and Bearer of each request, in order. */
function calls(mock: MockGoogle): string[] {
  return mock.received.map((r) => `${r.method} ${r.path} ${r.authorization ?? "-"}`);
}

Deno.test("google_ads: OAuth refresh, the exact events:ingest request, accepted then settled by the follow-up check", async () => {
  const mock = mockGoogle();
  const s = await openTestSluice(ENV);
  try {
    const destinationId = await connectGoogleAds(s, mock, { login_customer_id: "111-222-3333" });
    await send(s, [purchase("order-1")]);
    const accepted = await rowWhen(s, "order-1", (r) => r.status === "accepted");
    assert.equal(accepted.detail, "requestId=req-1");
    assert.equal(accepted.last_status, 200);

    const [token, ingest] = mock.received;
    assert.equal(token?.method, "POST");
    assert.equal(token?.path, "/token");
    assert.equal(token?.contentType, "application/x-www-form-urlencoded");
    assert.deepEqual(token?.body, {
      grant_type: "refresh_token",
      client_id: CONFIG.client_id,
      client_secret: CONFIG.client_secret,
      refresh_token: CONFIG.refresh_token,
    });
    assert.equal(ingest?.method, "POST");
    assert.equal(ingest?.authorization, "Bearer ya29.token-1");
    assert.equal(ingest?.contentType, "application/json");
    assert.equal(ingest?.developerToken, undefined, "Data Manager takes no developer token");
    assert.equal(ingest?.loginCustomerId, undefined, "the manager travels in destinations[]");
    assert.deepEqual(ingest?.body, {
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
    assert.deepEqual(dataManagerProblems("IngestEventsRequest", ingest?.body), []);

    // The engine queued a check for in 30 minutes; run it now, as the queue would then,
    // with the storage id and the requestId the API shows.
    const { event } = await eventView(s, "order-1");
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
    assert.equal((await eventView(s, "order-1")).deliveries[0]?.status, "accepted");
    mock.status = "SUCCESS";
    await s.rt.engine.check({ ...check, check: 2 });
    const delivered = (await eventView(s, "order-1")).deliveries[0];
    assert.equal(delivered?.status, "delivered");
    assert.equal(delivered?.detail, "processed: SUCCESS");
    assert.deepEqual(calls(mock), [
      "POST /token -",
      "POST /v1/events:ingest Bearer ya29.token-1",
      "GET /v1/requestStatus:retrieve?requestId=req-1 Bearer ya29.token-1",
      "GET /v1/requestStatus:retrieve?requestId=req-1 Bearer ya29.token-1",
    ]);
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("google_ads: the token is reused across batches, and a 401 refreshes it once", async () => {
  const mock = mockGoogle();
  const s = await openTestSluice(ENV);
  try {
    await connectGoogleAds(s, mock);
    await send(s, [purchase("batch-1")]);
    await rowWhen(s, "batch-1", (r) => r.status === "accepted");
    await send(s, [purchase("batch-2")]);
    await rowWhen(s, "batch-2", (r) => r.status === "accepted");
    assert.equal(mock.tokensIssued, 1);
    mock.valid.clear(); // Google revokes the access token
    await send(s, [purchase("batch-3")]);
    const third = await rowWhen(s, "batch-3", (r) => r.status === "accepted");
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
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("google_ads: fieldViolations fail one event alone; its neighbours are sent again and accepted", async () => {
  const mock = mockGoogle({
    ingest: (_n, body) => {
      const ids = (body.events as { transactionId: string }[]).map((e) => e.transactionId);
      const bad = ids.indexOf("bad-order");
      return bad < 0 ? undefined : googleError(400, "INVALID_ARGUMENT", "INVALID_FORMAT", [{
        field: `events[${bad}].user_data.user_identifiers[0].phone_number`,
        description: "The phone number is not in E.164 format.",
        reason: "INVALID_FORMAT",
      }]);
    },
  });
  const s = await openTestSluice(ENV);
  try {
    await connectGoogleAds(s, mock);
    await send(s, [purchase("good-1"), purchase("bad-order"), purchase("good-2")]);
    const good1 = await rowWhen(s, "good-1", (r) => r.status === "accepted");
    const good2 = await rowWhen(s, "good-2", (r) => r.status === "accepted");
    const bad = await rowWhen(s, "bad-order", (r) => r.status === "failed");
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
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("google_ads: a 429 RESOURCE_EXHAUSTED is retried, then the batch is accepted", async () => {
  const mock = mockGoogle({
    ingest: (n) =>
      n === 1
        ? googleError(429, "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED", [], { "retry-after": "0" })
        : undefined,
  });
  const s = await openTestSluice(ENV);
  try {
    await connectGoogleAds(s, mock);
    await send(s, [purchase("order-429")]);
    const row = await rowWhen(s, "order-429", (r) => r.status === "accepted");
    assert.equal(row.attempts, 2);
    assert.equal(row.detail, "requestId=req-2");
    assert.equal(ingests(mock).length, 2);
    assert.equal(mock.tokensIssued, 1, "a throttled request keeps its token");
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("google_ads: refused credentials pause the destination (invalid_grant, PERMISSION_DENIED)", async () => {
  const revoked = mockGoogle({
    token: () =>
      Response.json({
        error: "invalid_grant",
        error_description: "Token has been expired or revoked.",
      }, { status: 400 }),
  });
  const denied = mockGoogle({
    ingest: () => googleError(403, "PERMISSION_DENIED", "PERMISSION_DENIED"),
  });
  const s = await openTestSluice(ENV);
  try {
    const revokedId = await connectGoogleAds(s, revoked, {}, "Revoked");
    const deniedId = await connectGoogleAds(s, denied, {}, "Denied");
    await send(s, [purchase("order-auth")]);
    const rows = await eventually("both deliveries failed", async () => {
      const all = (await eventView(s, "order-auth")).deliveries;
      return all.length === 2 && all.every((r) => r.status === "failed") ? all : undefined;
    });
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
      const platform = await (await s.request(`/v1/platforms/${id}`, {
        headers: { authorization: `Bearer ${s.workspace.admin_key}` },
      })).json();
      assert.equal(platform.health.status, "unhealthy");
    }
    await send(s, [purchase("order-after")]);
    const paused = await eventually("paused rows", async () => {
      const all = (await eventView(s, "order-after")).deliveries;
      return all.length === 2 && all.every((r) => r.status === "skipped") ? all : undefined;
    });
    assert.ok(paused.every((r) => /paused/.test(r.last_error ?? "")), JSON.stringify(paused));
    assert.equal(ingests(denied).length, 1);
  } finally {
    await s.close();
    await revoked.close();
    await denied.close();
  }
});

Deno.test("google_ads (api google_ads): uploadClickConversions headers and per-row partial failure", async () => {
  const mock = mockGoogle({
    upload: (_n, body) => {
      const orders = (body.conversions as { orderId: string }[]).map((c) => c.orderId);
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
  const s = await openTestSluice(ENV);
  try {
    await connectGoogleAds(s, mock, {
      api: "google_ads",
      developer_token: "dev-token-123",
      login_customer_id: "111-222-3333",
    });
    await send(s, [purchase("legacy-ok"), purchase("legacy-bad"), purchase("legacy-organic")]);
    const ok = await rowWhen(s, "legacy-ok", (r) => r.status === "delivered");
    const bad = await rowWhen(s, "legacy-bad", (r) => r.status === "failed");
    const organic = await rowWhen(s, "legacy-organic", (r) => r.status === "delivered");
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
    assert.equal(upload?.authorization, "Bearer ya29.token-1");
    assert.equal(upload?.developerToken, "dev-token-123");
    assert.equal(upload?.loginCustomerId, "1112223333");
    assert.equal(upload?.body.partialFailure, true);
    const [first] = upload?.body.conversions as Record<string, unknown>[];
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
  } finally {
    await s.close();
    await mock.close();
  }
});

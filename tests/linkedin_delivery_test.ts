/**
 * LinkedIn end to end: connect through the API (a static token, or an OAuth2 refresh token),
 * ingest through /v1/events, deliver to a loopback mock of LinkedIn's token endpoint and
 * `POST /rest/conversionEvents` (BATCH_CREATE), read the delivery rows.
 */
import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import {
  connectPlatform,
  DELIVERY_ENV,
  expectPaused,
  ingestEvents,
  platformOf,
  settledDelivery,
  testPlatform,
} from "./_delivery.ts";
import { bearerToken, mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";
import { pause } from "./_wait.ts";

const ENV = { ...DELIVERY_ENV, SLUICE_DELIVERY_TIMEOUT: "2s" };
const TOKEN_PATH = "/oauth/v2/accessToken";
const EVENTS_PATH = "/rest/conversionEvents";
const RULE = "104012";

interface Element {
  eventId: string;
  [field: string]: unknown;
}

/** The body of a BATCH_CREATE request. */
interface BatchCreateBody {
  elements: Element[];
}

/** A LinkedIn double: issues `AQV-token-<n>` and takes only the tokens in `valid`. */
interface FakeLinkedin {
  url: string;
  received: ReceivedRequest<BatchCreateBody>[];
  valid: Set<string>;
  tokensIssued: number;
  /** Refuse every token, even those issued later (the member revoked the app). */
  refuseAll: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

const INVALID_TOKEN = {
  status: 401,
  serviceErrorCode: 65600,
  code: "INVALID_ACCESS_TOKEN",
  message: "Invalid access token",
};

function fakeLinkedin(
  answers: {
    token?: () => Response | undefined;
    events?: (elements: Element[], n: number) => Response | undefined;
  } = {},
): FakeLinkedin {
  let eventRequests = 0;
  const fake = {
    valid: new Set<string>(),
    tokensIssued: 0,
    refuseAll: false,
  };
  const mock = mockPlatform<BatchCreateBody>((_, request) => {
    if (request.path === TOKEN_PATH) {
      const scripted = answers.token?.();
      if (scripted) return scripted;
      const token = `AQV-token-${++fake.tokensIssued}`;
      fake.valid.add(token);
      return Response.json({ access_token: token, expires_in: 5_184_000 });
    }
    if (fake.refuseAll || !fake.valid.has(bearerToken(request) ?? "")) {
      return Response.json(INVALID_TOKEN, { status: 401 });
    }
    const elements = request.json?.elements ?? [];
    return answers.events?.(elements, ++eventRequests) ?? created(elements);
  });
  return Object.assign(fake, {
    url: mock.url,
    received: mock.received,
    [Symbol.asyncDispose]: () => mock.close(),
  });
}

/** LinkedIn's BATCH_CREATE answer with every element created. */
function created(elements: Element[]): Response {
  return Response.json({ elements: elements.map(() => ({ status: 201 })) });
}

const REFRESH_CONFIG = {
  conversion_rule_id: RULE,
  client_id: "86abc123",
  client_secret: "WPL_AP1.client-secret",
  refresh_token: "AQW-refresh-token",
};

function connect(
  s: TestSluice,
  fake: FakeLinkedin,
  config: Record<string, unknown> = REFRESH_CONFIG,
): Promise<string> {
  return connectPlatform(s, {
    type: "linkedin",
    config: { ...config, endpoint: fake.url, token_endpoint: fake.url + TOKEN_PATH },
  });
}

function purchase(eventId: string, eventTime: number, email = "Ada@Example.com") {
  return {
    event_id: eventId,
    event_name: "purchase",
    event_time: eventTime,
    value: 120,
    currency: "USD",
    page: { url: "https://shop.example/thanks?li_fat_id=li-fat-0123" },
    user_data: { email, first_name: "Ada", last_name: "Lovelace", country: "GB" },
  };
}

/** Each request as `path bearer-token [event ids]`, for the order of what LinkedIn saw. */
function trace(fake: FakeLinkedin): string[] {
  return fake.received.map((r) => {
    if (r.path === TOKEN_PATH) return "token";
    const ids = (r.json?.elements ?? []).map((e) => e.eventId).sort();
    return `events ${bearerToken(r)} ${ids.join(",")}`;
  });
}

function recentSeconds(): number {
  return Math.floor(Date.now() / 1000) - 60;
}

Deno.test("LinkedIn: one refreshed token serves two batches; the mock sees the grant and BATCH_CREATE", async () => {
  await using fake = fakeLinkedin();
  await using s = await openTestSluice(ENV);
  await connect(s, fake);
  const time = recentSeconds();
  await ingestEvents(s, [purchase("order-1", time)]);
  assert.equal((await settledDelivery(s, "order-1")).status, "delivered");
  await ingestEvents(s, [purchase("order-2", time, "grace@example.com")]);
  const second = await settledDelivery(s, "order-2");
  assert.deepEqual([second.status, second.attempts, second.last_status], ["delivered", 1, 200]);

  assert.deepEqual(trace(fake), [
    "token",
    "events AQV-token-1 order-1",
    "events AQV-token-1 order-2",
  ]);
  const [grant, sent] = fake.received;
  assert.equal(grant?.method, "POST");
  assert.equal(grant?.headers.get("content-type"), "application/x-www-form-urlencoded");
  assert.deepEqual(Object.fromEntries(new URLSearchParams(grant?.text)), {
    grant_type: "refresh_token",
    refresh_token: "AQW-refresh-token",
    client_id: "86abc123",
    client_secret: "WPL_AP1.client-secret",
  });
  assert.equal(sent?.method, "POST");
  assert.equal(sent?.path, EVENTS_PATH);
  assert.deepEqual(
    ["authorization", "content-type", "linkedin-version", "x-restli-protocol-version"]
      .concat("x-restli-method").map((name) => sent?.headers.get(name)),
    ["Bearer AQV-token-1", "application/json", "202607", "2.0.0", "BATCH_CREATE"],
  );
  assert.deepEqual(sent?.json, {
    elements: [{
      conversion: `urn:lla:llaPartnerConversion:${RULE}`,
      conversionHappenedAt: time * 1000,
      conversionValue: { currencyCode: "USD", amount: "120.0" },
      eventId: "order-1",
      user: {
        userIds: [
          { idType: "SHA256_EMAIL", idValue: sha256Hex("ada@example.com") },
          { idType: "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", idValue: "li-fat-0123" },
        ],
        userInfo: { firstName: "Ada", lastName: "Lovelace", countryCode: "GB" },
      },
    }],
  });
});

Deno.test("LinkedIn: the li_fat_id cookie of a browser event reaches LinkedIn as its first-party tracking id", async () => {
  await using fake = fakeLinkedin();
  await using s = await openTestSluice(ENV);
  await connect(s, fake);
  const time = recentSeconds();
  const res = await s.request("/v1/browser/events", {
    method: "POST",
    headers: {
      "content-type": "text/plain;charset=UTF-8",
      origin: "https://shop.example",
      cookie: "_fbp=fb.1.1700000000000.7; li_fat_id=a1b2c3d4-cookie",
    },
    body: JSON.stringify({
      public_id: s.workspace.public_id,
      events: [{
        event_id: "order-cookie",
        event_name: "purchase",
        event_time: time,
        page: { url: "https://shop.example/thanks" },
      }],
    }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
  assert.equal((await settledDelivery(s, "order-cookie")).status, "delivered");
  const sent = fake.received.find((r) => r.path === EVENTS_PATH);
  assert.deepEqual(sent?.json?.elements.map((e) => e.user), [{
    userIds: [{ idType: "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", idValue: "a1b2c3d4-cookie" }],
  }]);
});

Deno.test("LinkedIn: a 401 on the cached token is refreshed once and the batch resent", async () => {
  await using fake = fakeLinkedin();
  await using s = await openTestSluice(ENV);
  const id = await connect(s, fake);
  await ingestEvents(s, [purchase("order-1", recentSeconds())]);
  assert.equal((await settledDelivery(s, "order-1")).status, "delivered");
  fake.valid.clear(); // LinkedIn revoked AQV-token-1.
  await ingestEvents(s, [purchase("order-2", recentSeconds())]);
  const row = await settledDelivery(s, "order-2");
  assert.deepEqual([row.status, row.attempts, row.last_status], ["delivered", 1, 200]);
  assert.deepEqual(trace(fake), [
    "token",
    "events AQV-token-1 order-1",
    "events AQV-token-1 order-2",
    "token",
    "events AQV-token-2 order-2",
  ]);
  assert.equal((await platformOf(s, id)).health.status, "healthy");
});

Deno.test("LinkedIn: a 401 on the refreshed token fails without another refresh and pauses", async () => {
  await using fake = fakeLinkedin();
  await using s = await openTestSluice(ENV);
  const id = await connect(s, fake);
  await ingestEvents(s, [purchase("order-1", recentSeconds())]);
  assert.equal((await settledDelivery(s, "order-1")).status, "delivered");
  fake.refuseAll = true;
  await ingestEvents(s, [purchase("order-2", recentSeconds())]);
  const row = await settledDelivery(s, "order-2");
  assert.equal(row.status, "failed");
  assert.equal(
    row.last_error,
    "LinkedIn HTTP 401: INVALID_ACCESS_TOKEN 65600: Invalid access token",
  );
  assert.deepEqual(trace(fake), [
    "token",
    "events AQV-token-1 order-1",
    "events AQV-token-1 order-2",
    "token",
    "events AQV-token-2 order-2",
  ]);
  assert.equal((await platformOf(s, id)).health.status, "unhealthy");
});

Deno.test("LinkedIn: an element it refuses fails alone; its neighbours are delivered", async () => {
  await using fake = fakeLinkedin({
    events: (elements) =>
      Response.json({
        elements: elements.map((e) =>
          e.eventId === "order-bad"
            ? {
              status: 400,
              error: {
                status: 400,
                code: "INVALID_FIELD",
                message: "conversionValue.currencyCode is not a valid currency",
              },
            }
            : { status: 201 }
        ),
      }),
  });
  await using s = await openTestSluice(ENV);
  await connect(s, fake);
  const time = recentSeconds();
  await ingestEvents(s, [
    purchase("order-1", time),
    purchase("order-bad", time),
    purchase("order-2", time),
    { event_id: "pv-1", event_name: "page_view", user_data: { email: "ada@example.com" } },
  ]);
  for (const id of ["order-1", "order-2"]) {
    assert.equal((await settledDelivery(s, id)).status, "delivered", id);
  }
  const bad = await settledDelivery(s, "order-bad");
  assert.equal(bad.status, "failed");
  assert.equal(
    bad.last_error,
    "LinkedIn refused the event (status 400): INVALID_FIELD: conversionValue.currencyCode is " +
      "not a valid currency",
  );
  const pageView = await settledDelivery(s, "pv-1");
  assert.equal(pageView.status, "skipped");
  assert.match(pageView.last_error ?? "", /"page_view" is not a conversion/);
  assert.deepEqual(trace(fake), ["token", "events AQV-token-1 order-1,order-2,order-bad"]);
});

Deno.test("LinkedIn: a 429 is retried, with a static access_token and no token endpoint", async () => {
  await using fake = fakeLinkedin({
    events: (elements, n) =>
      n === 1
        ? Response.json({ status: 429, message: "Resource level throttle limit reached" }, {
          status: 429,
          headers: { "retry-after": "0" },
        })
        : created(elements),
  });
  fake.valid.add("AQX-static-token");
  await using s = await openTestSluice(ENV);
  await connect(s, fake, { conversion_rule_id: RULE, access_token: "AQX-static-token" });
  await ingestEvents(s, [purchase("order-429", recentSeconds())]);
  const row = await settledDelivery(s, "order-429", /delivered|failed/);
  assert.deepEqual([row.status, row.attempts, row.last_status], ["delivered", 2, 200]);
  await pause(300);
  assert.deepEqual(trace(fake), [
    "events AQX-static-token order-429",
    "events AQX-static-token order-429",
  ]);
});

Deno.test("LinkedIn: a refused refresh token fails the events and pauses the destination", async () => {
  await using fake = fakeLinkedin({
    token: () =>
      Response.json({
        error: "invalid_grant",
        error_description: "The provided authorization grant or refresh token is invalid, " +
          "expired or revoked",
      }, { status: 400 }),
  });
  await using s = await openTestSluice(ENV);
  const id = await connect(s, fake);
  await ingestEvents(s, [purchase("order-1", recentSeconds())]);
  const row = await settledDelivery(s, "order-1");
  assert.equal(row.status, "failed");
  assert.equal(
    row.last_error,
    "LinkedIn token endpoint HTTP 400: invalid_grant: The provided authorization grant or " +
      "refresh token is invalid, expired or revoked",
  );
  await expectPaused(s, id, purchase("order-2", recentSeconds()));
  assert.deepEqual(trace(fake), ["token"], "no conversion is sent without a token");
});

Deno.test("POST /v1/platforms refuses LinkedIn settings missing a credential, naming it", async () => {
  await using s = await openTestSluice(ENV);
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "linkedin",
      name: "LinkedIn",
      config: { conversion_rule_id: RULE, client_id: "86abc123", refresh_token: "AQW" },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 400);
  assert.deepEqual((await res.json()).errors, [{
    path: "config.client_secret",
    message: "client_secret is required with refresh_token",
  }]);
});

Deno.test("POST /v1/platforms/:id/test sends no conversion to LinkedIn, which has no test mode, and checks the credentials", async () => {
  await using fake = fakeLinkedin();
  await using s = await openTestSluice(ENV);
  const id = await connect(s, fake);
  const body = await testPlatform(s, id);
  assert.deepEqual([body.ok, body.sent, body.checked, body.test_mode], [
    true,
    false,
    "credentials",
    null,
  ]);
  assert.deepEqual(body.outcome, {
    kind: "delivered",
    detail: "LinkedIn Conversions API has no test mode, so no event was sent; its credentials " +
      "were accepted",
  });
  assert.deepEqual(
    fake.received.map((r) => r.path),
    [TOKEN_PATH],
    "a token request, no conversion",
  );
});

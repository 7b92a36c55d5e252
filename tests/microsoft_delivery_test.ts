import assert from "node:assert/strict";
import { openTestSluice } from "./_harness.ts";
import {
  connectPlatform,
  DELIVERY_ENV,
  expectPaused,
  ingestEvents,
  settledDelivery,
  testPlatform,
} from "./_delivery.ts";
import { type MockAnswer, mockPlatform, type ReceivedRequest } from "./_mock_platform.ts";

/** The body of a request to UET's events endpoint. */
interface UetBody {
  data: UetEvent[];
  continueOnValidationError?: boolean;
}

interface UetEvent {
  eventId: string;
  [field: string]: unknown;
}

/** A loopback UET endpoint answering from `script` (200 `{eventsReceived}` when it returns nothing). */
function mockUet(script: MockAnswer<UetBody> = () => undefined) {
  return mockPlatform<UetBody>(
    script,
    (_, request) => Response.json({ eventsReceived: eventsOf(request).length }),
  );
}

function microsoft(endpoint: string, token = "uet-token") {
  return {
    type: "microsoft",
    config: { uet_tag_id: "343210987", access_token: token, endpoint },
  };
}

function eventsOf(request: ReceivedRequest<UetBody> | undefined): UetEvent[] {
  return request?.json?.data ?? [];
}

/** A purchase with only an anonymous id to match on. */
function purchase(eventId: string) {
  return { event_id: eventId, event_name: "purchase", user_data: { anonymous_id: "v1" } };
}

function sentIds(received: ReceivedRequest<UetBody>[]): string[] {
  return received.flatMap((r) => eventsOf(r).map((e) => e.eventId));
}

Deno.test("Microsoft delivery: a purchase reaches /v1/{tag}/events as the UET guide documents it", async () => {
  await using mock = mockUet();
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, microsoft(mock.url));
  const seconds = Math.floor(Date.now() / 1000) - 60;
  await ingestEvents(s, [{
    event_id: "order-1001",
    event_name: "purchase",
    event_time: seconds,
    action_source: "website",
    value: 50.2,
    currency: "USD",
    order_id: "1001",
    items: [{ id: "prod123456", quantity: 2, price: 25.1, name: "T-Shirt" }],
    page: {
      url: "https://shop.example/thanks?msclkid=dd4afcccb1c9a4cad9544dd7e5006",
      referrer: "https://www.bing.com/",
      title: "Thank you",
    },
    user_data: {
      email: "John@Contoso.com",
      phone: "+1 425 555 1234",
      anonymous_id: "b171a9b06ce011ecafcd1b209be8601b",
      client_ip: "127.0.0.1",
      user_agent: "Mozilla/5.0 (Macintosh)",
    },
    consent: { ad_user_data: "granted", ad_personalization: "granted" },
  }]);
  const row = await settledDelivery(s, "order-1001");
  assert.deepEqual(
    {
      platform: row.platform_id,
      status: row.status,
      attempts: row.attempts,
      http: row.last_status,
    },
    { platform: id, status: "delivered", attempts: 1, http: 200 },
  );
  assert.equal(mock.received.length, 1);
  const [request] = mock.received;
  assert.equal(request?.method, "POST");
  assert.equal(request?.path, "/v1/343210987/events");
  assert.equal(request?.headers.get("authorization"), "Bearer uet-token");
  assert.equal(request?.headers.get("content-type"), "application/json");
  assert.deepEqual(request?.json, {
    data: [{
      eventType: "custom",
      eventId: "order-1001",
      eventName: "purchase",
      eventTime: seconds,
      eventSourceUrl: "https://shop.example/thanks?msclkid=dd4afcccb1c9a4cad9544dd7e5006",
      referrerUrl: "https://www.bing.com/",
      pageTitle: "Thank you",
      adStorageConsent: "G",
      userData: {
        msclkid: "dd4afcccb1c9a4cad9544dd7e5006",
        anonymousId: "b171a9b06ce011ecafcd1b209be8601b",
        em: "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602",
        ph: "c59475d96e9f01d7d18d06cfad84dd02333207f02c0c2c5663ef2782cda0390e",
        clientIpAddress: "127.0.0.1",
        clientUserAgent: "Mozilla/5.0 (Macintosh)",
      },
      customData: {
        transactionId: "1001",
        value: 50.2,
        currency: "USD",
        items: [{ id: "prod123456", quantity: 2, price: 25.1, name: "T-Shirt" }],
        itemIds: ["prod123456"],
        pageType: "purchase",
        ecommTotalValue: 50.2,
      },
    }],
    continueOnValidationError: true,
  });
});

Deno.test("Microsoft delivery: the event a validation detail names fails alone, its neighbours are delivered", async () => {
  await using mock = mockUet((_, request) => {
    const bad = eventsOf(request).findIndex((e) => e.eventId === "bad-2");
    if (bad < 0) return undefined;
    return Response.json({
      eventsReceived: eventsOf(request).length - 1,
      error: {
        code: "ValidationError",
        message: "One or multiple parameters did not pass validation checks, see details.",
        details: [{
          index: bad,
          propertyName: `data[${bad}].referrerUrl`,
          errorMessage: "'referrerUrl' must be a valid URL.",
        }],
      },
    });
  });
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, microsoft(mock.url));
  const event = (event_id: string) => ({
    event_id,
    event_name: "lead",
    user_data: { anonymous_id: `visitor-${event_id}` },
  });
  await ingestEvents(s, [event("good-1"), event("bad-2"), event("good-3")]);
  const [good1, bad2, good3] = await Promise.all(
    ["good-1", "bad-2", "good-3"].map((id) => settledDelivery(s, id)),
  );
  assert.deepEqual([good1?.status, good1?.attempts], ["delivered", 1]);
  assert.deepEqual([good3?.status, good3?.attempts], ["delivered", 1]);
  assert.equal(bad2?.status, "failed");
  assert.equal(
    bad2?.last_error,
    "Microsoft ValidationError: data[1].referrerUrl: 'referrerUrl' must be a valid URL.",
  );
  assert.deepEqual(sentIds(mock.received), ["good-1", "bad-2", "good-3"]);
  assert.equal(mock.received[0]?.json?.continueOnValidationError, true);
});

Deno.test("Microsoft delivery: a 429 is retried after Retry-After, then delivered", async () => {
  await using mock = mockUet((n) =>
    n === 1
      ? new Response("Too Many Requests", { status: 429, headers: { "retry-after": "0" } })
      : undefined
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectPlatform(s, microsoft(mock.url));
  await ingestEvents(s, [purchase("rate-1")]);
  const row = await settledDelivery(s, "rate-1");
  assert.deepEqual([row.status, row.attempts], ["delivered", 2]);
  assert.deepEqual(sentIds(mock.received), ["rate-1", "rate-1"]);
});

Deno.test("Microsoft delivery: a refused token pauses the destination", async () => {
  await using mock = mockUet(() =>
    Response.json({
      error: { code: "Unauthorized", message: "You are not authorized to access this resource." },
    }, { status: 401 })
  );
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, microsoft(mock.url, "wrong-token"));
  await ingestEvents(s, [purchase("auth-1")]);
  const row = await settledDelivery(s, "auth-1");
  assert.deepEqual([row.status, row.attempts, row.last_error], [
    "failed",
    1,
    "Microsoft Unauthorized: You are not authorized to access this resource.",
  ]);
  await expectPaused(s, id, purchase("auth-2"));
  assert.equal(mock.received.length, 1);
});

Deno.test("Microsoft delivery: POST /v1/platforms/:id/test sends a consent-denied event", async () => {
  await using mock = mockUet();
  await using s = await openTestSluice(DELIVERY_ENV);
  const id = await connectPlatform(s, microsoft(mock.url));
  const tested = await testPlatform(s, id);
  assert.equal(tested.ok, true, JSON.stringify(tested));
  assert.equal(eventsOf(mock.received[0])[0]?.adStorageConsent, "D");
});

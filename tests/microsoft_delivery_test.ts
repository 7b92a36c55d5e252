import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { eventually } from "./_wait.ts";

/** One request the mock Microsoft UET endpoint received. */
interface Received {
  method: string;
  path: string;
  headers: Headers;
  body: { data: UetEvent[]; continueOnValidationError?: boolean };
}

interface UetEvent {
  eventId: string;
  [field: string]: unknown;
}

/** A loopback UET endpoint answering each request with `reply` (200 `{eventsReceived}` when it returns nothing). */
function mockUet(reply: (request: Received, n: number) => Response | undefined = () => undefined) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const request = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.json(),
    };
    received.push(request);
    return reply(request, received.length) ??
      Response.json({ eventsReceived: request.body.data.length });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    close: () => server.shutdown(),
  };
}

const ENV = {
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms,200ms,300ms",
  SLUICE_DELIVERY_TIMEOUT: "1s",
};

const admin = (s: TestSluice) => ({
  headers: { authorization: `Bearer ${s.workspace.admin_key}` },
});

async function connectMicrosoft(
  s: TestSluice,
  endpoint: string,
  token = "uet-token",
): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "microsoft",
      name: "Microsoft Ads",
      config: { uet_tag_id: "343210987", access_token: token, endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.access_token, "********");
  return body.id;
}

async function ingest(s: TestSluice, events: Record<string, unknown>[]): Promise<void> {
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
}

/** The delivery row once it has settled (delivered, failed or skipped). */
function settled(s: TestSluice, eventId: string): Promise<DeliveryJson> {
  return eventually(`delivery of ${eventId} to settle`, async () => {
    const res = await s.request(`/v1/events/${eventId}`, admin(s));
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const row: DeliveryJson | undefined = (await res.json()).deliveries[0];
    return row && ["delivered", "failed", "skipped"].includes(row.status) ? row : undefined;
  });
}

function sentIds(received: Received[]): string[] {
  return received.flatMap((r) => r.body.data.map((e) => e.eventId));
}

Deno.test("Microsoft delivery: a purchase reaches /v1/{tag}/events as the UET guide documents it", async () => {
  const uet = mockUet();
  const s = await openTestSluice(ENV);
  try {
    const id = await connectMicrosoft(s, uet.url);
    const seconds = Math.floor(Date.now() / 1000) - 60;
    await ingest(s, [{
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
    const row = await settled(s, "order-1001");
    assert.deepEqual(
      {
        platform: row.platform_id,
        status: row.status,
        attempts: row.attempts,
        http: row.last_status,
      },
      { platform: id, status: "delivered", attempts: 1, http: 200 },
    );
    assert.equal(uet.received.length, 1);
    const [request] = uet.received;
    assert.equal(request?.method, "POST");
    assert.equal(request?.path, "/v1/343210987/events");
    assert.equal(request?.headers.get("authorization"), "Bearer uet-token");
    assert.equal(request?.headers.get("content-type"), "application/json");
    assert.deepEqual(request?.body, {
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
  } finally {
    await s.close();
    await uet.close();
  }
});

Deno.test("Microsoft delivery: the event a validation detail names fails alone, its neighbours are delivered", async () => {
  const uet = mockUet((request) => {
    const bad = request.body.data.findIndex((e) => e.eventId === "bad-2");
    if (bad < 0) return undefined;
    return Response.json({
      eventsReceived: request.body.data.length - 1,
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
  const s = await openTestSluice(ENV);
  try {
    await connectMicrosoft(s, uet.url);
    const event = (event_id: string) => ({
      event_id,
      event_name: "lead",
      user_data: { anonymous_id: `visitor-${event_id}` },
    });
    await ingest(s, [event("good-1"), event("bad-2"), event("good-3")]);
    const [good1, bad2, good3] = await Promise.all(
      ["good-1", "bad-2", "good-3"].map((id) => settled(s, id)),
    );
    assert.deepEqual([good1?.status, good1?.attempts], ["delivered", 1]);
    assert.deepEqual([good3?.status, good3?.attempts], ["delivered", 1]);
    assert.equal(bad2?.status, "failed");
    assert.equal(
      bad2?.last_error,
      "Microsoft ValidationError: data[1].referrerUrl: 'referrerUrl' must be a valid URL.",
    );
    assert.deepEqual(sentIds(uet.received), ["good-1", "bad-2", "good-3"]);
    assert.equal(uet.received[0]?.body.continueOnValidationError, true);
  } finally {
    await s.close();
    await uet.close();
  }
});

Deno.test("Microsoft delivery: a 429 is retried after Retry-After, then delivered", async () => {
  const uet = mockUet((_, n) =>
    n === 1
      ? new Response("Too Many Requests", { status: 429, headers: { "retry-after": "0" } })
      : undefined
  );
  const s = await openTestSluice(ENV);
  try {
    await connectMicrosoft(s, uet.url);
    await ingest(s, [{
      event_id: "rate-1",
      event_name: "purchase",
      user_data: { anonymous_id: "v1" },
    }]);
    const row = await settled(s, "rate-1");
    assert.deepEqual([row.status, row.attempts], ["delivered", 2]);
    assert.deepEqual(sentIds(uet.received), ["rate-1", "rate-1"]);
  } finally {
    await s.close();
    await uet.close();
  }
});

Deno.test("Microsoft delivery: a refused token pauses the destination", async () => {
  const uet = mockUet(() =>
    Response.json({
      error: { code: "Unauthorized", message: "You are not authorized to access this resource." },
    }, { status: 401 })
  );
  const s = await openTestSluice(ENV);
  try {
    const id = await connectMicrosoft(s, uet.url, "wrong-token");
    await ingest(s, [{
      event_id: "auth-1",
      event_name: "purchase",
      user_data: { anonymous_id: "v1" },
    }]);
    const row = await settled(s, "auth-1");
    assert.deepEqual([row.status, row.attempts, row.last_error], [
      "failed",
      1,
      "Microsoft Unauthorized: You are not authorized to access this resource.",
    ]);
    const platform = await (await s.request(`/v1/platforms/${id}`, admin(s))).json();
    assert.equal(platform.health.status, "unhealthy");
    await ingest(s, [{
      event_id: "auth-2",
      event_name: "purchase",
      user_data: { anonymous_id: "v1" },
    }]);
    const paused = await settled(s, "auth-2");
    assert.equal(paused.status, "skipped");
    assert.match(paused.last_error ?? "", /paused/);
    assert.equal(uet.received.length, 1);
  } finally {
    await s.close();
    await uet.close();
  }
});

Deno.test("Microsoft delivery: POST /v1/platforms/:id/test sends a consent-denied event", async () => {
  const uet = mockUet();
  const s = await openTestSluice(ENV);
  try {
    const id = await connectMicrosoft(s, uet.url);
    const res = await s.request(`/v1/platforms/${id}/test`, jsonInit({}, s.workspace.admin_key));
    const tested = await res.json();
    assert.equal(tested.ok, true, JSON.stringify(tested));
    assert.equal(uet.received[0]?.body.data[0]?.adStorageConsent, "D");
  } finally {
    await s.close();
    await uet.close();
  }
});

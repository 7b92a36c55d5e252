import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";

/** What the mock Klaviyo received: one bulk request. */
interface Received {
  method: string;
  path: string;
  headers: Record<string, string | null>;
  body: BulkJob;
}

/** A bulk job as Klaviyo reads it (only what these tests look at is typed). */
interface BulkJob {
  data: { attributes: { "events-bulk-create": { data: BulkEntry[] } } };
}

interface BulkEntry {
  attributes: {
    profile: { data: { attributes: Record<string, unknown> } };
    events: { data: { attributes: { unique_id: string } & Record<string, unknown> }[] };
  };
}

/** A loopback Klaviyo answering from a script (n: the request's number, from 1), else 202. */
function mockKlaviyo(script: (n: number, body: BulkJob) => Response | undefined) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body: BulkJob = await req.json();
    const url = new URL(req.url);
    received.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: {
        authorization: req.headers.get("authorization"),
        revision: req.headers.get("revision"),
        "content-type": req.headers.get("content-type"),
        accept: req.headers.get("accept"),
      },
      body,
    });
    return script(received.length, body) ?? new Response(null, { status: 202 });
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
const KEY = "pk_0123456789abcdef0123456789abcdef01";

async function connectKlaviyo(s: TestSluice, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "klaviyo",
      name: "Klaviyo",
      config: { private_api_key: KEY, endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const body = await res.json();
  assert.equal(body.config.private_api_key, "********");
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

async function deliveries(s: TestSluice, eventId: string): Promise<DeliveryJson[]> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).deliveries;
}

async function settled(
  s: TestSluice,
  eventId: string,
  status: string,
  timeoutMs = 8_000,
): Promise<DeliveryJson> {
  const until = Date.now() + timeoutMs;
  let rows: DeliveryJson[] = [];
  while (Date.now() < until) {
    rows = await deliveries(s, eventId);
    if (rows[0]?.status === status) return rows[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${eventId} to be ${status}: ${JSON.stringify(rows)}`);
}

function uniqueIds(request: Received | undefined): string[] {
  return (request?.body.data.attributes["events-bulk-create"].data ?? [])
    .map((entry) => entry.attributes.events.data[0]?.attributes.unique_id ?? "");
}

/** Event time one minute ago, to the second, as sent and as Klaviyo gets it. */
function aMinuteAgo(): { sent: string; klaviyo: string } {
  const ms = Math.floor((Date.now() - 60_000) / 1000) * 1000;
  const iso = new Date(ms).toISOString();
  return { sent: iso, klaviyo: iso.replace(".000Z", "Z") };
}

Deno.test("klaviyo delivery: the mock receives the exact bulk job and both events are delivered", async () => {
  const mock = mockKlaviyo(() => undefined);
  const s = await openTestSluice(ENV);
  try {
    const destination = await connectKlaviyo(s, mock.url);
    const time = aMinuteAgo();
    await ingest(s, [
      {
        event_id: "k-order-1",
        event_name: "purchase",
        event_time: time.sent,
        user_data: {
          email: " Ada@Example.com ",
          phone: "07700 900123",
          country: "GB",
          first_name: "Ada",
          client_ip: "203.0.113.9",
        },
        value: 49.9,
        currency: "EUR",
        order_id: "1001",
        items: [{ id: "sku-1", name: "Tea", quantity: 2, price: 24.95 }],
      },
      {
        event_id: "k-quiz-1",
        event_name: "Completed Quiz",
        event_time: time.sent,
        user_data: { customer_id: "cust-42" },
        properties: { score: 7 },
      },
    ]);
    const order = await settled(s, "k-order-1", "delivered");
    const quiz = await settled(s, "k-quiz-1", "delivered");
    assert.equal(order.platform_id, destination);
    assert.equal(order.attempts, 1);
    assert.equal(order.last_status, 202);
    assert.equal(quiz.attempts, 1);
    assert.equal(mock.received.length, 1);
    const [request] = mock.received;
    assert.equal(request?.method, "POST");
    assert.equal(request?.path, "/api/event-bulk-create-jobs");
    assert.deepEqual(request?.headers, {
      authorization: `Klaviyo-API-Key ${KEY}`,
      revision: "2026-07-15",
      "content-type": "application/vnd.api+json",
      accept: "application/vnd.api+json",
    });
    const metric = (name: string) => ({ data: { type: "metric", attributes: { name } } });
    assert.deepEqual(request?.body, {
      data: {
        type: "event-bulk-create-job",
        attributes: {
          "events-bulk-create": {
            data: [
              {
                type: "event-bulk-create",
                attributes: {
                  profile: {
                    data: {
                      type: "profile",
                      attributes: {
                        email: "ada@example.com",
                        phone_number: "+447700900123",
                        first_name: "Ada",
                        location: { country: "GB", ip: "203.0.113.9" },
                      },
                    },
                  },
                  events: {
                    data: [{
                      type: "event",
                      attributes: {
                        properties: {
                          OrderId: "1001",
                          Items: [{
                            ProductID: "sku-1",
                            ProductName: "Tea",
                            Quantity: 2,
                            ItemPrice: 24.95,
                            RowTotal: 49.9,
                          }],
                          ItemNames: ["Tea"],
                        },
                        time: time.klaviyo,
                        value: 49.9,
                        value_currency: "EUR",
                        unique_id: "1001",
                        metric: metric("Placed Order"),
                      },
                    }],
                  },
                },
              },
              {
                type: "event-bulk-create",
                attributes: {
                  profile: { data: { type: "profile", attributes: { external_id: "cust-42" } } },
                  events: {
                    data: [{
                      type: "event",
                      attributes: {
                        properties: { score: 7 },
                        time: time.klaviyo,
                        unique_id: "k-quiz-1",
                        metric: metric("Completed Quiz"),
                      },
                    }],
                  },
                },
              },
            ],
          },
        },
      },
    });
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("klaviyo delivery: the event a 400 points at fails alone, its neighbours are delivered", async () => {
  const mock = mockKlaviyo((n, body) => {
    if (n > 1) return undefined;
    const entries = body.data.attributes["events-bulk-create"].data;
    const bad = entries.findIndex((e) =>
      e.attributes.profile.data.attributes.external_id === "bad"
    );
    return Response.json({
      errors: [{
        id: "0b1",
        status: 400,
        code: "invalid",
        title: "Invalid input.",
        detail: "Invalid phone number format (Example of a valid format: +13239169023)",
        source: {
          pointer: `/data/attributes/events-bulk-create/data/${bad}/attributes/profile/data/` +
            "attributes/phone_number",
        },
      }],
    }, { status: 400 });
  });
  const s = await openTestSluice(ENV);
  try {
    await connectKlaviyo(s, mock.url);
    const time = aMinuteAgo().sent;
    await ingest(s, [
      {
        event_id: "k-lead-1",
        event_name: "lead",
        event_time: time,
        user_data: { customer_id: "a" },
      },
      {
        event_id: "k-lead-2",
        event_name: "lead",
        event_time: time,
        user_data: { customer_id: "bad", phone: "+1 555 555 0100" },
      },
      {
        event_id: "k-lead-3",
        event_name: "lead",
        event_time: time,
        user_data: { customer_id: "c" },
      },
    ]);
    const failed = await settled(s, "k-lead-2", "failed");
    assert.equal(failed.attempts, 1);
    assert.match(failed.last_error ?? "", /Klaviyo 400 invalid: .*Invalid phone number format/);
    for (const id of ["k-lead-1", "k-lead-3"]) {
      const row = await settled(s, id, "delivered");
      assert.equal(row.attempts, 2, id);
    }
    assert.equal(mock.received.length, 2);
    assert.deepEqual(uniqueIds(mock.received[0]).sort(), ["k-lead-1", "k-lead-2", "k-lead-3"]);
    assert.deepEqual(uniqueIds(mock.received[1]).sort(), ["k-lead-1", "k-lead-3"]);
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("klaviyo delivery: a 429 is retried after Retry-After, then delivered once", async () => {
  const mock = mockKlaviyo((n) =>
    n === 1
      ? Response.json({
        errors: [{
          id: "t1",
          status: 429,
          code: "throttled",
          title: "Request was throttled.",
          detail: "Request was throttled. Expected available in 0 seconds.",
        }],
      }, { status: 429, headers: { "retry-after": "0" } })
      : undefined
  );
  const s = await openTestSluice(ENV);
  try {
    await connectKlaviyo(s, mock.url);
    await ingest(s, [{
      event_id: "k-throttled",
      event_name: "purchase",
      event_time: aMinuteAgo().sent,
      user_data: { email: "ada@example.com" },
    }]);
    const row = await settled(s, "k-throttled", "delivered");
    assert.equal(row.attempts, 2);
    assert.equal(row.last_status, 202);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(mock.received.map(uniqueIds), [["k-throttled"], ["k-throttled"]]);
  } finally {
    await s.close();
    await mock.close();
  }
});

Deno.test("klaviyo delivery: a refused key fails the event and pauses the destination", async () => {
  const mock = mockKlaviyo(() =>
    Response.json({
      errors: [{
        id: "u1",
        status: 401,
        code: "not_authenticated",
        title: "Authentication credentials were not provided.",
        detail: "Missing or invalid private key.",
        source: { pointer: "/data/" },
      }],
    }, { status: 401 })
  );
  const s = await openTestSluice(ENV);
  try {
    const destination = await connectKlaviyo(s, mock.url);
    const event = (id: string) => ({
      event_id: id,
      event_name: "purchase",
      event_time: aMinuteAgo().sent,
      user_data: { email: "ada@example.com" },
    });
    await ingest(s, [event("k-auth-1")]);
    const failed = await settled(s, "k-auth-1", "failed");
    assert.equal(failed.attempts, 1);
    assert.match(failed.last_error ?? "", /Klaviyo 401 not_authenticated/);
    const platform = await (await s.request(`/v1/platforms/${destination}`, {
      headers: { authorization: `Bearer ${s.workspace.admin_key}` },
    })).json();
    assert.equal(platform.health.status, "unhealthy");
    await ingest(s, [event("k-auth-2")]);
    const paused = await settled(s, "k-auth-2", "skipped");
    assert.match(paused.last_error ?? "", /paused/);
    assert.equal(mock.received.length, 1, "nothing is sent while paused");
  } finally {
    await s.close();
    await mock.close();
  }
});

import assert from "node:assert/strict";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import {
  type AcceptedJson,
  awayFromMinuteEdge,
  type BatchJson,
  countStored,
  expectJson,
  expectProblem,
  jsonWith,
  patchSettings,
  storedEvent,
} from "./_http.ts";

const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

function browserPost(
  s: TestSluice,
  path: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  ip?: string,
): Promise<Response> {
  return s.request(
    path,
    jsonWith({ public_id: s.workspace.public_id, ...body }, {
      origin: ORIGIN,
      "user-agent": CHROME,
      ...headers,
    }),
    ip,
  );
}

function assertCors(res: Response, origin = ORIGIN): void {
  assert.equal(res.headers.get("access-control-allow-origin"), origin);
  assert.match(res.headers.get("vary") ?? "", /\bOrigin\b/i);
}

Deno.test("POST /v1/browser/events answers 202 with CORS for an allowed Origin", async () => {
  await using s = await openTestSluice();
  const res = await browserPost(
    s,
    "/v1/browser/events",
    {
      event_id: "b-1",
      event_name: "ViewContent",
      page: { url: "https://shop.example/p/1", title: "Product" },
    },
    {},
    "203.0.113.9",
  );
  assertCors(res);
  const body = await expectJson<AcceptedJson>(res, 202);
  assert.equal(body.event_id, "b-1");
  const event = await storedEvent(s, "b-1");
  assert.equal(event.event_name, "view_content");
  assert.equal(event.source, "web");
  assert.equal(event.dialect, "browser");
  assert.equal(event.page?.path, "/p/1");
  assert.equal(event.user_data.client_ip, "203.0.113.9");
  assert.equal(event.user_data.user_agent, CHROME);
  // The public id is a credential, not event data.
  assert.equal(event.properties.public_id, undefined);
});

Deno.test("POST /v1/browser/events accepts a batch and answers per event", async () => {
  await using s = await openTestSluice();
  const res = await browserPost(s, "/v1/browser/events", {
    events: [
      { event_id: "bb-1", event_name: "page_view" },
      { event_id: "bb-2" },
      { event_id: "bb-1", event_name: "page_view" },
    ],
  });
  assertCors(res);
  const body = await expectJson<BatchJson>(res, 202);
  assert.deepEqual(body.results.map((r) => r.status), ["accepted", "rejected", "duplicate"]);
  assert.deepEqual(body.results[1]?.errors?.map((e) => e.path), ["events.1.event_name"]);
  assert.equal(await countStored(s), 1);
});

Deno.test("POST /collect answers 202 for a collect-dialect batch with an allowed Origin", async () => {
  await using s = await openTestSluice();
  const res = await browserPost(
    s,
    "/collect",
    {
      events: [
        { event: "PageView", eventId: "c-1", url: "https://shop.example/?fbclid=IwAR-Abc" },
        { name: "Order Completed", id: "c-2", orderId: "o-9", value: 12.5, currency: "USD" },
      ],
    },
    {},
    "198.51.100.20",
  );
  assertCors(res);
  const body = await expectJson<BatchJson>(res, 202);
  assert.equal(body.accepted, 2);
  const pv = await storedEvent(s, "c-1");
  assert.equal(pv.event_name, "page_view");
  assert.equal(pv.dialect, "collect");
  assert.equal(pv.page?.url, "https://shop.example/?fbclid=IwAR-Abc");
  assert.equal(pv.user_data.click_ids?.fbclid, "IwAR-Abc");
  assert.match(pv.user_data.browser_ids?.fbc ?? "", /^fb\.1\.\d{13}\.IwAR-Abc$/);
  assert.equal(pv.user_data.client_ip, "198.51.100.20");
  const order = await storedEvent(s, "c-2");
  assert.equal(order.event_name, "purchase");
  assert.equal(order.order_id, "o-9");
  assert.equal(order.value, 12.5);
  // /collect wants a batch.
  await expectProblem(
    await browserPost(s, "/collect", { event: "PageView" }),
    400,
    ["events"],
  );
});

Deno.test("Browser endpoints answer 403 without CORS headers for a refused Origin", async () => {
  await using s = await openTestSluice();
  for (const path of ["/v1/browser/events", "/collect"]) {
    const body = path === "/collect" ? { events: [{ event: "x" }] } : { event_name: "x" };
    for (const origin of ["https://evil.example", "https://shop.example.evil.example", "null"]) {
      const res = await browserPost(s, path, body, { origin });
      assert.equal(res.headers.get("access-control-allow-origin"), null);
      await expectProblem(res, 403);
    }
    // No Origin at all is refused too.
    const none = await s.request(
      path,
      jsonWith({ public_id: s.workspace.public_id, ...body }, { "user-agent": CHROME }),
    );
    assert.equal(none.headers.get("access-control-allow-origin"), null);
    await expectProblem(none, 403);
  }
  assert.equal(await countStored(s), 0);
});

Deno.test("Browser endpoints answer 401 for an unknown or missing public_id", async () => {
  await using s = await openTestSluice();
  const headers = { origin: ORIGIN, "user-agent": CHROME };
  await expectProblem(
    await s.request(
      "/v1/browser/events",
      jsonWith({ public_id: "pk_unknown", event_name: "x" }, headers),
    ),
    401,
  );
  await expectProblem(
    await s.request("/collect", jsonWith({ public_id: "pk_unknown", events: [{}] }, headers)),
    401,
  );
  await expectProblem(
    await s.request("/v1/browser/events", jsonWith({ event_name: "x" }, headers)),
    401,
  );
  await expectProblem(
    await s.request("/v1/browser/events", jsonWith({ public_id: 5, event_name: "x" }, headers)),
    401,
  );
  // Another workspace's origin does not open this one.
  const other = await s.rt.workspaces.create({
    name: "Other",
    allowed_origins: ["https://other.example"],
  });
  await expectProblem(
    await s.request(
      "/v1/browser/events",
      jsonWith({ public_id: s.workspace.public_id, event_name: "x" }, {
        ...headers,
        origin: "https://other.example",
      }),
    ),
    403,
  );
  const ok = await s.request(
    "/v1/browser/events",
    jsonWith({ public_id: other.workspace.public_id, event_name: "x" }, {
      ...headers,
      origin: "https://other.example",
    }),
  );
  assertCors(ok, "https://other.example");
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
  assert.equal(await countStored(s), 0);
});

Deno.test("OPTIONS on browser endpoints answers 204 for an allowed Origin and 403 otherwise", async () => {
  await using s = await openTestSluice();
  for (const path of ["/v1/browser/events", "/collect"]) {
    const res = await s.request(path, {
      method: "OPTIONS",
      headers: {
        origin: ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(res.status, 204);
    assertCors(res);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /\bPOST\b/);
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /content-type/i);
    const maxAge = Number(res.headers.get("access-control-max-age"));
    assert.ok(Number.isInteger(maxAge) && maxAge > 0);
    assert.equal(await res.text(), "");

    const refused = await s.request(path, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
    await expectProblem(refused, 403);
    const noOrigin = await s.request(path, { method: "OPTIONS" });
    assert.equal(noOrigin.headers.get("access-control-allow-origin"), null);
    await expectProblem(noOrigin, 403);
  }
});

Deno.test("POST /v1/browser/events accepts a text/plain JSON body as sendBeacon sends it", async () => {
  await using s = await openTestSluice();
  const res = await s.request("/v1/browser/events", {
    method: "POST",
    headers: {
      origin: ORIGIN,
      "user-agent": CHROME,
      "content-type": "text/plain;charset=UTF-8",
    },
    body: JSON.stringify({
      public_id: s.workspace.public_id,
      event_id: "beacon-1",
      event_name: "page_view",
    }),
  });
  assertCors(res);
  await expectJson(res, 202);
  assert.equal((await storedEvent(s, "beacon-1")).event_name, "page_view");
  const collect = await s.request("/collect", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "text/plain" },
    body: JSON.stringify({ public_id: s.workspace.public_id, events: [{ event: "lead" }] }),
  });
  await expectJson(collect, 202);
  // Other types are still refused.
  await expectProblem(
    await s.request("/v1/browser/events", {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: `public_id=${s.workspace.public_id}&event_name=x`,
    }),
    415,
  );
});

Deno.test("POST /v1/browser/events takes client IP, User-Agent and platform cookies from the request", async () => {
  await using s = await openTestSluice();
  const res = await browserPost(s, "/v1/browser/events", {
    event_id: "ck-1",
    event_name: "add_to_cart",
    page: { url: "https://shop.example/cart?fbclid=AbC123xYz&utm_campaign=spring" },
  }, {
    cookie: "session=s1; _fbp=fb.1.1700000000000.987654321; _ga=GA1.1.123.456; other=1",
  }, "192.0.2.44");
  await expectJson(res, 202);
  const event = await storedEvent(s, "ck-1");
  assert.equal(event.user_data.client_ip, "192.0.2.44");
  assert.equal(event.user_data.user_agent, CHROME);
  assert.equal(event.user_data.browser_ids?.fbp, "fb.1.1700000000000.987654321");
  assert.equal(event.user_data.browser_ids?.ga, "GA1.1.123.456");
  assert.equal(event.user_data.click_ids?.fbclid, "AbC123xYz");
  // fbc is built from the click id, byte-exact, stamped with the receive time.
  assert.equal(
    event.user_data.browser_ids?.fbc,
    `fb.1.${Date.parse(event.received_at)}.AbC123xYz`,
  );
  assert.deepEqual(event.utm, { campaign: "spring" });
  assert.equal(event.properties.session, undefined);
});

Deno.test("POST /v1/browser/events keeps browser ids the page sent over cookie-derived ones", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await browserPost(s, "/v1/browser/events", {
      event_id: "own-1",
      event_name: "lead",
      user_data: { browser_ids: { fbc: "fb.1.1.given" } },
      page: { url: "https://shop.example/?fbclid=zzz" },
    }, { cookie: "_fbp=fb.1.2.cookie" }),
    202,
  );
  const event = await storedEvent(s, "own-1");
  assert.equal(event.user_data.browser_ids?.fbc, "fb.1.1.given");
  assert.equal(event.user_data.browser_ids?.fbp, "fb.1.2.cookie");
});

Deno.test("Browser endpoints drop bot traffic with 202 and store nothing", async () => {
  await using s = await openTestSluice();
  for (const path of ["/v1/browser/events", "/collect"]) {
    const body = path === "/collect"
      ? { events: [{ event: "PageView" }, { event: "lead" }] }
      : { event_id: "bot-1", event_name: "page_view" };
    const res = await browserPost(s, path, body, { "user-agent": GOOGLEBOT });
    assertCors(res);
    const answer = await expectJson<{ success: boolean; dropped: number }>(res, 202);
    assert.equal(answer.success, true);
    assert.equal(answer.dropped, path === "/collect" ? 2 : 1);
  }
  assert.equal(await countStored(s), 0);
  // The id was not consumed: a real browser may still send it.
  await expectJson(
    await browserPost(s, "/v1/browser/events", { event_id: "bot-1", event_name: "page_view" }),
    202,
  );
});

Deno.test("POST /v1/browser/events answers 429 with Retry-After past the per-IP limit", async () => {
  await using s = await openTestSluice();
  await patchSettings(s, { browser_rate_limit_per_minute: 3 });
  await awayFromMinuteEdge();
  const send = (i: number, ip: string) =>
    browserPost(s, "/v1/browser/events", { event_id: `rl-${ip}-${i}`, event_name: "x" }, {}, ip);
  for (let i = 0; i < 3; i++) {
    const ok = await send(i, "203.0.113.1");
    assert.equal(ok.status, 202);
    await ok.body?.cancel();
  }
  const limited = await send(3, "203.0.113.1");
  const retryAfter = limited.headers.get("retry-after");
  assertCors(limited);
  await expectProblem(limited, 429);
  assert.match(retryAfter ?? "", /^\d+$/);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);
  // Another client IP has its own budget.
  const other = await send(0, "203.0.113.2");
  assert.equal(other.status, 202);
  await other.body?.cancel();
  // The per-IP limit counts requests, not events.
  const batch = await browserPost(
    s,
    "/v1/browser/events",
    {
      events: [1, 2, 3, 4, 5].map((i) => ({ event_id: `rl-batch-${i}`, event_name: "x" })),
    },
    {},
    "203.0.113.3",
  );
  assert.equal((await expectJson<BatchJson>(batch, 202)).accepted, 5);
  assert.equal(await countStored(s), 9);
});

Deno.test("POST /v1/browser/events answers 429 past the workspace rate limit, with CORS", async () => {
  await using s = await openTestSluice();
  await patchSettings(s, { rate_limit_per_minute: 2 });
  await awayFromMinuteEdge();
  const first = await browserPost(
    s,
    "/v1/browser/events",
    {
      events: [{ event_name: "a" }, { event_name: "b" }],
    },
    {},
    "203.0.113.10",
  );
  await expectJson(first, 202);
  const limited = await browserPost(
    s,
    "/v1/browser/events",
    { event_name: "c" },
    {},
    "203.0.113.11",
  );
  assertCors(limited);
  assert.match(limited.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
  await expectProblem(limited, 429);
  assert.equal(await countStored(s), 2);
});

Deno.test("Browser endpoints use X-Forwarded-For only from a trusted proxy", async () => {
  await using trusted = await openTestSluice({ SLUICE_TRUSTED_PROXIES: "127.0.0.1" });
  await expectJson(
    await browserPost(trusted, "/v1/browser/events", { event_id: "xff-1", event_name: "x" }, {
      "x-forwarded-for": "198.51.100.7, 127.0.0.1",
    }, "127.0.0.1"),
    202,
  );
  assert.equal((await storedEvent(trusted, "xff-1")).user_data.client_ip, "198.51.100.7");
  // From a peer that is not the proxy, the header is the client's own claim: ignored.
  await expectJson(
    await browserPost(trusted, "/v1/browser/events", { event_id: "xff-2", event_name: "x" }, {
      "x-forwarded-for": "198.51.100.7",
    }, "192.0.2.50"),
    202,
  );
  assert.equal((await storedEvent(trusted, "xff-2")).user_data.client_ip, "192.0.2.50");
  await using direct = await openTestSluice();
  await expectJson(
    await browserPost(direct, "/v1/browser/events", { event_id: "xff-3", event_name: "x" }, {
      "x-forwarded-for": "198.51.100.7",
    }, "127.0.0.1"),
    202,
  );
  assert.equal((await storedEvent(direct, "xff-3")).user_data.client_ip, "127.0.0.1");
});

Deno.test("The per-IP browser limit follows the forwarded client behind a trusted proxy", async () => {
  await using s = await openTestSluice({ SLUICE_TRUSTED_PROXIES: "127.0.0.1" });
  await patchSettings(s, { browser_rate_limit_per_minute: 1 });
  await awayFromMinuteEdge();
  const send = (client: string) =>
    browserPost(s, "/v1/browser/events", { event_name: "x" }, { "x-forwarded-for": client });
  await expectJson(await send("198.51.100.1"), 202);
  await expectJson(await send("198.51.100.2"), 202);
  await expectProblem(await send("198.51.100.1"), 429);
});

Deno.test("Browser endpoints answer 400 for malformed bodies, with CORS once the Origin is known", async () => {
  await using s = await openTestSluice();
  const raw = (body: string) =>
    s.request("/v1/browser/events", {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json" },
      body,
    });
  await expectProblem(await raw("{"), 400);
  await expectProblem(await raw(""), 400);
  const invalid = await browserPost(s, "/v1/browser/events", { event_name: "x", value: "abc" });
  assertCors(invalid);
  await expectProblem(invalid, 400, ["value"]);
  const big = await browserPost(s, "/v1/browser/events", {
    event_name: "x",
    pad: "a".repeat(600 * 1024),
  });
  await expectProblem(big, 413);
  assert.equal(await countStored(s), 0);
});

// Regression (fixed): lib/dialects/collect.ts collectToNative() reads `ALIASES[key] ?? key` on a plain
// object literal; for a field named like an Object.prototype member (toString, valueOf,
// constructor) the alias is a function, so the value is stored under the key
// "function toString() { [native code] }". Expected: properties.toString === "y".
Deno.test({
  name: "POST /collect keeps fields named like Object.prototype members under their names",
  fn: async () => {
    await using s = await openTestSluice();
    await expectJson(
      await browserPost(s, "/collect", {
        events: [{ event: "lead", eventId: "proto-1", toString: "y", valueOf: "z" }],
      }),
      202,
    );
    const event = await storedEvent(s, "proto-1");
    assert.deepEqual(event.properties, { toString: "y", valueOf: "z" });
  },
});

/**
 * The identity endpoints over HTTP (app.request on :memory: KV): /v1/u.js, /bootstrap's
 * server-set cookies, magic links (/m) and the identity graph that enriches server events.
 */
import assert from "node:assert/strict";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import { expectJson, expectProblem, storedEvent } from "./_http.ts";
import { signLinkToken } from "../lib/identity/link_tokens.ts";
import { sharedCookieDomain } from "../routes/ingest/pixel.ts";

const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

interface BootstrapJson {
  anonymous_id: string;
  browser_ids?: { fbp?: string; fbc?: string };
  click_ids?: Record<string, string>;
  utm?: Record<string, string>;
  linked?: boolean;
}

/** Set-Cookie headers by cookie name: [value, attributes]. */
function setCookies(res: Response): Map<string, [string, string]> {
  return new Map(
    res.headers.getSetCookie().map((line) => {
      const [pair = "", ...attributes] = line.split("; ");
      const eq = pair.indexOf("=");
      return [pair.slice(0, eq), [pair.slice(eq + 1), attributes.join("; ")]];
    }),
  );
}

function bootstrap(
  s: TestSluice,
  query: string,
  headers: Record<string, string> = {},
  url = "https://t.shop.example",
): Promise<Response> {
  return s.request(
    `${url}/bootstrap?id=${s.workspace.public_id}&${query}`,
    { headers: { origin: "https://www.shop.example", "user-agent": CHROME, ...headers } },
    "198.51.100.7",
  );
}

function browserEvent(
  s: TestSluice,
  event: Record<string, unknown>,
  cookie = "",
): Promise<Response> {
  return s.request("/v1/browser/events", {
    method: "POST",
    headers: {
      "content-type": "text/plain;charset=UTF-8",
      origin: ORIGIN,
      "user-agent": CHROME,
      ...(cookie ? { cookie } : {}),
    },
    body: JSON.stringify({ public_id: s.workspace.public_id, events: [event] }),
  }, "203.0.113.5");
}

function serverEvent(s: TestSluice, event: Record<string, unknown>): Promise<Response> {
  return s.request("/v1/events", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${s.workspace.ingest_key}`,
    },
    body: JSON.stringify(event),
  });
}

const GRANTED = {
  ad_user_data: "granted",
  ad_personalization: "granted",
  analytics_storage: "granted",
};

Deno.test("GET /v1/u.js answers a loader naming the workspace; 404 for an unknown id, 400 without one", async () => {
  await using s = await openTestSluice();
  const res = await s.request(`/v1/u.js?id=${s.workspace.public_id}&consent=required`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "public, max-age=300");
  const text = await res.text();
  assert.ok(text.includes(`"data-public-id","${s.workspace.public_id}"`));
  assert.ok(text.includes(`"data-consent","required"`));
  assert.ok(text.includes("(w.sluice.q=w.sluice.q||[]).push(arguments)"));
  const etag = res.headers.get("etag")!;
  const cached = await s.request(`/v1/u.js?id=${s.workspace.public_id}&consent=required`, {
    headers: { "if-none-match": etag },
  });
  assert.equal(cached.status, 304);
  await expectProblem(await s.request("/v1/u.js?id=pk_nobody"), 404);
  await expectProblem(await s.request("/v1/u.js"), 400, ["id"]);
  await expectProblem(await s.request(`/v1/u.js?id=${s.workspace.public_id}&consent=x`), 400, [
    "consent",
  ]);
});

Deno.test("GET /bootstrap sets the anonymous id, fbp and fbc as server cookies and answers them to the allowed origin", async () => {
  await using s = await openTestSluice({}, ["https://www.shop.example"]);
  const res = await bootstrap(s, "ads=1&fbclid=IwAR_Case-Kept&gclid=Cj0&utm_source=news&email=x");
  const body = await expectJson<BootstrapJson>(res, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), "https://www.shop.example");
  assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.match(body.anonymous_id, /^[a-f0-9]{32}$/);
  assert.match(body.browser_ids?.fbp ?? "", /^fb\.1\.\d{13}\.\d+$/);
  assert.match(body.browser_ids?.fbc ?? "", /^fb\.1\.\d{13}\.IwAR_Case-Kept$/);
  assert.deepEqual(body.click_ids, { fbclid: "IwAR_Case-Kept", gclid: "Cj0" });
  assert.deepEqual(body.utm, { source: "news" });
  const cookies = setCookies(res);
  assert.deepEqual(cookies.get("sluice_aid"), [
    body.anonymous_id,
    "Path=/; Max-Age=34560000; SameSite=Lax; Secure; HttpOnly",
  ]);
  assert.deepEqual(cookies.get("_fbp"), [
    body.browser_ids?.fbp,
    "Path=/; Max-Age=34560000; SameSite=Lax; Domain=shop.example; Secure",
  ]);
  assert.deepEqual(cookies.get("_fbc"), [
    body.browser_ids?.fbc,
    "Path=/; Max-Age=7776000; SameSite=Lax; Domain=shop.example; Secure",
  ]);
  assert.equal(
    cookies.get("sluice_src")?.[1],
    "Path=/; Max-Age=7776000; SameSite=Lax; Secure; HttpOnly",
  );
  assert.equal(
    decodeURIComponent(cookies.get("sluice_src")?.[0] ?? ""),
    "fbclid=IwAR_Case-Kept&gclid=Cj0&utm_source=news",
  );

  // Next page: the cookies come back; nothing is rebuilt, only the id's lifetime is renewed.
  const cookie = [...cookies].map(([name, [value]]) => `${name}=${value}`).join("; ");
  const again = await bootstrap(s, "ads=1", { cookie });
  const next = await expectJson<BootstrapJson>(again, 200);
  assert.deepEqual(next, body);
  assert.deepEqual([...setCookies(again).keys()], ["sluice_aid"]);

  // A new click with another fbclid rewrites fbc; the same fbclid keeps it (and its time).
  const same = await expectJson<BootstrapJson>(
    await bootstrap(s, "ads=1&fbclid=IwAR_Case-Kept", { cookie }),
    200,
  );
  assert.equal(same.browser_ids?.fbc, body.browser_ids?.fbc);
  const other = await expectJson<BootstrapJson>(
    await bootstrap(s, "ads=1&fbclid=IwAR_other", { cookie }),
    200,
  );
  assert.match(other.browser_ids?.fbc ?? "", /\.IwAR_other$/);
  assert.equal(other.browser_ids?.fbp, body.browser_ids?.fbp);
});

Deno.test("GET /bootstrap without ad consent sets only the anonymous id and keeps no click id", async () => {
  await using s = await openTestSluice({}, ["https://www.shop.example"]);
  const res = await bootstrap(s, "fbclid=IwAR&utm_medium=cpc", {}, "http://t.shop.example");
  const body = await expectJson<BootstrapJson>(res, 200);
  assert.deepEqual(Object.keys(body).sort(), ["anonymous_id", "utm"]);
  const cookies = setCookies(res);
  assert.deepEqual([...cookies.keys()].sort(), ["sluice_aid", "sluice_src"]);
  assert.ok(!cookies.get("sluice_aid")?.[1].includes("Secure"), "plain http: no Secure");
  // A click id kept under an earlier consent is dropped once consent is withdrawn.
  const withdrawn = await bootstrap(s, "", { cookie: "sluice_src=gclid%3DCj0%26utm_medium%3Dcpc" });
  assert.deepEqual((await expectJson<BootstrapJson>(withdrawn, 200)).utm, { medium: "cpc" });
  assert.equal(
    decodeURIComponent(setCookies(withdrawn).get("sluice_src")?.[0] ?? ""),
    "utm_medium=cpc",
  );
});

Deno.test("GET /bootstrap refuses other origins (403) and unknown public ids (401); reset starts a new id", async () => {
  await using s = await openTestSluice({}, ["https://www.shop.example"]);
  const denied = await bootstrap(s, "ads=1", { origin: "https://evil.example" });
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  await expectProblem(denied, 403);
  await expectProblem(await s.request("/bootstrap?id=pk_nobody"), 401);
  const first = await expectJson<BootstrapJson>(await bootstrap(s, ""), 200);
  const cookie = `sluice_aid=${first.anonymous_id}`;
  assert.equal(
    (await expectJson<BootstrapJson>(await bootstrap(s, "", { cookie }), 200)).anonymous_id,
    first.anonymous_id,
  );
  const reset = await expectJson<BootstrapJson>(await bootstrap(s, "reset=1", { cookie }), 200);
  assert.notEqual(reset.anonymous_id, first.anonymous_id);
  // Without a cookie (a cross-site set-up), the id the pixel kept is reused.
  const echoed = await expectJson<BootstrapJson>(
    await bootstrap(s, `aid=${first.anonymous_id}`),
    200,
  );
  assert.equal(echoed.anonymous_id, first.anonymous_id);
});

Deno.test("GET /bootstrap keeps fbp stable when its cookie is lost, from the identity graph", async () => {
  await using s = await openTestSluice({}, [ORIGIN, "https://www.shop.example"]);
  const first = await expectJson<BootstrapJson>(await bootstrap(s, "ads=1"), 200);
  const fbp = first.browser_ids?.fbp;
  await expectJson(
    await browserEvent(s, {
      event_name: "page_view",
      user_data: { browser_ids: { fbp } },
      consent: GRANTED,
    }, `sluice_aid=${first.anonymous_id}`),
    202,
  );
  await s.rt.committer.idle();
  const later = await expectJson<BootstrapJson>(
    await bootstrap(s, "ads=1", { cookie: `sluice_aid=${first.anonymous_id}` }),
    200,
  );
  assert.equal(later.browser_ids?.fbp, fbp);
});

Deno.test("sharedCookieDomain() is the parent two hosts share, never an IP or a single label", () => {
  assert.equal(sharedCookieDomain("t.shop.example", "www.shop.example"), "shop.example");
  assert.equal(sharedCookieDomain("shop.example", "www.shop.example"), "shop.example");
  assert.equal(sharedCookieDomain("t.shop.example", "t.shop.example"), undefined);
  assert.equal(sharedCookieDomain("t.other.example", "www.shop.example"), undefined);
  assert.equal(sharedCookieDomain("127.0.0.1", "127.0.0.1"), undefined);
  assert.equal(sharedCookieDomain("t.example", "localhost"), undefined);
});

Deno.test("a server event naming a person gains the browser ids of that person's latest session", async () => {
  await using s = await openTestSluice();
  const aid = "aid0000000000000000000000000001";
  await expectJson(
    await browserEvent(s, {
      event_id: "identify-1",
      event_name: "identify",
      page: { url: "https://shop.example/login?gclid=Cj0-click" },
      user_data: {
        customer_id: "u-42",
        email: "Ada@Example.com",
        browser_ids: { fbp: "fb.1.1700000000000.11", fbc: "fb.1.1700000000000.IwAR" },
      },
      consent: GRANTED,
    }, `sluice_aid=${aid}`),
    202,
  );
  await s.rt.committer.idle();
  for (
    const [id, userData] of [
      ["by-email", { email: " ada@example.com " }],
      ["by-user", { customer_id: "u-42" }],
      ["by-hashed-email", {
        email: "8b1ea7b7d7b3d9d0b8bd1ec0a9b1ce3a3c4b6e35b3d0f93a6e5b0fa1c7c1b1e0",
      }],
      ["by-anon", { anonymous_id: aid }],
    ] as const
  ) {
    await expectJson(
      await serverEvent(s, { event_id: id, event_name: "purchase", user_data: userData }),
      202,
    );
  }
  const byEmail = await storedEvent(s, "by-email");
  assert.equal(byEmail.user_data.browser_ids?.fbp, "fb.1.1700000000000.11");
  assert.equal(byEmail.user_data.browser_ids?.fbc, "fb.1.1700000000000.IwAR");
  assert.equal(byEmail.user_data.click_ids?.gclid, "Cj0-click");
  assert.equal(byEmail.user_data.client_ip, "203.0.113.5");
  assert.equal(byEmail.user_data.user_agent, CHROME);
  assert.equal(byEmail.user_data.anonymous_id, aid);
  assert.equal(
    (await storedEvent(s, "by-user")).user_data.browser_ids?.fbp,
    "fb.1.1700000000000.11",
  );
  assert.equal(
    (await storedEvent(s, "by-anon")).user_data.browser_ids?.fbp,
    "fb.1.1700000000000.11",
  );
  // A hash of another address finds nobody.
  assert.equal((await storedEvent(s, "by-hashed-email")).user_data.browser_ids, undefined);
  // The graph holds hashes, never the raw email.
  for await (const entry of s.rt.kv.list({ prefix: ["idn_person"] })) {
    assert.ok(!JSON.stringify(entry.key).includes("@"), JSON.stringify(entry.key));
  }
  for await (const entry of s.rt.kv.list({ prefix: ["idn_link"] })) {
    assert.ok(!JSON.stringify(entry.value).includes("@"));
  }
});

Deno.test("enrichment never replaces what the server sent and skips events whose consent denies ad use", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await browserEvent(s, {
      event_name: "identify",
      user_data: { email: "grace@example.com", browser_ids: { fbp: "fb.1.1.browser" } },
      consent: GRANTED,
    }, "sluice_aid=aid0000000000000000000000000002; _fbc=fb.1.1.cookie-fbc"),
    202,
  );
  await s.rt.committer.idle();
  await expectJson(
    await serverEvent(s, {
      event_id: "own-ids",
      event_name: "purchase",
      user_data: { email: "grace@example.com", fbp: "fb.1.2.server", client_ip: "192.0.2.1" },
    }),
    202,
  );
  const own = await storedEvent(s, "own-ids");
  assert.equal(own.user_data.browser_ids?.fbp, "fb.1.2.server");
  assert.equal(own.user_data.browser_ids?.fbc, "fb.1.1.cookie-fbc");
  assert.equal(own.user_data.client_ip, "192.0.2.1");
  await expectJson(
    await serverEvent(s, {
      event_id: "denied",
      event_name: "purchase",
      user_data: { email: "grace@example.com" },
      consent: { ad_user_data: "denied" },
    }),
    202,
  );
  const denied = await storedEvent(s, "denied");
  assert.equal(denied.user_data.browser_ids, undefined);
  assert.equal(denied.user_data.anonymous_id, undefined);
});

Deno.test("a browser event whose consent denies ad use keeps no ad cookie and writes nothing to the graph", async () => {
  await using s = await openTestSluice();
  await expectJson(
    await browserEvent(s, {
      event_id: "denied-browser",
      event_name: "identify",
      page: { url: "https://shop.example/?fbclid=IwAR" },
      user_data: { email: "lin@example.com" },
      consent: { ad_user_data: "denied", analytics_storage: "granted" },
    }, "sluice_aid=aid0000000000000000000000000003; _fbp=fb.1.1.x; _ga=GA1.1.1.2"),
    202,
  );
  const stored = await storedEvent(s, "denied-browser");
  assert.deepEqual(stored.user_data.browser_ids, { ga: "GA1.1.1.2" });
  assert.equal(stored.user_data.click_ids, undefined);
  assert.equal(stored.user_data.anonymous_id, "aid0000000000000000000000000003");
  await s.rt.committer.idle();
  const graph = [];
  for await (const entry of s.rt.kv.list({ prefix: ["idn_person"] })) graph.push(entry.key);
  for await (const entry of s.rt.kv.list({ prefix: ["idn_anon"] })) graph.push(entry.key);
  assert.deepEqual(graph, []);
});

Deno.test("a duplicate browser event writes nothing to the graph (the writes ride in its commit)", async () => {
  await using s = await openTestSluice();
  const event = {
    event_id: "dup-1",
    event_name: "page_view",
    user_data: { browser_ids: { fbp: "fb.1.1.first" } },
    consent: GRANTED,
  };
  const cookie = "sluice_aid=aid0000000000000000000000000004";
  await expectJson(await browserEvent(s, event, cookie), 202);
  await s.rt.committer.idle();
  const before = await s.rt.identity.snapshot(s.workspace.id, "aid0000000000000000000000000004");
  assert.equal(before?.browser_ids?.fbp, "fb.1.1.first");
  const again = await browserEvent(s, {
    ...event,
    user_data: { browser_ids: { fbp: "fb.1.1.second" } },
  }, cookie);
  assert.equal((await expectJson<{ duplicates: number }>(again, 202)).duplicates, 1);
  await s.rt.committer.idle();
  const after = await s.rt.identity.snapshot(s.workspace.id, "aid0000000000000000000000000004");
  assert.equal(after?.browser_ids?.fbp, "fb.1.1.first");
});

Deno.test("GET /m links the browser to the token's user, then redirects only to an allowed origin", async () => {
  await using s = await openTestSluice();
  const aid = "aid0000000000000000000000000005";
  await expectJson(
    await browserEvent(s, {
      event_name: "page_view",
      user_data: { browser_ids: { fbp: "fb.1.1.magic" } },
      consent: GRANTED,
    }, `sluice_aid=${aid}`),
    202,
  );
  await s.rt.committer.idle();
  const { token } = s.rt.linkTokens.mint(s.workspace.id, "u-9", { ttlSeconds: 600 });
  const link = (query: string, headers: Record<string, string> = {}, method = "GET") =>
    s.request(`/m?_uid=${encodeURIComponent(token)}${query}`, {
      method,
      headers: { cookie: `sluice_aid=${aid}`, "user-agent": CHROME, ...headers },
    });
  await expectProblem(await link("&to=https://evil.example/x"), 400, ["to"]);
  await expectProblem(await link("&to=javascript:alert(1)"), 400, ["to"]);
  await expectProblem(await link("&to=//evil.example"), 400, ["to"]);
  const redirected = await link(`&to=${encodeURIComponent("https://shop.example/account?x=1")}`);
  assert.equal(redirected.status, 302);
  assert.equal(redirected.headers.get("location"), "https://shop.example/account?x=1");
  assert.equal((await link("")).status, 204);
  await expectProblem(await link("", { origin: "https://evil.example" }, "POST"), 403);
  const posted = await link("", { origin: ORIGIN }, "POST");
  assert.equal(posted.status, 204);
  assert.equal(posted.headers.get("access-control-allow-credentials"), "true");

  await expectJson(
    await serverEvent(s, {
      event_id: "u9-order",
      event_name: "purchase",
      user_data: { customer_id: "u-9" },
    }),
    202,
  );
  const order = await storedEvent(s, "u9-order");
  assert.equal(order.user_data.browser_ids?.fbp, "fb.1.1.magic");
  assert.equal(order.user_data.anonymous_id, aid);
});

Deno.test("GET /m refuses expired, forged and malformed tokens (401) and a missing one (400)", async () => {
  await using s = await openTestSluice();
  const key = s.rt.linkTokens.keyFor(s.workspace.id);
  const now = Math.floor(Date.now() / 1000);
  const expired = signLinkToken(key, { ws: s.workspace.id, uid: "u", exp: now - 1 });
  const forged = signLinkToken(new Uint8Array(32), { ws: s.workspace.id, uid: "u", exp: now + 60 });
  const tooLong = signLinkToken(key, { ws: s.workspace.id, uid: "u", exp: now + 40 * 86_400 });
  for (const token of [expired, forged, tooLong, "v1.e30.x", "nonsense"]) {
    await expectProblem(await s.request(`/m?_uid=${encodeURIComponent(token)}`), 401);
  }
  await expectProblem(await s.request("/m"), 400, ["_uid"]);
  // The documented algorithm, done by hand, makes a token Sluice accepts.
  const valid = signLinkToken(key, { ws: s.workspace.id, uid: "u-1", exp: now + 60 });
  assert.equal((await s.request(`/m?_uid=${valid}`)).status, 204);
});

Deno.test("GET /bootstrap with a magic-link token links the browser (the pixel's way)", async () => {
  await using s = await openTestSluice({}, ["https://www.shop.example"]);
  const { token } = s.rt.linkTokens.mint(s.workspace.id, "u-boot", { ttlSeconds: 600 });
  const res = await bootstrap(s, `ads=1&_uid=${encodeURIComponent(token)}`);
  const body = await expectJson<BootstrapJson>(res, 200);
  assert.equal(body.linked, true);
  await expectJson(
    await serverEvent(s, {
      event_id: "boot-order",
      event_name: "purchase",
      user_data: { customer_id: "u-boot" },
    }),
    202,
  );
  const order = await storedEvent(s, "boot-order");
  assert.equal(order.user_data.anonymous_id, body.anonymous_id);
  assert.equal(order.user_data.browser_ids?.fbp, body.browser_ids?.fbp);
  assert.equal(order.user_data.user_agent, CHROME);
});

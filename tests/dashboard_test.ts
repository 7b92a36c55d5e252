import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { deliveryKey } from "../lib/kv/keys.ts";
import type { DeliveryRow } from "../lib/delivery/rows.ts";
import {
  cookiesOf,
  createAccount,
  getPage,
  loginForm,
  postForm,
  postLogin,
  signIn,
  TEST_PASSWORD,
} from "./_dashboard.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const OWNER = "owner@example.com";

async function withOwner(s: TestSluice) {
  await createAccount(s, OWNER, "instance");
  return await signIn(s, OWNER);
}

/** Sends one purchase with PII and waits until its delivery row says `status`. */
async function sendPurchase(s: TestSluice, destId: string, status: string, orderId = "ORD-1") {
  const res = await s.request(
    "/v1/events",
    jsonInit({
      event_name: "purchase",
      order_id: orderId,
      value: 10,
      currency: "EUR",
      user_data: { email: "jane.doe@example.com", phone: "+4915112345678" },
      properties: { coupon: "SECRET-COUPON" },
    }, s.workspace.ingest_key),
  );
  const { event_id } = await res.json();
  const view = await s.rt.events.getByEventId(s.workspace.id, event_id);
  await eventually(`the delivery to be ${status}`, async () => {
    const row =
      (await s.rt.kv.get<DeliveryRow>(deliveryKey(s.workspace.id, view!.event.id, destId)))
        .value;
    return row?.status === status ? row : undefined;
  });
  return { eventId: event_id as string, ulid: view!.event.id };
}

async function metaAt(s: TestSluice, url: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta pixel",
      config: { pixel_id: "123", access_token: "EAABverysecrettoken", endpoint: url },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201);
  return (await res.json()).id;
}

const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "50ms" };

Deno.test("GET / without a session redirects to /login, keeping where to go next", async () => {
  await using s = await openTestSluice();
  const res = await s.request("/events?status=failed", {
    headers: { accept: "text/html" },
    redirect: "manual",
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/login?next=%2Fevents%3Fstatus%3Dfailed");
});

Deno.test("POST /login sets an HttpOnly, SameSite=Lax session cookie; Secure behind https", async () => {
  await using s = await openTestSluice();
  await createAccount(s, OWNER, "instance");
  const res = await postLogin(s, OWNER, TEST_PASSWORD);
  assert.equal(res.status, 303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("sluice_session="))!;
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.doesNotMatch(cookie, /Secure/);
  const form = await loginForm(s);
  const https = await s.request("/login", {
    method: "POST",
    headers: {
      cookie: form.cookie,
      origin: "http://localhost",
      "x-forwarded-proto": "https",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: form.token, email: OWNER, password: TEST_PASSWORD }),
    redirect: "manual",
  });
  assert.match(
    https.headers.getSetCookie().find((c) => c.startsWith("sluice_session="))!,
    /Secure/,
  );
  // The session is stored under the hash of the cookie value, never the value itself.
  const id = cookie.split(";")[0]!.split("=")[1]!;
  assert.ok((await s.rt.kv.get(["session", sha256Hex(id)])).value);
  assert.equal((await s.rt.kv.get(["session", id])).value, null);
});

Deno.test("POST /login refuses a wrong password (401), a missing form token or another origin (403)", async () => {
  await using s = await openTestSluice();
  await createAccount(s, OWNER, "instance");
  const wrong = await postLogin(s, OWNER, "not the password");
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /Wrong email or password/);
  const foreign = await postLogin(s, OWNER, TEST_PASSWORD, { origin: "https://evil.example" });
  assert.equal(foreign.status, 403);
  const noToken = await s.request("/login", {
    method: "POST",
    headers: { origin: "http://localhost", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: OWNER, password: TEST_PASSWORD }),
  });
  assert.equal(noToken.status, 403);
});

Deno.test("sign-in is throttled per account after 5 failures and per IP after 20 (429, Retry-After)", async () => {
  await using s = await openTestSluice();
  await createAccount(s, OWNER, "instance");
  for (let i = 0; i < 5; i++) {
    assert.equal((await postLogin(s, OWNER, `wrong ${i}`, { ip: "203.0.113.5" })).status, 401);
  }
  // Even the right password waits now, from any IP.
  const blocked = await postLogin(s, OWNER, TEST_PASSWORD, { ip: "198.51.100.7" });
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get("retry-after")) > 0);
  assert.match(await blocked.text(), /Too many failed sign-ins[^<]*Try again in \d+ minute/);
  // One IP guessing many accounts is stopped too.
  for (let i = 0; i < 20; i++) {
    await postLogin(s, `nobody${i}@example.com`, "guess", { ip: "192.0.2.9" });
  }
  const byIp = await postLogin(s, "someone-else@example.com", "guess", { ip: "192.0.2.9" });
  assert.equal(byIp.status, 429);
});

Deno.test("dashboard POSTs need the session's CSRF token (field or header) and this origin", async () => {
  await using s = await openTestSluice();
  const owner = await withOwner(s);
  const form = { email: "new@example.com", role: "viewer" };
  assert.equal((await postForm(s, owner, "/people/invite", form, { csrf: null })).status, 403);
  assert.equal((await postForm(s, owner, "/people/invite", form, { csrf: "forged" })).status, 403);
  const foreign = await postForm(s, owner, "/people/invite", form, {
    origin: "https://evil.example",
  });
  assert.equal(foreign.status, 403);
  assert.equal((await s.rt.invitations.list(s.workspace.id)).length, 0);
  const viaHeader = await s.request("/people/invite", {
    method: "POST",
    headers: {
      cookie: owner.cookie,
      "x-csrf-token": owner.csrf,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form),
  });
  assert.equal(viaHeader.status, 200);
  assert.equal((await s.rt.invitations.list(s.workspace.id)).length, 1);
});

Deno.test("POST /logout ends the session", async () => {
  await using s = await openTestSluice();
  const owner = await withOwner(s);
  const out = await postForm(s, owner, "/logout");
  assert.equal(out.status, 303);
  assert.equal((await getPage(s, owner, "/")).status, 303);
});

Deno.test("an invitation link makes an account with its role, once; the owner sees the audit entries", async () => {
  await using s = await openTestSluice();
  const owner = await withOwner(s);
  const created = await postForm(s, owner, "/people/invite", {
    email: "Ann@Example.com",
    role: "viewer",
  });
  const html = await created.text();
  const link = /(\/invite\/inv_[A-Za-z0-9]+)/.exec(html)?.[1];
  assert.ok(link, "the invitation link is shown once");
  const tooShort = await s.request(link, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password: "short" }),
  });
  assert.equal(tooShort.status, 400);
  const accepted = await s.request(link, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" },
    body: new URLSearchParams({ password: TEST_PASSWORD }),
    redirect: "manual",
  });
  assert.equal(accepted.status, 303);
  assert.ok(cookiesOf(accepted).includes("sluice_session="));
  const again = await s.request(link, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password: TEST_PASSWORD }),
  });
  assert.equal(again.status, 404);
  const ann = (await s.rt.accounts.byEmail("ann@example.com"))!;
  assert.equal(await s.rt.accounts.roleIn(ann, s.workspace.id), "viewer");
  const audit = await (await getPage(s, owner, "/audit")).text();
  assert.match(audit, /member\.invite/);
  assert.match(audit, /member\.join/);
  assert.doesNotMatch(audit, /inv_[A-Za-z0-9]{40}/, "the token is not in the log");
});

Deno.test("a viewer sees statuses but no PII or bodies, and cannot replay; a member can, audited", async () => {
  await using mock = mockPlatform(() =>
    Response.json({ events_received: 1, fbtrace_id: "Trace42" })
  );
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  const { eventId } = await sendPurchase(s, destId, "delivered");
  await createAccount(s, "viewer@example.com", "viewer");
  await createAccount(s, "member@example.com", "member");
  const viewer = await signIn(s, "viewer@example.com");
  const member = await signIn(s, "member@example.com");

  const seen = await (await getPage(s, viewer, `/events/${eventId}`)).text();
  assert.match(seen, /chip-delivered/);
  assert.match(seen, /events_received=1 fbtrace_id=Trace42/);
  for (
    const secret of ["jane.doe", "4915112345678", "SECRET-COUPON", "fbtrace_id&quot;:", "curl "]
  ) {
    assert.ok(!seen.includes(secret), `the viewer's page does not show ${secret}`);
  }
  assert.equal((await postForm(s, viewer, `/events/${eventId}/replay`)).status, 403);
  const byEmail = await getPage(s, viewer, "/search?q=jane.doe%40example.com");
  assert.equal(byEmail.status, 403, "a viewer's email search would tell who has events");
  assert.match(await byEmail.text(), /Viewers cannot search by email/);
  const memberSearch = await getPage(s, member, "/search?q=jane.doe%40example.com");
  assert.equal(memberSearch.headers.get("location"), `/events/${eventId}`);

  const full = await (await getPage(s, member, `/events/${eventId}`)).text();
  assert.match(full, /jane\.doe@example\.com/);
  assert.match(full, /access_token=\*\*\*\*\*\*\*\*/);
  assert.ok(!full.includes("EAABverysecrettoken"), "the access token is masked");
  const replay = await postForm(s, member, `/events/${eventId}/replay`);
  assert.equal(replay.status, 303);
  assert.match(replay.headers.get("location")!, /done=replay/);
  const log = await s.rt.audit.list(s.workspace.id, { limit: 10 });
  assert.ok(log.data.some((e) => e.action === "event.replay" && e.target === eventId));
});

Deno.test("a row's attempt history survives retry-failed and replay", async () => {
  let fail = true;
  await using mock = mockPlatform(() =>
    fail
      ? Response.json({ error: { message: "Invalid parameter", code: 100 } }, { status: 400 })
      : Response.json({ events_received: 1, fbtrace_id: "Ok1" })
  );
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  const { eventId, ulid } = await sendPurchase(s, destId, "failed");
  const owner = await withOwner(s);
  const overview = await (await getPage(s, owner, "/")).text();
  assert.match(overview, /<strong>1<\/strong><span>failed<\/span>/);
  assert.match(overview, /Last error[^<]*<\/span> [^<]*Invalid parameter/);
  const failed = `/events?status=failed&platform=${destId}`;
  assert.ok(overview.includes(failed.replace("&", "&amp;")), "the card links to its failures");
  assert.match(await (await getPage(s, owner, failed)).text(), new RegExp(eventId));
  assert.doesNotMatch(
    await (await getPage(s, owner, "/events?status=delivered")).text(),
    new RegExp(eventId),
  );
  fail = false;
  assert.equal((await postForm(s, owner, `/events/${eventId}/retry-failed`)).status, 303);
  const row = await eventually("the retry to deliver", async () => {
    const r = (await s.rt.kv.get<DeliveryRow>(deliveryKey(s.workspace.id, ulid, destId))).value;
    return r?.status === "delivered" ? r : undefined;
  });
  assert.deepEqual(row.history?.map((h) => h.note ?? h.status), [
    "failed",
    "retry_failed",
    "delivered",
  ]);
  assert.equal(row.history?.[0]?.http_status, 400);
  assert.match(row.history?.[0]?.response ?? "", /Invalid parameter/);
  assert.match(row.history?.[0]?.request?.url ?? "", /access_token=\*{8}$/);
  const page = await (await getPage(s, owner, `/events/${eventId}`)).text();
  assert.match(page, /Invalid parameter/);
  assert.match(page, /retry failed/);
});

Deno.test("the search box opens an event by order id, event id, click id or email", async () => {
  await using s = await openTestSluice();
  const owner = await withOwner(s);
  const res = await s.request(
    "/v1/events",
    jsonInit({
      event_name: "purchase",
      order_id: "ORD-77",
      user_data: { email: "Find.Me@example.com", fbclid: "IwAR123" },
    }, s.workspace.ingest_key),
  );
  const { event_id } = await res.json();
  for (const q of ["ORD-77", event_id, "IwAR123", "find.me@example.com"]) {
    const hit = await getPage(s, owner, `/search?q=${encodeURIComponent(q)}`);
    assert.equal(hit.status, 303, q);
    assert.equal(hit.headers.get("location"), `/events/${event_id}`);
  }
  const none = await (await getPage(s, owner, "/search?q=nothing-like-it")).text();
  assert.match(none, /No event matches/);

  // Behind 5,500 newer events the hashed index still finds it; a second purchase by the same
  // email makes the search a list, newest first.
  for (let batch = 0; batch < 11; batch++) {
    const events = Array.from({ length: 500 }, (_, i) => ({
      event_id: `pv-${batch}-${i}`,
      event_name: "page_view",
      user_data: { anonymous_id: `a-${batch}-${i}` },
    }));
    const sent = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
    assert.equal(sent.status, 202);
    await sent.body?.cancel();
  }
  for (const q of ["ORD-77", " IWAR123 "]) {
    await eventually(`${q} found behind 5,500 newer events`, async () => {
      const hit = await getPage(s, owner, `/search?q=${encodeURIComponent(q)}`);
      await hit.body?.cancel();
      return hit.headers.get("location") === `/events/${event_id}` || undefined;
    });
  }
  const again = await s.request(
    "/v1/events",
    jsonInit({
      event_id: "second-purchase",
      event_name: "purchase",
      user_data: { email: "find.me@EXAMPLE.com" },
    }, s.workspace.ingest_key),
  );
  assert.equal(again.status, 202);
  await again.body?.cancel();
  const both = await eventually("the second purchase indexed", async () => {
    const html = await (await getPage(s, owner, "/search?q=Find.Me%40example.com")).text();
    return /2 events match/.test(html) ? html : undefined;
  });
  assert.ok(both.indexOf("second-purchase") < both.indexOf(event_id), "newest first");
});

Deno.test("the workspace switcher shows only the account's workspaces; the instance owner sees all", async () => {
  await using s = await openTestSluice();
  const other = await s.rt.workspaces.create({ name: "Other shop" });
  const owner = await withOwner(s);
  await createAccount(s, "member@example.com", "member");
  const member = await signIn(s, "member@example.com");
  assert.match(await (await getPage(s, owner, "/")).text(), /Other shop/);
  assert.doesNotMatch(await (await getPage(s, member, "/")).text(), /Other shop/);
  const refused = await postForm(s, member, "/switch", { workspace: other.workspace.id });
  assert.equal(refused.status, 404);
  const switched = await postForm(s, owner, "/switch", { workspace: other.workspace.id });
  assert.equal(switched.status, 303);
  assert.match(
    await (await getPage(s, owner, "/")).text(),
    /<option value="[^"]+" selected>Other shop/,
  );
});

Deno.test("API changes are recorded in the audit log with the key's id, without secrets", async () => {
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, "http://127.0.0.1:9");
  const del = await s.request(`/v1/platforms/${destId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  assert.equal(del.status, 204);
  const log = await s.rt.audit.list(s.workspace.id, { limit: 10 });
  assert.deepEqual(log.data.map((e) => [e.action, e.actor.kind]), [
    ["platform.delete", "api_key"],
    ["platform.create", "api_key"],
  ]);
  assert.equal(log.data[0]?.target, destId);
  assert.equal(log.data[1]?.target, destId, "a create names what it created");
  assert.ok(!JSON.stringify(log).includes("EAABverysecrettoken"));
});

Deno.test("bootstrapOwner() creates the instance owner only while no account exists", async () => {
  await using s = await openTestSluice();
  const first = await s.rt.accounts.bootstrapOwner("Boss@Example.com", TEST_PASSWORD);
  assert.equal(first?.email, "boss@example.com");
  assert.equal(first?.instance_owner, true);
  assert.equal(await s.rt.accounts.bootstrapOwner("other@example.com", TEST_PASSWORD), null);
});

Deno.test("built islands are served immutable; other files under /static/build are not", async () => {
  await using s = await openTestSluice();
  const owner = await withOwner(s);
  const live = await (await getPage(s, owner, "/live")).text();
  const src = /<script type="module" src="(\/static\/build\/LiveEvents\.[0-9a-f]+\.js)"/.exec(live)
    ?.[1];
  assert.ok(src, "the live page loads its island");
  const js = await s.request(src);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  await js.body?.cancel();
  assert.equal((await s.request("/static/build/manifest.json")).status, 404);
  assert.equal((await s.request("/static/build/..%2F..%2Fdeno.json")).status, 404);
});

Deno.test("the API gives what the pages show: an event's own request (masked) and the audit log", async () => {
  await using mock = mockPlatform(() => Response.json({ events_received: 1, fbtrace_id: "T1" }));
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  const { eventId } = await sendPurchase(s, destId, "delivered");
  const auth = { headers: { authorization: `Bearer ${s.workspace.admin_key}` } };
  const res = await s.request(`/v1/events/${eventId}/deliveries/${destId}/request`, auth);
  const request = await res.json();
  assert.equal(res.status, 200, JSON.stringify(request));
  assert.equal(request.method, "POST");
  assert.match(request.url, /\/123\/events\?access_token=\*{8}$/);
  assert.ok(!JSON.stringify(request).includes("EAABverysecrettoken"));
  assert.match(request.body, /"em":\["[0-9a-f]{64}"\]/, "identifiers are sent hashed");
  assert.match(request.curl, /^curl -X POST '/);
  const missing = await s.request(`/v1/events/${eventId}/deliveries/dst_nope/request`, auth);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const audit = await (await s.request("/v1/audit", auth)).json();
  assert.deepEqual(audit.data.map((e: { action: string }) => e.action), ["platform.create"]);
});

Deno.test("forward sends the event to every destination ticked, through the engine", async () => {
  await using mock = mockPlatform(() => Response.json({ events_received: 1, fbtrace_id: "F1" }));
  await using s = await openTestSluice(ENV);
  const first = await metaAt(s, mock.url);
  const second = await metaAt(s, mock.url);
  const { eventId, ulid } = await sendPurchase(s, first, "delivered");
  const owner = await withOwner(s);
  const body = new URLSearchParams([["_csrf", owner.csrf], ["platforms", first], [
    "platforms",
    second,
  ]]);
  const res = await s.request(`/events/${eventId}/forward`, {
    method: "POST",
    headers: {
      cookie: owner.cookie,
      origin: "http://localhost",
      "content-type": "application/x-www-form-urlencoded",
    },
    body,
    redirect: "manual",
  });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("location")!, /done=forward/);
  for (const dest of [first, second]) {
    const row = await eventually(`the forward to ${dest}`, async () => {
      const r = (await s.rt.kv.get<DeliveryRow>(deliveryKey(s.workspace.id, ulid, dest))).value;
      return r?.history?.some((h) => h.note === "forward") && r.status === "delivered"
        ? r
        : undefined;
    });
    assert.equal(row.status, "delivered");
  }
});

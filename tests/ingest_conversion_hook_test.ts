import assert from "node:assert/strict";
import { openTestSluice } from "./_harness.ts";
import {
  type AcceptedJson,
  countStored,
  expectJson,
  expectProblem,
  jsonWith,
  storedEvent,
} from "./_http.ts";
import { expectDuplicate } from "./_ingest.ts";

Deno.test("GET /collect/hook answers 202 and stores the flat conversion", async () => {
  await using s = await openTestSluice();
  const query = new URLSearchParams({
    k: s.workspace.ingest_key,
    event: "Purchase",
    event_id: "hook-1",
    value: "10",
    currency: "EUR",
    email: "ada@example.com",
    phoneNumber: "+44 20 7946 0958",
    firstName: "Ada",
    lastName: "Lovelace",
    order_id: "1001",
    campaign_note: "spring",
  });
  const res = await s.request(`/collect/hook?${query}`, {
    headers: { "user-agent": "Zapier", "x-forwarded-for": "198.51.100.1" },
  });
  const body = await expectJson<AcceptedJson>(res, 202);
  assert.equal(body.success, true);
  assert.equal(body.event_id, "hook-1");
  assert.equal(typeof body.trace_id, "string");

  const event = await storedEvent(s, "hook-1");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Purchase");
  assert.equal(event.value, 10);
  assert.equal(event.currency, "EUR");
  assert.equal(event.order_id, "1001");
  assert.equal(event.source, "crm");
  assert.equal(event.dialect, "hook");
  assert.equal(event.user_data.email, "ada@example.com");
  assert.equal(event.user_data.phone, "+44 20 7946 0958");
  assert.equal(event.user_data.first_name, "Ada");
  assert.equal(event.user_data.last_name, "Lovelace");
  assert.deepEqual(event.properties, { campaign_note: "spring" });
  // The hook tool's own IP and agent are not the customer's.
  assert.equal(event.user_data.client_ip, undefined);
  assert.equal(event.user_data.user_agent, undefined);
  // The key never ends up in the event.
  assert.ok(!JSON.stringify(event).includes(s.workspace.ingest_key));
});

Deno.test("POST /collect/hook accepts a JSON body with the key in the query", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    `/collect/hook?k=${s.workspace.ingest_key}`,
    jsonWith({
      event: "Lead",
      eventId: "hook-json",
      value: 25.5,
      currency: "usd",
      email: "grace@example.com",
      utm_medium: "email",
    }, {}),
  );
  assert.equal((await expectJson<AcceptedJson>(res, 202)).event_id, "hook-json");
  const event = await storedEvent(s, "hook-json");
  assert.equal(event.event_name, "lead");
  assert.equal(event.value, 25.5);
  assert.equal(event.currency, "USD");
  assert.equal(event.user_data.email, "grace@example.com");
  assert.deepEqual(event.properties, { utm_medium: "email" });
});

Deno.test("POST /collect/hook accepts a form-urlencoded body", async () => {
  await using s = await openTestSluice();
  const res = await s.request(`/collect/hook?k=${s.workspace.ingest_key}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      event: "CompleteRegistration",
      event_id: "hook-form",
      value: "0",
      email: "linus@example.com",
      first_name: "Linus",
      empty: "",
    }).toString(),
  });
  assert.equal((await expectJson<AcceptedJson>(res, 202)).event_id, "hook-form");
  const event = await storedEvent(s, "hook-form");
  assert.equal(event.event_name, "complete_registration");
  assert.equal(event.value, 0);
  assert.equal(event.user_data.email, "linus@example.com");
  assert.equal(event.user_data.first_name, "Linus");
  assert.deepEqual(event.properties, {});
});

Deno.test("/collect/hook answers 200 with duplicate: true when the event_id repeats", async () => {
  await using s = await openTestSluice();
  const url = `/collect/hook?k=${s.workspace.ingest_key}&event=lead&event_id=hook-dup`;
  await expectJson(await s.request(url), 202);
  await expectDuplicate(await s.request(url), "hook-dup");
  assert.equal(await countStored(s), 1);
});

Deno.test("/collect/hook answers 401 for a missing or bad k", async () => {
  await using s = await openTestSluice();
  await expectProblem(await s.request("/collect/hook?event=lead"), 401);
  await expectProblem(await s.request("/collect/hook?k=&event=lead"), 401);
  await expectProblem(await s.request("/collect/hook?k=sk_nope&event=lead"), 401);
  await expectProblem(
    await s.request("/collect/hook?k=sk_nope", jsonWith({ event: "lead" }, {})),
    401,
  );
  // A Bearer header is not the hook's credential: k is.
  await expectProblem(
    await s.request("/collect/hook?event=lead", {
      headers: { authorization: `Bearer ${s.workspace.ingest_key}` },
    }),
    401,
  );
  assert.equal(await countStored(s), 0);
});

Deno.test("/collect/hook answers 400 without an event and for invalid fields", async () => {
  await using s = await openTestSluice();
  const k = s.workspace.ingest_key;
  const missing = await expectProblem(
    await s.request(`/collect/hook?k=${k}&value=10&email=a@example.com`),
    400,
  );
  assert.ok(missing.errors?.some((e) => /event/.test(e.path)), JSON.stringify(missing));
  await expectProblem(await s.request(`/collect/hook?k=${k}&event=`), 400);
  await expectProblem(
    await s.request(`/collect/hook?k=${k}`, jsonWith({ value: 3 }, {})),
    400,
  );
  await expectProblem(await s.request(`/collect/hook?k=${k}&event=x&value=abc`), 400, ["value"]);
  await expectProblem(
    await s.request(`/collect/hook?k=${k}&event=x&currency=euros`),
    400,
    ["currency"],
  );
  await expectProblem(
    await s.request(`/collect/hook?k=${k}`, jsonWith([{ event: "x" }], {})),
    400,
  );
  await expectProblem(await s.request(`/collect/hook?k=${k}`, jsonWith("{", {})), 400);
  await expectProblem(
    await s.request(`/collect/hook?k=${k}`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: "event\nlead",
    }),
    415,
  );
  assert.equal(await countStored(s), 0);
});

Deno.test("/collect/hook dedups on order_id when no event_id is sent: a retried shop webhook is one purchase", async () => {
  await using s = await openTestSluice();
  const url = `/collect/hook?k=${s.workspace.ingest_key}`;
  const order = {
    event: "Purchase",
    order_id: "wc-1001",
    value: "49.90",
    currency: "EUR",
    email: "ada@example.com",
  };
  const first = await expectJson<AcceptedJson>(await s.request(url, jsonWith(order, {})), 202);
  assert.equal(first.event_id, "wc-1001");
  await expectDuplicate(await s.request(url, jsonWith(order, {})), "wc-1001");
  // The same order as a form post, and as a GET, is the same purchase.
  const form = await s.request(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ event: "Purchase", orderId: "wc-1001" }).toString(),
  });
  await expectDuplicate(form, "wc-1001");
  await expectDuplicate(await s.request(`${url}&event=Purchase&order_id=wc-1001`), "wc-1001");
  assert.equal(await countStored(s), 1);
  const event = await storedEvent(s, "wc-1001");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.order_id, "wc-1001");
  assert.equal(event.value, 49.9);
});

import assert from "node:assert/strict";
import { openTestSluice } from "./_harness.ts";
import {
  type AcceptedJson,
  type BatchJson,
  bearer,
  countStored,
  expectJson,
  expectProblem,
  jsonWith,
  segmentBasic,
  storedEvent,
} from "./_http.ts";
import { expectDuplicate } from "./_ingest.ts";

Deno.test("POST /v1/track answers 202 with the write key as Basic user name", async () => {
  await using s = await openTestSluice();
  const ts = new Date(Date.now() - 60_000).toISOString();
  const res = await s.request(
    "/v1/track",
    jsonWith({
      messageId: "seg-1",
      event: "Order Completed",
      userId: "user-42",
      anonymousId: "anon-7",
      timestamp: ts,
      properties: {
        order_id: "1001",
        revenue: 49.9,
        currency: "EUR",
        coupon: "X",
        products: [{ product_id: "sku-1", quantity: 2, price: 24.95 }],
      },
      context: { traits: { email: "ada@example.com" }, ip: "203.0.113.9" },
    }, segmentBasic(s.workspace.ingest_key)),
  );
  assert.equal((await expectJson<AcceptedJson>(res, 202)).event_id, "seg-1");
  const event = await storedEvent(s, "seg-1");
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Order Completed");
  assert.equal(event.dialect, "segment");
  assert.equal(event.event_time, new Date(Date.parse(ts)).toISOString());
  assert.equal(event.value, 49.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.order_id, "1001");
  assert.equal(event.user_data.email, "ada@example.com");
  assert.equal(event.user_data.customer_id, "user-42");
  assert.equal(event.user_data.anonymous_id, "anon-7");
  assert.equal(event.user_data.client_ip, "203.0.113.9");
  assert.equal(event.properties.coupon, "X");
  assert.deepEqual(
    (event.items as { id: string; quantity: number; price: number }[]).map((
      { id, quantity, price },
    ) => ({ id, quantity, price })),
    [{ id: "sku-1", quantity: 2, price: 24.95 }],
  );
});

Deno.test("Segment endpoints accept writeKey in the body and a Bearer key", async () => {
  await using s = await openTestSluice();
  const inBody = await s.request(
    "/v1/track",
    jsonWith({ writeKey: s.workspace.ingest_key, messageId: "wk-1", event: "Signed Up" }, {}),
  );
  assert.equal((await expectJson<AcceptedJson>(inBody, 202)).event_id, "wk-1");
  const stored = await storedEvent(s, "wk-1");
  assert.equal(stored.event_name, "complete_registration");
  assert.ok(!JSON.stringify(stored).includes(s.workspace.ingest_key), "writeKey was stored");

  const withBearer = await s.request(
    "/v1/track",
    jsonWith({ messageId: "wk-2", event: "Custom Thing" }, bearer(s.workspace.ingest_key)),
  );
  await expectJson(withBearer, 202);
  assert.equal((await storedEvent(s, "wk-2")).event_name, "Custom Thing");
});

Deno.test("POST /v1/batch answers per message, in order, with shared context", async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/batch",
    jsonWith({
      context: { ip: "198.51.100.3" },
      batch: [
        {
          type: "page",
          messageId: "sb-1",
          anonymousId: "anon-1",
          name: "Home",
          properties: { url: "https://shop.example/?gclid=G1", title: "Home" },
        },
        {
          type: "identify",
          messageId: "sb-2",
          userId: "u-1",
          traits: { email: "grace@example.com", firstName: "Grace", plan: "pro" },
        },
        { type: "track", messageId: "sb-3", event: "Product Added", userId: "u-1" },
        { type: "track", messageId: "sb-4", userId: "u-1", timestamp: "not a time" },
        { type: "screen", messageId: "sb-5", name: "Cart", userId: "u-1" },
      ],
    }, segmentBasic(s.workspace.ingest_key)),
  );
  const body = await expectJson<BatchJson>(res, 202);
  assert.equal(body.accepted, 4);
  assert.equal(body.rejected, 1);
  assert.deepEqual(body.results.map((r) => [r.event_id, r.status]), [
    ["sb-1", "accepted"],
    ["sb-2", "accepted"],
    ["sb-3", "accepted"],
    ["sb-4", "rejected"],
    ["sb-5", "accepted"],
  ]);
  assert.ok(body.results[3]?.errors?.every((e) => e.path.startsWith("batch.3")));

  const page = await storedEvent(s, "sb-1");
  assert.equal(page.event_name, "page_view");
  assert.equal(page.page?.url, "https://shop.example/?gclid=G1");
  assert.equal(page.user_data.click_ids?.gclid, "G1");
  assert.equal(page.user_data.client_ip, "198.51.100.3");
  const identify = await storedEvent(s, "sb-2");
  assert.equal(identify.event_name, "identify");
  assert.equal(identify.user_data.email, "grace@example.com");
  assert.equal(identify.user_data.first_name, "Grace");
  assert.equal(identify.user_data.customer_id, "u-1");
  assert.equal((await storedEvent(s, "sb-3")).event_name, "add_to_cart");
  assert.equal((await storedEvent(s, "sb-5")).event_name, "screen_view");
  assert.equal(await countStored(s), 4);
});

Deno.test("POST /v1/identify and /v1/page map the call to its event", async () => {
  await using s = await openTestSluice();
  const auth = segmentBasic(s.workspace.ingest_key);
  await expectJson(
    await s.request(
      "/v1/identify",
      jsonWith({
        messageId: "id-1",
        userId: "u-9",
        traits: { email: "alan@example.com", phone: "+1 555 0100", address: { city: "Paris" } },
      }, auth),
    ),
    202,
  );
  const identify = await storedEvent(s, "id-1");
  assert.equal(identify.event_name, "identify");
  assert.equal(identify.user_data.email, "alan@example.com");
  assert.equal(identify.user_data.phone, "+1 555 0100");
  assert.equal(identify.user_data.city, "Paris");
  assert.equal(identify.user_data.customer_id, "u-9");

  await expectJson(
    await s.request(
      "/v1/page",
      jsonWith({
        messageId: "pg-1",
        anonymousId: "a-1",
        name: "Pricing",
        properties: { url: "https://shop.example/pricing", referrer: "https://search.example/" },
      }, auth),
    ),
    202,
  );
  const page = await storedEvent(s, "pg-1");
  assert.equal(page.event_name, "page_view");
  assert.equal(page.page?.url, "https://shop.example/pricing");
  assert.equal(page.page?.path, "/pricing");
  assert.equal(page.page?.referrer, "https://search.example/");
  assert.equal(page.properties.name, "Pricing");

  for (const call of ["screen", "group", "alias"]) {
    const res = await s.request(
      `/v1/${call}`,
      jsonWith({ messageId: `${call}-1`, userId: "u-9", groupId: "g", previousId: "p" }, auth),
    );
    await expectJson(res, 202);
  }
  assert.equal((await storedEvent(s, "screen-1")).event_name, "screen_view");
  assert.equal((await storedEvent(s, "group-1")).properties.group_id, "g");
  assert.equal((await storedEvent(s, "alias-1")).properties.previous_id, "p");
});

Deno.test("Segment messageId dedups Segment's retries, answered 200 as Segment does", async () => {
  await using s = await openTestSluice();
  const auth = segmentBasic(s.workspace.ingest_key);
  const message = { messageId: "retry-1", event: "Order Completed", properties: { revenue: 5 } };
  await expectJson(await s.request("/v1/track", jsonWith(message, auth)), 202);
  await expectDuplicate(await s.request("/v1/track", jsonWith(message, auth)), "retry-1");
  // A retried batch: known messages are duplicates, new ones accepted.
  const batch = await expectJson<BatchJson>(
    await s.request(
      "/v1/batch",
      jsonWith({
        batch: [
          { ...message, type: "track" },
          { type: "track", messageId: "retry-2", event: "Lead Generated" },
        ],
      }, auth),
    ),
    202,
  );
  assert.deepEqual(batch.results.map((r) => r.status), ["duplicate", "accepted"]);
  const again = await expectJson<BatchJson>(
    await s.request(
      "/v1/batch",
      jsonWith(
        { batch: [{ type: "track", messageId: "retry-2", event: "Lead Generated" }] },
        auth,
      ),
    ),
    202,
  );
  assert.equal(again.duplicates, 1);
  assert.equal(await countStored(s), 2);
});

Deno.test("Segment endpoints answer 401 for a bad or missing write key", async () => {
  await using s = await openTestSluice();
  const message = { messageId: "bad-1", event: "x" };
  await expectProblem(
    await s.request("/v1/track", jsonWith(message, segmentBasic("sk_nope"))),
    401,
  );
  await expectProblem(await s.request("/v1/track", jsonWith(message, {})), 401);
  await expectProblem(
    await s.request("/v1/track", jsonWith({ ...message, writeKey: "nope" }, {})),
    401,
  );
  await expectProblem(
    await s.request("/v1/batch", jsonWith({ batch: [message] }, segmentBasic("wrong"))),
    401,
  );
  await expectProblem(
    await s.request("/v1/track", jsonWith(message, { authorization: "Basic !!!" })),
    401,
  );
  // The admin key may ingest too; a read-only key may not.
  const read = await s.rt.apiKeys.create(s.workspace.id, { name: "r", scopes: ["read"] });
  await expectProblem(
    await s.request("/v1/track", jsonWith(message, segmentBasic(read.secret))),
    403,
  );
  assert.equal(await countStored(s), 0);
});

Deno.test("POST /v1/batch answers 400 without a batch array and 413 past 500 messages", async () => {
  await using s = await openTestSluice();
  const auth = segmentBasic(s.workspace.ingest_key);
  await expectProblem(
    await s.request("/v1/batch", jsonWith({ type: "track", event: "x" }, auth)),
    400,
    ["batch"],
  );
  await expectProblem(await s.request("/v1/batch", jsonWith({ batch: [] }, auth)), 400, [
    "batch",
  ]);
  await expectProblem(await s.request("/v1/batch", jsonWith({ batch: "x" }, auth)), 400, [
    "batch",
  ]);
  const many = Array.from({ length: 501 }, (_, i) => ({ messageId: `m${i}`, event: "x" }));
  await expectProblem(await s.request("/v1/batch", jsonWith({ batch: many }, auth)), 413);
  await expectProblem(await s.request("/v1/track", jsonWith({ messageId: "t" }, auth)), 400);
  assert.equal(await countStored(s), 0);
});

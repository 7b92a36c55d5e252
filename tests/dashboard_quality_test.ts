import assert from "node:assert/strict";
import { createAccount, getPage, signIn } from "./_dashboard.ts";
import { connectPlatform, DELIVERY_ENV, ingestEvents, settledDelivery } from "./_delivery.ts";
import { openTestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";

Deno.test("GET /quality shows each destination's score, what to add next and no PII", async () => {
  await using s = await openTestSluice(DELIVERY_ENV);
  await using meta = mockPlatform();
  await connectPlatform(s, {
    type: "meta",
    name: "Meta pixel",
    config: { pixel_id: "123", access_token: "EAABverysecrettoken", endpoint: meta.url },
  });
  const events = [
    { user_data: { email: "jane.doe@example.com" } },
    { user_data: { email: "john.roe@example.com" } },
    { user_data: { email: "ann.poe@example.com", phone: "+4915112345678" } },
    { user_data: {} },
  ].map((extra, i) => ({
    event_id: `q-${i}`,
    event_name: "purchase",
    order_id: `ORD-${i}`,
    value: 10,
    currency: "EUR",
    ...extra,
  }));
  await ingestEvents(s, events);
  for (const e of events) await settledDelivery(s, e.event_id);

  await createAccount(s, "owner@example.com", "instance");
  const owner = await signIn(s, "owner@example.com");
  const res = await getPage(s, owner, "/quality");
  const html = await res.text();
  assert.equal(res.status, 200, html);
  assert.match(html, /<h1>Data quality<\/h1>/);
  assert.match(html, /href="\/quality" aria-current="page"/);
  assert.match(html, /Meta pixel/);
  assert.match(html, /<option value="7d" selected/);
  assert.match(html, /<strong>3\.5 \/ 10<\/strong><span>match quality/, "the score");
  assert.match(html, /add phone: present on 33 % of purchases/);
  assert.match(html, /class="bar-fill w35"/, "phone on 1 of the 3 sent");
  assert.match(html, /4 orders received/);
  assert.match(html, /skipped: validation/, "the event without identifiers");
  assert.match(html, /href="\/search\?q=ORD-3"/, "the missing order links to its event");

  const day = await getPage(s, owner, "/quality?range=24h");
  assert.match(await day.text(), /<option value="24h" selected/);

  await createAccount(s, "viewer@example.com", "viewer");
  const viewer = await signIn(s, "viewer@example.com");
  const seen = await getPage(s, viewer, "/quality");
  const page = await seen.text();
  assert.equal(seen.status, 200, page);
  assert.match(page, /add phone/);
  for (const pii of ["jane.doe", "john.roe", "ann.poe", "4915112345678", "EAABverysecrettoken"]) {
    assert.ok(!page.includes(pii), `the page shows no ${pii}`);
  }
});

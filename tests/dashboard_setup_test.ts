/**
 * The dashboard's failures, destinations and settings pages over HTTP (app.request on
 * `:memory:` KV): what each shows, its forms, validation next to the field, the viewer's
 * 403s, and the audit entries.
 */
import assert from "node:assert/strict";
import type { DeliveryRow } from "../lib/delivery/rows.ts";
import { deliveryKey } from "../lib/kv/keys.ts";
import { createAccount, getPage, postForm, type SignedIn, signIn } from "./_dashboard.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const OWNER = "owner@example.com";
const VIEWER = "viewer@example.com";
const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "50ms" };

async function owner(s: TestSluice): Promise<SignedIn> {
  await createAccount(s, OWNER, "instance");
  return await signIn(s, OWNER);
}

async function viewer(s: TestSluice): Promise<SignedIn> {
  await createAccount(s, VIEWER, "viewer");
  return await signIn(s, VIEWER);
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

/** Sends purchases and waits until each delivery to `destId` says `status`. */
async function sendPurchases(s: TestSluice, destId: string, status: string, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await s.request(
      "/v1/events",
      jsonInit({
        event_name: "purchase",
        order_id: `ORD-${i}`,
        value: 10,
        currency: "EUR",
        user_data: { email: `buyer${i}@example.com` },
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
    ids.push(event_id);
  }
  return ids;
}

function failingMeta() {
  return mockPlatform(() =>
    Response.json({ error: { message: "Invalid parameter", code: 100 } }, { status: 400 })
  );
}

async function auditActions(s: TestSluice): Promise<string[]> {
  const { data } = await s.rt.audit.list(s.workspace.id, { limit: 50 });
  return data.map((e) => `${e.action}${e.note ? ` ${e.note}` : ""}`);
}

Deno.test("GET /failures groups failed deliveries by destination and reason, with example events", async () => {
  await using mock = failingMeta();
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  const ids = await sendPurchases(s, destId, "failed", 2);
  const who = await owner(s);
  const res = await getPage(s, who, "/failures");
  const html = await res.text();
  assert.equal(res.status, 200);
  assert.match(html, /Meta pixel/);
  assert.match(html, /Invalid parameter/);
  assert.match(html, /<td data-label="Count" class="num">2<\/td>/);
  for (const id of ids) assert.ok(html.includes(`href="/events/${id}"`), `links to ${id}`);
  assert.match(html, /Retry a filtered set/);
  assert.match(html, /aria-current="page"[^>]*>Failures|href="\/failures" aria-current="page"/);
});

Deno.test("POST /failures/retry counts in a dry run, then the confirm queues them and is audited", async () => {
  await using mock = failingMeta();
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  await sendPurchases(s, destId, "failed", 3);
  const who = await owner(s);
  const dry = await postForm(s, who, "/failures/retry", {
    platform_id: destId,
    status: "failed",
    from: new Date(Date.now() - 3_600_000).toISOString().slice(0, 16),
  });
  const html = await dry.text();
  assert.equal(dry.status, 200, html);
  assert.match(html, /3 deliveries match/);
  assert.match(html, /Queue these 3/);
  const before = mock.received.length;
  assert.deepEqual((await auditActions(s)).filter((a) => a.startsWith("deliveries")), []);
  const hidden = (name: string) =>
    [...html.matchAll(new RegExp(`type="hidden" name="${name}" value="([^"]+)"`, "g"))].map((
      m,
    ) => m[1]!);
  const confirm = new URLSearchParams({ platform_id: destId, confirm: "1" });
  confirm.set("from", hidden("from")[0]!);
  confirm.set("to", hidden("to")[0]!);
  confirm.append("status", "failed");
  const done = await postForm(s, who, "/failures/retry", Object.fromEntries(confirm));
  assert.equal(done.status, 303);
  assert.equal(done.headers.get("location"), "/failures?queued=3");
  await eventually("the retries to reach the platform", () => mock.received.length > before);
  assert.ok((await auditActions(s)).includes("deliveries.retry queued 3 of 3 (failed)"));
  const after = await (await getPage(s, who, "/failures?queued=3")).text();
  assert.match(after, /3 deliveries are queued again/);
});

Deno.test("POST /failures/retry re-renders bad input with the message next to the field", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const res = await postForm(s, who, "/failures/retry", { from: "yesterday", to: "" });
  const html = await res.text();
  assert.equal(res.status, 400);
  assert.match(html, /id="retry-status-error"[^>]*>Choose failed, skipped or both/);
  assert.match(html, /id="retry-from-error"[^>]*>Give a date and time/);
  const later = await postForm(s, who, "/failures/retry", {
    status: "failed",
    from: "2026-02-01T00:00",
    to: "2026-01-01T00:00",
    platform_id: "dst_nope",
  });
  const text = await later.text();
  assert.equal(later.status, 400);
  assert.match(text, /Must not be after the end of the range/);
  assert.match(text, /No such destination in this workspace/);
});

Deno.test("a viewer sees the failure groups but no retry form, and its POST is refused", async () => {
  await using mock = failingMeta();
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  await sendPurchases(s, destId, "failed", 1);
  const who = await viewer(s);
  const html = await (await getPage(s, who, "/failures")).text();
  assert.match(html, /Invalid parameter/);
  assert.doesNotMatch(html, /Retry a filtered set/);
  const res = await postForm(s, who, "/failures/retry", { status: "failed", confirm: "1" });
  assert.equal(res.status, 403);
  assert.deepEqual((await auditActions(s)).filter((a) => a.startsWith("deliveries")), []);
});

Deno.test("/failures?resend=&since= offers the one-click resend of what a fixed destination missed", async () => {
  await using mock = failingMeta();
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  await sendPurchases(s, destId, "failed", 1);
  const who = await owner(s);
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const html = await (await getPage(
    s,
    who,
    `/failures?resend=${destId}&since=${encodeURIComponent(since)}`,
  )).text();
  assert.match(html, /Resend everything it skipped or failed while paused/);
  const res = await postForm(s, who, "/failures/retry", {
    platform_id: destId,
    status: "failed",
    from: since,
    confirm: "1",
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/failures?queued=1");
});

/**
 * The dashboard's failures, destinations and settings pages over HTTP (app.request on
 * `:memory:` KV): what each shows, its forms, validation next to the field, the viewer's
 * 403s, and the audit entries.
 */
import assert from "node:assert/strict";
import { settingsFields } from "../components/settings_form.tsx";
import { CONNECTORS } from "../connectors/mod.ts";
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

Deno.test("GET /destinations/new?type= renders one labelled input per settings field for every connector", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  for (const connector of CONNECTORS) {
    const res = await getPage(s, who, `/destinations/new?type=${connector.id}`);
    const html = await res.text();
    assert.equal(res.status, 200, `${connector.id}: ${html.slice(0, 200)}`);
    const fields = settingsFields(connector);
    assert.deepEqual(
      fields.map((f) => f.name),
      Object.keys((connector.settings as unknown as { shape: object }).shape),
      `${connector.id}: every field has an input`,
    );
    for (const field of fields) {
      assert.ok(
        html.includes(`<label for="config-${field.name}">`),
        `${connector.id}.${field.name}`,
      );
      const input = new RegExp(`<(input|select|textarea)[^>]*id="config-${field.name}"[^>]*>`)
        .exec(html)?.[0] ?? "";
      assert.ok(input, `${connector.id}.${field.name} has a control`);
      if (field.secret) assert.match(input, /type="password"/);
    }
    assert.ok(html.includes(connector.docsUrl.replaceAll("&", "&amp;")), `${connector.id} docs`);
  }
  const meta = await (await getPage(s, who, "/destinations/new?type=meta")).text();
  assert.match(meta, /pixel_id<\/label>/);
  assert.match(meta, /test_event_code \(optional\)<\/label>/);
  assert.match(meta, /Graph API version. Default: v25.0./);
  assert.equal((await getPage(s, who, "/destinations/new?type=nope")).status, 404);
});

Deno.test("POST /destinations/new re-renders bad settings with each message next to its field, then creates", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const bad = await postForm(s, who, "/destinations/new?type=meta", {
    name: "",
    "config.pixel_id": "",
    "config.access_token": "EAABsecret",
    "config.endpoint": "not a url",
  });
  const html = await bad.text();
  assert.equal(bad.status, 400);
  assert.match(html, /id="dest-name-error"[^>]*>Give a name/);
  assert.match(html, /id="config-pixel_id-error"/);
  assert.match(html, /id="config-endpoint-error"/);
  assert.doesNotMatch(html, /EAABsecret/, "a secret is never rendered back");
  assert.match(html, /value="not a url"/);
  const res = await postForm(s, who, "/destinations/new?type=meta", {
    name: "Meta pixel",
    "config.pixel_id": "123",
    "config.access_token": "EAABsecret",
  });
  assert.equal(res.status, 303);
  const location = res.headers.get("location")!;
  const id = /\/destinations\/(dst_[a-z0-9]+)\?done=created/.exec(location)?.[1];
  assert.ok(id, location);
  const dest = (await s.rt.destinations.get(s.workspace.id, id))!;
  assert.equal(s.rt.destinations.settingsOf(dest).access_token, "EAABsecret");
  const detail = await (await getPage(s, who, location)).text();
  assert.match(detail, /Connected\./);
  assert.doesNotMatch(detail, /EAABsecret/);
  assert.match(detail, /Stored; leave blank to keep it/);
  assert.ok((await auditActions(s)).includes("platform.create meta"));
});

Deno.test("POST /destinations/:id keeps a secret left blank, saves the rest, and is audited", async () => {
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, "http://127.0.0.1:9");
  const who = await owner(s);
  const res = await postForm(s, who, `/destinations/${destId}`, {
    name: "Meta renamed",
    "config.pixel_id": "456",
    "config.access_token": "",
    "config.endpoint": "http://127.0.0.1:9",
  });
  assert.equal(res.status, 303, await res.text());
  const dest = (await s.rt.destinations.get(s.workspace.id, destId))!;
  assert.equal(dest.name, "Meta renamed");
  assert.equal(s.rt.destinations.settingsOf(dest).pixel_id, "456");
  assert.equal(s.rt.destinations.settingsOf(dest).access_token, "EAABverysecrettoken");
  const bad = await postForm(s, who, `/destinations/${destId}`, {
    name: "Meta renamed",
    "config.pixel_id": "456",
    "config.endpoint": "ftp://example.com",
  });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /id="config-endpoint-error"/);
  assert.ok((await auditActions(s)).includes("platform.update"));
});

Deno.test("the test button shows the platform's answer; enable/disable and delete with confirmation", async () => {
  await using mock = mockPlatform(() =>
    Response.json({ events_received: 1, fbtrace_id: "TestTrace9" })
  );
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, mock.url);
  const dest = (await s.rt.destinations.get(s.workspace.id, destId))!;
  await s.rt.destinations.update(s.workspace.id, destId, {
    settings: { ...s.rt.destinations.settingsOf(dest), test_event_code: "TEST1" },
    secretFields: ["access_token"],
  });
  const who = await owner(s);
  const test = await postForm(s, who, `/destinations/${destId}/test`);
  const html = await test.text();
  assert.equal(test.status, 200);
  assert.match(html, /Test event accepted/);
  assert.match(html, /HTTP 200/);
  assert.match(html, /TestTrace9/);
  const off = await postForm(s, who, `/destinations/${destId}/enabled`, { enabled: "0" });
  assert.equal(off.status, 303);
  assert.equal((await s.rt.destinations.get(s.workspace.id, destId))!.enabled, false);
  assert.match(await (await getPage(s, who, `/destinations/${destId}`)).text(), />Enable</);
  await postForm(s, who, `/destinations/${destId}/enabled`, { enabled: "1" });
  assert.equal((await s.rt.destinations.get(s.workspace.id, destId))!.enabled, true);
  const ask = await postForm(s, who, `/destinations/${destId}/delete`);
  assert.equal(ask.status, 200);
  assert.match(await ask.text(), /This cannot be undone/);
  assert.ok(await s.rt.destinations.get(s.workspace.id, destId), "not deleted before confirming");
  const del = await postForm(s, who, `/destinations/${destId}/delete`, { confirm: "yes" });
  assert.equal(del.status, 303);
  assert.equal(await s.rt.destinations.get(s.workspace.id, destId), null);
  const actions = await auditActions(s);
  for (const a of ["platform.test accepted, HTTP 200", "platform.disable", "platform.enable"]) {
    assert.ok(actions.includes(a), a);
  }
  assert.ok(actions.includes("platform.delete"));
});

Deno.test("a webhook's generated signing secret is shown once, on the page after connecting", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const res = await postForm(s, who, "/destinations/new?type=webhook", {
    name: "My hook",
    "config.url": "http://127.0.0.1:9/hook",
  });
  const html = await res.text();
  assert.equal(res.status, 200, html.slice(0, 300));
  const secret = /secret: <code class="break">(whsec_[^<]+)<\/code>/.exec(html)?.[1];
  assert.ok(secret, "the generated secret is shown");
  const [dest] = await s.rt.destinations.list(s.workspace.id);
  assert.equal(s.rt.destinations.settingsOf(dest!).secret, secret);
  const again = await (await getPage(s, who, `/destinations/${dest!.id}`)).text();
  assert.ok(!again.includes(secret!), "never shown again");
});

Deno.test("saving a paused destination's settings offers the one-click resend since the pause", async () => {
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, "http://127.0.0.1:9");
  const since = new Date(Date.now() - 600_000).toISOString();
  await s.rt.destinations.setHealth(s.workspace.id, destId, {
    status: "unhealthy",
    reason: "Meta error 190: Invalid OAuth access token",
    since,
  });
  const who = await owner(s);
  const list = await (await getPage(s, who, "/destinations")).text();
  assert.match(list, /Paused since/);
  const failures = await (await getPage(s, who, "/failures")).text();
  assert.match(failures, /Meta pixel is paused/);
  const res = await postForm(s, who, `/destinations/${destId}`, {
    name: "Meta pixel",
    "config.pixel_id": "123",
    "config.access_token": "EAABnewtoken",
    "config.endpoint": "http://127.0.0.1:9",
  });
  assert.equal(res.status, 303);
  const location = res.headers.get("location")!;
  assert.ok(location.includes(`fixed_since=${encodeURIComponent(since)}`), location);
  const html = await (await getPage(s, who, location)).text();
  assert.match(html, /Resend everything it skipped or failed while paused/);
  assert.ok(html.includes(`name="from" value="${since}"`));
});

Deno.test("a viewer sees destinations' health and counts but no forms, and every change is refused", async () => {
  await using s = await openTestSluice(ENV);
  const destId = await metaAt(s, "http://127.0.0.1:9");
  const who = await viewer(s);
  const list = await (await getPage(s, who, "/destinations")).text();
  assert.match(list, /Meta pixel/);
  assert.match(list, /<span>delivered<\/span>/);
  assert.doesNotMatch(list, /Connect a destination/);
  const detail = await (await getPage(s, who, `/destinations/${destId}`)).text();
  assert.doesNotMatch(detail, /<form method="post" action="\/destinations/);
  assert.doesNotMatch(detail, /pixel_id/);
  assert.equal((await getPage(s, who, "/destinations/new?type=meta")).status, 403);
  for (const path of ["", "/test", "/enabled", "/delete"]) {
    const res = await postForm(s, who, `/destinations/${destId}${path}`, { confirm: "yes" });
    assert.equal(res.status, 403, path);
  }
  const create = await postForm(s, who, "/destinations/new?type=meta", { name: "x" });
  assert.equal(create.status, 403);
  assert.ok(await s.rt.destinations.get(s.workspace.id, destId));
  assert.deepEqual((await auditActions(s)).filter((a) => a.startsWith("platform")), [
    "platform.create through the API",
  ]);
});

Deno.test("GET /settings shows the install snippet and waits for the first event, then says when it came", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const html = await (await getPage(s, who, "/settings")).text();
  assert.match(html, /data-public-id=&quot;pk_/);
  assert.match(html, /Copy the snippet/);
  assert.match(html, /Waiting for your first event/);
  assert.match(html, /data-island="FirstEvent"/);
  const waiting = await getPage(s, who, "/settings/install");
  assert.deepEqual(await waiting.json(), { first_event_at: null });
  await s.request(
    "/v1/events",
    jsonInit({ event_name: "page_view", event_id: "ev-first" }, s.workspace.ingest_key),
  );
  const after = await (await getPage(s, who, "/settings/install")).json();
  assert.match(after.first_event_at, /^\d{4}-\d{2}-\d{2}T/);
  assert.match(await (await getPage(s, who, "/settings")).text(), /First event received at/);
});

Deno.test("POST /settings saves origins (wildcards too) and limits, with the API's bounds, audited", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const fields = {
    allowed_origins: "https://shop.example\nhttps://*.shop.example\n",
    dedup_window_seconds: "3600",
    retention_days: "14",
    counter_retention_days: "",
    rate_limit_per_minute: "1000",
    browser_rate_limit_per_minute: "120",
  };
  const res = await postForm(s, who, "/settings", fields);
  assert.equal(res.status, 303, await res.text());
  const ws = (await s.rt.workspaces.get(s.workspace.id))!;
  assert.deepEqual(ws.allowed_origins, ["https://shop.example", "https://*.shop.example"]);
  assert.equal(ws.settings.dedup_window_seconds, 3600);
  assert.equal(ws.settings.retention_days, 14);
  assert.ok(
    (await auditActions(s)).some((a) => a.startsWith("workspace.update allowed_origins")),
  );
  const bad = await postForm(s, who, "/settings", {
    ...fields,
    allowed_origins: "https://shop.example/path\nhttps://a.*.example",
    dedup_window_seconds: "5",
    retention_days: "many",
  });
  const html = await bad.text();
  assert.equal(bad.status, 400);
  assert.match(
    html,
    /id="origins-error"[^>]*>&quot;https:\/\/shop.example\/path&quot; must be an origin only/,
  );
  assert.match(html, /id="s-dedup_window_seconds-error"/);
  assert.match(html, /id="s-retention_days-error"/);
  assert.match(html, /value="many"/);
  assert.equal((await s.rt.workspaces.get(s.workspace.id))!.settings.retention_days, 14);
});

Deno.test("a member or viewer reads the settings but cannot change them", async () => {
  await using s = await openTestSluice(ENV);
  const who = await viewer(s);
  const html = await (await getPage(s, who, "/settings")).text();
  assert.match(html, /Install the browser pixel/);
  assert.match(html, /<dt>Dedup window<\/dt>/);
  assert.doesNotMatch(html, /action="\/settings"/);
  const res = await postForm(s, who, "/settings", { retention_days: "1" });
  assert.equal(res.status, 403);
  assert.equal((await s.rt.workspaces.get(s.workspace.id))!.settings.retention_days, 30);
});

/** The settings form as the page fills it: the workspace's current values. */
async function unchangedForm(s: TestSluice): Promise<Record<string, string>> {
  const { allowed_origins, settings } = (await s.rt.workspaces.get(s.workspace.id))!;
  return {
    allowed_origins: allowed_origins.join("\n"),
    ...Object.fromEntries(
      Object.entries(settings).map(([name, value]) => [name, String(value ?? "")]),
    ),
  };
}

Deno.test("POST /settings sets the workspace's time zone: the overview's and quality's days follow it, a bad one is refused", async () => {
  await using s = await openTestSluice(ENV);
  const who = await owner(s);
  const form = await (await getPage(s, who, "/settings")).text();
  assert.match(form, /<option value="UTC" selected>UTC<\/option>/, "UTC until set");
  assert.match(form, /<option value="Asia\/Kolkata">/, "current names offered");
  const fields = { ...await unchangedForm(s), time_zone: "Asia/Kolkata" };
  const res = await postForm(s, who, "/settings", fields);
  assert.equal(res.status, 303, await res.text());
  assert.equal((await s.rt.workspaces.get(s.workspace.id))!.settings.time_zone, "Asia/Kolkata");
  assert.deepEqual((await auditActions(s)).filter((a) => a.startsWith("workspace.update")), [
    "workspace.update time_zone",
  ]);
  const week = await (await getPage(s, who, "/?range=7d")).text();
  assert.match(week, /<th scope="col">Day \(Asia\/Kolkata\)<\/th>/);
  assert.match(await (await getPage(s, who, "/quality")).text(), /Days in Asia\/Kolkata/);
  assert.match(
    await (await getPage(s, who, "/settings")).text(),
    /<option value="Asia\/Kolkata" selected>/,
  );

  const bad = await postForm(s, who, "/settings", { ...fields, time_zone: "Mars/Olympus" });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /id="s-time_zone-error"[^>]*>[^<]*is not an IANA time zone/);
  assert.equal((await s.rt.workspaces.get(s.workspace.id))!.settings.time_zone, "Asia/Kolkata");
});

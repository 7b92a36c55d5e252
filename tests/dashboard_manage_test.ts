/**
 * The dashboard's management pages over HTTP (app.request, `:memory:` KV): rules with their
 * preview, webhooks with their delivery log and secrets shown once, API keys; viewers
 * refused, bad input answered next to the field, every change audited.
 */
import assert from "node:assert/strict";
import { createAccount, getPage, postForm, type SignedIn, signIn } from "./_dashboard.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";

const OWNER = "owner@example.com";
const VIEWER = "viewer@example.com";
const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1" };

async function withOwner(s: TestSluice): Promise<SignedIn> {
  await createAccount(s, OWNER, "instance");
  return await signIn(s, OWNER);
}

async function withViewer(s: TestSluice): Promise<SignedIn> {
  await createAccount(s, VIEWER, "viewer");
  return await signIn(s, VIEWER);
}

async function metaAt(s: TestSluice, url: string, name = "Meta pixel"): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name,
      config: { pixel_id: "123", access_token: "EAABverysecrettoken", endpoint: url },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function sendEvent(s: TestSluice, name: string, value?: number): Promise<void> {
  const res = await s.request(
    "/v1/events",
    jsonInit({ event_name: name, value, currency: "EUR" }, s.workspace.ingest_key),
  );
  assert.ok(res.ok, await res.text());
}

/** The actions the dashboard (not the API) recorded, newest first. */
async function auditActions(s: TestSluice): Promise<string[]> {
  const { data } = await s.rt.audit.list(s.workspace.id, { limit: 100 });
  return data.filter((e) => e.actor.kind === "account").map((e) => e.action);
}

Deno.test("rules: Preview shows what the rule would change and saves nothing; Save saves and audits", async () => {
  await using s = await openTestSluice(ENV);
  await using mock = mockPlatform(() => Response.json({ events_received: 1 }));
  const meta = await metaAt(s, mock.url);
  const other = await metaAt(s, mock.url, "Second pixel");
  await sendEvent(s, "purchase", 150);
  await sendEvent(s, "purchase", 20);
  await sendEvent(s, "lead");
  const owner = await withOwner(s);
  const fields = {
    name: "Big purchases to Meta only",
    enabled: "on",
    priority: "10",
    event_names: "purchase",
    value_min: "100",
    action: "send",
    destinations: meta,
  };
  const preview = await postForm(s, owner, "/rules/new", { ...fields, intent: "preview" });
  const html = await preview.text();
  assert.equal(preview.status, 200, html);
  assert.match(html, /Of the last 3 events,\s*<strong>1<\/strong>\s*would change/);
  assert.match(html, /Second pixel: <span>sent as purchase<\/span>/);
  assert.match(html, /value="Big purchases to Meta only"/, "the form comes back filled in");
  assert.equal((await s.rt.rules.list(s.workspace.id)).length, 0, "a preview saves nothing");

  const saved = await postForm(s, owner, "/rules/new", { ...fields, intent: "save" });
  assert.equal(saved.status, 303);
  assert.equal(saved.headers.get("location"), "/rules?done=created");
  const [rule] = await s.rt.rules.list(s.workspace.id);
  assert.deepEqual(rule?.action, { type: "send", destinations: [meta] });
  assert.deepEqual(rule?.match, { event_names: ["purchase"], value_min: 100 });
  assert.ok(other);
  const list = await (await getPage(s, owner, "/rules")).text();
  assert.match(list, /Big purchases to Meta only/);
  assert.match(list, /send only to Meta pixel/);
  assert.deepEqual(await auditActions(s), ["rule.create"]);

  // Editing: a preview of an edit replaces the saved rule instead of adding one.
  const edit = await postForm(s, owner, `/rules/${rule!.id}`, {
    ...fields,
    action: "drop",
    intent: "preview",
  });
  assert.match(await edit.text(), /Of the last 3 events,\s*<strong>1<\/strong>/);
  const put = await postForm(s, owner, `/rules/${rule!.id}`, {
    ...fields,
    action: "rename",
    rename_to: "big_purchase",
    properties: 'coupon = "10"\nvip = true',
    intent: "save",
  });
  assert.equal(put.status, 303);
  const changed = await s.rt.rules.get(s.workspace.id, rule!.id);
  assert.deepEqual(changed?.action, {
    type: "rename",
    event_name: "big_purchase",
    destinations: [meta],
  });
  assert.deepEqual(changed?.match.properties, { coupon: "10", vip: true });
  const form = await (await getPage(s, owner, `/rules/${rule!.id}`)).text();
  assert.match(form, /coupon = &quot;10&quot;\nvip = true/, "typed values read back as typed");
});

Deno.test("rules: bad input re-renders the form with the message next to the field (422)", async () => {
  await using s = await openTestSluice(ENV);
  const owner = await withOwner(s);
  const res = await postForm(s, owner, "/rules/new", {
    name: "",
    priority: "soon",
    value_min: "50",
    value_max: "10",
    properties: "no equals sign",
    action: "send",
    destinations: "dst_nope",
    intent: "save",
  });
  const html = await res.text();
  assert.equal(res.status, 422, html);
  assert.match(html, /id="name-error"[^>]*>Give the rule a name/);
  assert.match(html, /id="priority-error"[^>]*>&quot;soon&quot; is not a number/);
  assert.match(html, /id="value_max-error"[^>]*>The largest value must not be below/);
  assert.match(html, /id="properties-error"[^>]*>Write each property as name = value/);
  assert.match(html, /id="destinations-error"[^>]*>Choose destinations of this workspace/);
  assert.match(html, /aria-invalid="true" aria-describedby="priority-error"/);
  const rename = await postForm(s, owner, "/rules/new", {
    name: "r",
    action: "rename",
    intent: "save",
  });
  assert.match(await rename.text(), /id="rename_to-error"[^>]*>Give the name to send instead/);
  assert.equal((await s.rt.rules.list(s.workspace.id)).length, 0);
});

Deno.test("rules: delete asks first, then deletes and audits; viewers read but are refused", async () => {
  await using s = await openTestSluice(ENV);
  const rule = await s.rt.rules.create(s.workspace.id, {
    name: "Drop tests",
    enabled: true,
    priority: 5,
    match: { event_names: ["test"] },
    action: { type: "drop" },
  });
  const viewer = await withViewer(s);
  const list = await (await getPage(s, viewer, "/rules")).text();
  assert.match(list, /Drop tests/);
  assert.doesNotMatch(list, /New rule/);
  const detail = await (await getPage(s, viewer, `/rules/${rule.id}`)).text();
  assert.match(detail, /drop \(send nowhere\)/);
  assert.doesNotMatch(detail, /<form method="post" action="\/rules/);
  assert.equal((await getPage(s, viewer, "/rules/new")).status, 403);
  for (const path of ["/rules/new", `/rules/${rule.id}`, `/rules/${rule.id}/delete`]) {
    const res = await postForm(s, viewer, path, { name: "x", action: "drop", intent: "save" });
    assert.equal(res.status, 403, path);
  }
  assert.ok(await s.rt.rules.get(s.workspace.id, rule.id));

  const owner = await withOwner(s);
  const confirm = await (await getPage(s, owner, `/rules/${rule.id}/delete`)).text();
  assert.match(confirm, /Delete rule: Drop tests\?/);
  assert.match(confirm, /Delete the rule/);
  const res = await postForm(s, owner, `/rules/${rule.id}/delete`);
  assert.equal(res.status, 303);
  assert.equal(await s.rt.rules.get(s.workspace.id, rule.id), null);
  assert.deepEqual(await auditActions(s), ["rule.delete"]);
  assert.equal((await getPage(s, owner, `/rules/${rule.id}`)).status, 404);
});

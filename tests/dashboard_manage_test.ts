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

/** The signing secret a page shows, if any. */
function secretOn(html: string): string | undefined {
  return /<code class="break secret">(whsec_[^<]+)<\/code>/.exec(html)?.[1];
}

Deno.test("webhooks: registering shows the signing secret once; bad input answers next to the field", async () => {
  await using s = await openTestSluice(ENV);
  const owner = await withOwner(s);
  const bad = await postForm(s, owner, "/webhooks", { url: "ftp://nope", events: "bogus.type" });
  const badHtml = await bad.text();
  assert.equal(bad.status, 422, badHtml);
  assert.match(badHtml, /id="url-error"[^>]*>Give an http or https URL/);
  assert.match(badHtml, /id="events-error"[^>]*>Choose at least one message type/);
  assert.match(badHtml, /value="ftp:\/\/nope"/, "the form comes back as sent");

  const res = await postForm(s, owner, "/webhooks", {
    url: "https://crm.example/hooks/sluice",
    description: "CRM",
    events: "delivery.failed",
  });
  const html = await res.text();
  assert.equal(res.status, 201, html);
  const secret = secretOn(html);
  assert.ok(secret, "the secret is on the page right after creation");
  assert.match(html, /shown only this once/);
  const [hook] = await s.rt.webhooks.list(s.workspace.id);
  assert.deepEqual(hook?.events, ["delivery.failed"]);
  assert.equal(s.rt.webhooks.signingSecrets(hook!, Date.now())[0], secret);
  const again = await (await getPage(s, owner, `/webhooks/${hook!.id}`)).text();
  assert.equal(secretOn(again), undefined, "never shown again");
  assert.ok(!again.includes(secret!));
  const list = await (await getPage(s, owner, "/webhooks")).text();
  assert.match(list, /https:\/\/crm.example\/hooks\/sluice/);
  assert.ok(!list.includes(secret!));
  assert.deepEqual(await auditActions(s), ["webhook.create"]);
});

Deno.test("webhooks: test ping shows the answer; redeliver, rotate (24 h overlap), disable, delete; all audited", async () => {
  await using s = await openTestSluice(ENV);
  await using receiver = mockPlatform(() => new Response("thanks from the receiver"));
  const owner = await withOwner(s);
  const { webhook } = await s.rt.webhooks.create(s.workspace.id, {
    url: receiver.url,
    events: ["delivery.failed"],
    description: "",
    enabled: true,
  });
  const base = `/webhooks/${webhook.id}`;
  const ping = await postForm(s, owner, `${base}/test`);
  const pingHtml = await ping.text();
  assert.equal(ping.status, 200, pingHtml);
  assert.match(pingHtml, /Test ping delivered \(HTTP 200\)/);
  assert.match(pingHtml, /thanks from the receiver/);
  assert.match(pingHtml, /<code>webhook.test<\/code>/, "the ping is in the delivery log");
  const deliveryId = /deliveries\/(whd_[a-z0-9]+)\/redeliver/.exec(pingHtml)?.[1];
  assert.ok(deliveryId);

  const redeliver = await postForm(s, owner, `${base}/deliveries/${deliveryId}/redeliver`);
  assert.equal(redeliver.status, 303);
  assert.equal(redeliver.headers.get("location"), `${base}?done=redelivered`);

  const rotate = await postForm(s, owner, `${base}/rotate`);
  const rotateHtml = await rotate.text();
  const secret = secretOn(rotateHtml);
  assert.ok(secret);
  assert.match(rotateHtml, /The old secret keeps signing beside it for 24 h/);
  assert.equal(
    s.rt.webhooks.signingSecrets((await s.rt.webhooks.get(s.workspace.id, webhook.id))!, Date.now())
      .length,
    2,
  );

  const off = await postForm(s, owner, `${base}/enabled`, { enabled: "false" });
  assert.equal(off.status, 303);
  assert.equal((await s.rt.webhooks.get(s.workspace.id, webhook.id))?.enabled, false);
  const refused = await postForm(s, owner, `${base}/deliveries/${deliveryId}/redeliver`);
  const refusedHtml = await refused.text();
  assert.equal(refused.status, 422);
  assert.match(refusedHtml, /Not redelivered: The webhook is disabled/);
  assert.match(await (await getPage(s, owner, base)).text(), />Enable</);

  assert.match(await (await getPage(s, owner, `${base}/delete`)).text(), /Delete the webhook/);
  assert.equal((await postForm(s, owner, `${base}/delete`)).status, 303);
  assert.equal(await s.rt.webhooks.get(s.workspace.id, webhook.id), null);
  assert.deepEqual(await auditActions(s), [
    "webhook.delete",
    "webhook.update",
    "webhook.rotate_secret",
    "webhook.redeliver",
    "webhook.test",
  ]);
});

Deno.test("webhooks: viewers see statuses and the log, no forms, and every change answers 403", async () => {
  await using s = await openTestSluice(ENV);
  const { webhook } = await s.rt.webhooks.create(s.workspace.id, {
    url: "https://crm.example/hooks",
    events: ["delivery.failed"],
    description: "",
    enabled: true,
  });
  const viewer = await withViewer(s);
  const list = await (await getPage(s, viewer, "/webhooks")).text();
  assert.match(list, /chip-wh-active/);
  assert.doesNotMatch(list, /Register a webhook/);
  const detail = await (await getPage(s, viewer, `/webhooks/${webhook.id}`)).text();
  assert.match(detail, /Delivery log/);
  assert.doesNotMatch(detail, /Send a test ping|Rotate/);
  const base = `/webhooks/${webhook.id}`;
  for (
    const path of [
      "/webhooks",
      `${base}/test`,
      `${base}/enabled`,
      `${base}/rotate`,
      `${base}/delete`,
      `${base}/deliveries/whd_x/redeliver`,
    ]
  ) {
    assert.equal((await postForm(s, viewer, path, { url: "https://x.example" })).status, 403, path);
  }
  assert.equal((await getPage(s, viewer, `${base}/delete`)).status, 403);
  assert.equal((await s.rt.webhooks.get(s.workspace.id, webhook.id))?.enabled, true);
});

/** The API key secret a page shows, if any. */
function keySecretOn(html: string): string | undefined {
  return /<code class="break secret">(sk_[^<]+)<\/code>/.exec(html)?.[1];
}

Deno.test("keys: create shows the secret once; the list has no secrets; bad input answers next to the field", async () => {
  await using s = await openTestSluice(ENV);
  const owner = await withOwner(s);
  const bad = await postForm(s, owner, "/keys", { name: "", scopes: "root" });
  const badHtml = await bad.text();
  assert.equal(bad.status, 422, badHtml);
  assert.match(badHtml, /id="name-error"[^>]*>Give the key a name/);
  assert.match(badHtml, /id="scopes-error"[^>]*>Choose at least one scope/);

  const res = await s.request("/keys", {
    method: "POST",
    headers: {
      cookie: owner.cookie,
      origin: "http://localhost",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams([
      ["_csrf", owner.csrf],
      ["name", "Checkout server"],
      ["scopes", "ingest"],
      ["scopes", "read"],
    ]),
  });
  const html = await res.text();
  assert.equal(res.status, 201, html);
  const secret = keySecretOn(html);
  assert.ok(secret);
  const key = await s.rt.apiKeys.authenticate(secret!);
  assert.deepEqual(key?.scopes, ["ingest", "read"]);
  const list = await (await getPage(s, owner, "/keys")).text();
  assert.match(list, /Checkout server/);
  assert.match(list, new RegExp(`<code>${secret!.slice(0, 10)}…</code>`));
  assert.ok(!list.includes(secret!), "never shown again");
  assert.equal(keySecretOn(list), undefined);
  assert.deepEqual(await auditActions(s), ["api_key.create"]);
});

Deno.test("keys: rotate shows the new secret and the overlap end; the last admin key's revocation is refused", async () => {
  await using s = await openTestSluice(ENV);
  const owner = await withOwner(s);
  const keys = await s.rt.apiKeys.list(s.workspace.id);
  const admin = keys.find((k) => k.scopes.includes("admin"))!;
  const ingest = keys.find((k) => !k.scopes.includes("admin"))!;

  const rotate = await postForm(s, owner, `/keys/${ingest.id}/rotate`, {
    overlap_ms: "86400000",
  });
  const html = await rotate.text();
  assert.equal(rotate.status, 200, html);
  const secret = keySecretOn(html);
  assert.ok(secret);
  assert.match(html, /The old secret keeps working until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  assert.ok(await s.rt.apiKeys.authenticate(secret!));
  assert.ok(await s.rt.apiKeys.authenticate(s.workspace.ingest_key), "the old one still works");
  assert.equal(
    (await postForm(s, owner, `/keys/${ingest.id}/rotate`, { overlap_ms: "12345" })).status,
    422,
  );

  assert.match(
    await (await getPage(s, owner, `/keys/${admin.id}/revoke`)).text(),
    /Revoke the key/,
  );
  const refused = await postForm(s, owner, `/keys/${admin.id}/revoke`);
  const refusedHtml = await refused.text();
  assert.equal(refused.status, 422);
  assert.match(
    refusedHtml,
    /Not revoked: API key &quot;key_[a-z0-9]+&quot; is the workspace's last admin key/,
  );
  assert.ok(await s.rt.apiKeys.authenticate(s.workspace.admin_key));

  const revoke = await postForm(s, owner, `/keys/${ingest.id}/revoke`);
  assert.equal(revoke.status, 303);
  assert.equal((await s.rt.apiKeys.list(s.workspace.id)).length, 1);
  assert.deepEqual(await auditActions(s), ["api_key.revoke", "api_key.rotate"]);
});

Deno.test("keys: viewers see names and scopes, no forms, and every change answers 403", async () => {
  await using s = await openTestSluice(ENV);
  const viewer = await withViewer(s);
  const [key] = await s.rt.apiKeys.list(s.workspace.id);
  const html = await (await getPage(s, viewer, "/keys")).text();
  assert.match(html, new RegExp(key!.prefix));
  assert.doesNotMatch(html, /Create a key|>Rotate<|Revoke/);
  for (const path of ["/keys", `/keys/${key!.id}/rotate`, `/keys/${key!.id}/revoke`]) {
    const res = await postForm(s, viewer, path, { name: "x", scopes: "admin", overlap_ms: "0" });
    assert.equal(res.status, 403, path);
  }
  assert.equal((await getPage(s, viewer, `/keys/${key!.id}/revoke`)).status, 403);
  assert.equal((await s.rt.apiKeys.list(s.workspace.id)).length, 2);
});

import assert from "node:assert/strict";
import { bearer, expectJson } from "./_http.ts";
import { jsonInit, openTestSluice } from "./_harness.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";

interface AuditEntryJson {
  at: string;
  actor: { kind: string; id: string };
  action: string;
  target?: string;
  note?: string;
}

Deno.test("GET /v1/audit records API key rotation and webhook pings, redeliveries and secret rotation, never a secret", async () => {
  await using receiver = webhookReceiver();
  await using s = await openTestSluice({ SLUICE_ALLOW_PRIVATE_URLS: "1" });
  const admin = s.workspace.admin_key;
  const started = Date.now();
  const hook = await expectJson<{ id: string; secret: string }>(
    await s.request("/v1/webhooks", jsonInit({ url: receiver.url }, admin)),
    201,
  );
  const ping = await expectJson<{ delivered: boolean }>(
    await s.request(`/v1/webhooks/${hook.id}/test`, jsonInit({}, admin)),
    200,
  );
  assert.equal(ping.delivered, true);
  const log = await expectJson<{ data: { id: string }[] }>(
    await s.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: bearer(admin) }),
    200,
  );
  const deliveryId = log.data[0]!.id;
  const redelivered = await s.request(
    `/v1/webhooks/${hook.id}/deliveries/${deliveryId}/redeliver`,
    jsonInit({}, admin),
  );
  assert.equal(redelivered.status, 202, await redelivered.clone().text());
  await redelivered.body?.cancel();
  const rotatedHook = await expectJson<{ secret: string }>(
    await s.request(`/v1/webhooks/${hook.id}/rotate-secret`, jsonInit({}, admin)),
    200,
  );
  const key = await expectJson<{ id: string; secret: string }>(
    await s.request("/v1/api-keys", jsonInit({ name: "ci", scopes: ["read"] }, admin)),
    201,
  );
  const rotatedKey = await expectJson<{ secret: string }>(
    await s.request(`/v1/api-keys/${key.id}/rotate`, jsonInit({}, admin)),
    200,
  );

  const res = await s.request("/v1/audit", { headers: bearer(admin) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  for (const secret of [hook.secret, rotatedHook.secret, key.secret, rotatedKey.secret]) {
    assert.ok(!text.includes(secret), "no secret in the audit log");
  }
  const entries: AuditEntryJson[] = JSON.parse(text).data;
  const [adminKey] = (await s.rt.apiKeys.list(s.workspace.id)).filter((k) =>
    k.scopes.includes("admin")
  );
  assert.deepEqual(
    entries.map((e) => [e.action, e.target, e.actor, e.note]),
    [
      ["api_key.rotate", key.id, { kind: "api_key", id: adminKey!.id }, "through the API"],
      ["api_key.create", key.id, { kind: "api_key", id: adminKey!.id }, "through the API"],
      [
        "webhook.rotate_secret",
        hook.id,
        { kind: "api_key", id: adminKey!.id },
        "through the API",
      ],
      [
        "webhook.redeliver",
        hook.id,
        { kind: "api_key", id: adminKey!.id },
        `through the API: delivery ${deliveryId}`,
      ],
      ["webhook.test", hook.id, { kind: "api_key", id: adminKey!.id }, "through the API"],
      ["webhook.create", hook.id, { kind: "api_key", id: adminKey!.id }, "through the API"],
    ],
  );
  for (const entry of entries) {
    const at = Date.parse(entry.at);
    assert.ok(at >= started - 1000 && at <= Date.now(), entry.at);
  }
});

Deno.test("GET /v1/audit records order-webhook sources created, changed and deleted, never their signing secret", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  const secret = "shpss_audit-test-signing-secret";
  const source = await expectJson<{ id: string }>(
    await s.request(
      "/v1/sources",
      jsonInit({ type: "shopify", name: "Shop", signing_secret: secret }, admin),
    ),
    201,
  );
  const renamed = await s.request(
    `/v1/sources/${source.id}`,
    jsonInit({ name: "Shop EU", signing_secret: `${secret}-2` }, admin, "PATCH"),
  );
  assert.equal(renamed.status, 200);
  await renamed.body?.cancel();
  const deleted = await s.request(`/v1/sources/${source.id}`, {
    method: "DELETE",
    headers: bearer(admin),
  });
  assert.equal(deleted.status, 204);

  const text = await (await s.request("/v1/audit", { headers: bearer(admin) })).text();
  assert.ok(!text.includes(secret), "no signing secret in the audit log");
  const entries: AuditEntryJson[] = JSON.parse(text).data;
  assert.deepEqual(entries.map((e) => [e.action, e.target]), [
    ["source.delete", source.id],
    ["source.update", source.id],
    ["source.create", source.id],
  ]);
});

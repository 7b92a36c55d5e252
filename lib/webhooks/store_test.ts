import assert from "node:assert/strict";
import { base64ToBytes } from "../../core/digest.ts";
import { webhookHealthKey, webhookKey } from "../kv/keys.ts";
import {
  publicWebhook,
  SECRET_OVERLAP_MS,
  type Webhook,
  WebhookLimitError,
  WebhookStore,
} from "./store.ts";

const MASTER = "webhook-store-test-master-secret-0123456789";
const URL_A = "https://crm.example/hooks/a";
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

function newStore(kv: Deno.Kv, maxPerWorkspace = 10, master = MASTER): WebhookStore {
  return new WebhookStore(kv, master, { maxPerWorkspace });
}

function input(extra: Partial<Parameters<WebhookStore["create"]>[1]> = {}) {
  return {
    url: URL_A,
    events: ["conversion.created", "lead.created"] as const,
    description: "CRM",
    enabled: true,
    ...extra,
  };
}

Deno.test("WebhookStore.create() returns a whsec_ secret that is stored only sealed", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook, secret } = await store.create("ws_1", input());
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
    const encoded = secret.slice("whsec_".length);
    assert.equal(base64ToBytes(encoded).length, 32);

    const raw = await kv.get<Webhook>(["hook", "ws_1", webhook.id]);
    assert.ok(raw.value);
    assert.equal(raw.value.url, URL_A);
    assert.equal(raw.value.workspace_id, "ws_1");
    const stored = JSON.stringify(raw.value);
    assert.equal(stored.includes(secret), false);
    assert.equal(stored.includes(encoded), false);
    for await (const entry of kv.list({ prefix: [] })) {
      assert.equal(JSON.stringify(entry.value).includes(encoded), false);
    }
    assert.equal("secret" in webhook, false);
    assert.deepEqual(store.signingSecrets(webhook, NOW), [secret]);
    assert.deepEqual(store.signingSecrets(raw.value, NOW), [secret]);

    const other = await store.create("ws_1", input());
    assert.notEqual(other.secret, secret);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.create() throws WebhookLimitError past maxPerWorkspace, per workspace", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv, 2);
    await store.create("ws_1", input());
    await store.create("ws_1", input());
    await assert.rejects(
      () => store.create("ws_1", input()),
      (error: unknown) => error instanceof WebhookLimitError && error.limit === 2,
    );
    assert.equal((await store.list("ws_1")).length, 2);
    await store.create("ws_2", input());
    await store.create("ws_2", input());
    assert.equal((await store.list("ws_2")).length, 2);

    const first = (await store.list("ws_1"))[0]!;
    assert.equal(await store.delete("ws_1", first.id), true);
    await store.create("ws_1", input());
    assert.equal((await store.list("ws_1")).length, 2);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.create() holds the limit against concurrent creates", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv, 2);
    const results = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) => store.create("ws_1", input({ url: `${URL_A}/${n}` }))),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 2);
    for (const r of results.filter((r) => r.status === "rejected")) {
      assert.ok((r as PromiseRejectedResult).reason instanceof WebhookLimitError);
    }
    assert.equal((await store.list("ws_1")).length, 2);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore de-duplicates events, lists oldest first, gets and deletes", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook: a } = await store.create(
      "ws_1",
      input({
        events: ["lead.created", "conversion.created", "lead.created", "lead.created"],
      }),
    );
    assert.deepEqual(a.events, ["lead.created", "conversion.created"]);
    const { webhook: b } = await store.create("ws_1", input({ url: "https://b.example/" }));
    const { webhook: c } = await store.create("ws_1", input({ url: "https://c.example/" }));
    await store.create("ws_2", input());

    assert.deepEqual((await store.list("ws_1")).map((h) => h.id), [a.id, b.id, c.id]);
    assert.deepEqual(await store.get("ws_1", b.id), b);
    assert.equal(await store.get("ws_2", b.id), null);
    assert.equal(await store.get("ws_1", "missing"), null);

    await store.markFailing("ws_1", b.id, NOW);
    assert.ok(await kv.get(["hook_health", "ws_1", b.id]).then((e) => e.value));
    assert.equal(await store.delete("ws_1", b.id), true);
    assert.equal(await store.get("ws_1", b.id), null);
    assert.equal((await kv.get(["hook", "ws_1", b.id])).value, null);
    assert.equal((await kv.get(["hook_health", "ws_1", b.id])).value, null);
    assert.deepEqual((await store.list("ws_1")).map((h) => h.id), [a.id, c.id]);
    assert.equal(await store.delete("ws_1", b.id), false);
    assert.equal(await store.delete("ws_1", "missing"), false);
    assert.equal(await store.delete("ws_2", a.id), false);
    assert.equal((await store.list("ws_2")).length, 1);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.rotateSecret() keeps the previous secret signing for 24 h", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook, secret: first } = await store.create("ws_1", input());
    const rotated = await store.rotateSecret("ws_1", webhook.id, NOW);
    assert.ok(rotated);
    assert.equal(SECRET_OVERLAP_MS, 24 * 3_600_000);
    assert.equal(rotated.previous_secret_expires_at, NOW + SECRET_OVERLAP_MS);
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, first);

    const stored = (await store.get("ws_1", webhook.id))!;
    assert.equal(stored.previous_secret_expires_at, NOW + SECRET_OVERLAP_MS);
    assert.equal(JSON.stringify(stored).includes(rotated.secret.slice(6)), false);
    assert.equal(JSON.stringify(stored).includes(first.slice(6)), false);
    assert.deepEqual(store.signingSecrets(stored, NOW), [rotated.secret, first]);
    assert.deepEqual(store.signingSecrets(stored, NOW + SECRET_OVERLAP_MS - 1), [
      rotated.secret,
      first,
    ]);
    assert.deepEqual(store.signingSecrets(stored, NOW + SECRET_OVERLAP_MS), [rotated.secret]);
    assert.deepEqual(store.signingSecrets(stored, NOW + SECRET_OVERLAP_MS + 60_000), [
      rotated.secret,
    ]);

    const later = NOW + 3_600_000;
    const again = await store.rotateSecret("ws_1", webhook.id, later);
    assert.ok(again);
    assert.equal(again.previous_secret_expires_at, later + SECRET_OVERLAP_MS);
    const twice = (await store.get("ws_1", webhook.id))!;
    assert.deepEqual(store.signingSecrets(twice, later), [again.secret, rotated.secret]);
    assert.equal(store.signingSecrets(twice, later).includes(first), false);

    assert.equal(await store.rotateSecret("ws_1", "missing", NOW), null);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.update() patches fields and enabling a disabled webhook clears its streak", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook } = await store.create("ws_1", input());

    const patched = await store.update("ws_1", webhook.id, {
      url: "https://new.example/hook",
      events: ["delivery.failed", "delivery.failed", "webhook.disabled"],
      description: "new",
    });
    assert.ok(patched);
    assert.equal(patched.url, "https://new.example/hook");
    assert.deepEqual(patched.events, ["delivery.failed", "webhook.disabled"]);
    assert.equal(patched.description, "new");
    assert.equal(patched.enabled, true);
    assert.equal(patched.secrets_sealed, webhook.secrets_sealed);
    assert.deepEqual(await store.get("ws_1", webhook.id), patched);

    const described = await store.update("ws_1", webhook.id, { description: "only this" });
    assert.equal(described?.url, "https://new.example/hook");
    assert.deepEqual(described?.events, ["delivery.failed", "webhook.disabled"]);

    const health = await store.markFailing("ws_1", webhook.id, NOW);
    const disabled = await store.disableFailing(
      "ws_1",
      webhook.id,
      health.failing_since,
      "every send failed",
      NOW + 1,
    );
    assert.equal(disabled?.disabled_reason, "every send failed");
    await store.markFailing("ws_1", webhook.id, NOW + 2);
    assert.ok(await store.health("ws_1", webhook.id));

    const enabled = await store.update("ws_1", webhook.id, { enabled: true });
    assert.ok(enabled);
    assert.equal(enabled.enabled, true);
    assert.equal("disabled_reason" in enabled, false);
    assert.equal("disabled_at" in enabled, false);
    assert.equal(await store.health("ws_1", webhook.id), null);
    const stored = (await store.get("ws_1", webhook.id))!;
    assert.equal(stored.enabled, true);
    assert.equal(stored.disabled_reason, undefined);
    assert.equal(stored.disabled_at, undefined);

    const off = await store.update("ws_1", webhook.id, { enabled: false });
    assert.ok(off);
    assert.equal(off.enabled, false);
    assert.equal("disabled_reason" in off, false);
    assert.equal((await store.get("ws_1", webhook.id))?.enabled, false);
    assert.equal(publicWebhook(off, null).status, "disabled");

    // A user disabling an automatically disabled webhook takes over: no automatic reason.
    await store.update("ws_1", webhook.id, { enabled: true });
    await store.markFailing("ws_1", webhook.id, NOW + 10);
    const auto = await store.disableFailing("ws_1", webhook.id, NOW + 10, "auto", NOW + 11);
    assert.equal(auto?.disabled_reason, "auto");
    const byUser = await store.update("ws_1", webhook.id, { enabled: false });
    assert.equal(byUser?.enabled, false);
    assert.equal(byUser?.disabled_reason, undefined);
    assert.equal(byUser?.disabled_at, undefined);
    assert.equal((await store.get("ws_1", webhook.id))?.disabled_reason, undefined);

    assert.equal(await store.update("ws_1", "missing", { enabled: true }), null);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.markFailing() keeps the first failing_since until markHealthy()", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook } = await store.create("ws_1", input());
    assert.equal(await store.health("ws_1", webhook.id), null);
    assert.deepEqual(await store.markFailing("ws_1", webhook.id, NOW), { failing_since: NOW });
    assert.deepEqual(await store.markFailing("ws_1", webhook.id, NOW + 5_000), {
      failing_since: NOW,
    });
    assert.deepEqual(await store.health("ws_1", webhook.id), { failing_since: NOW });
    assert.deepEqual((await kv.get(webhookHealthKey("ws_1", webhook.id))).value, {
      failing_since: NOW,
    });
    await store.markHealthy("ws_1", webhook.id);
    assert.equal(await store.health("ws_1", webhook.id), null);
    assert.deepEqual(await store.markFailing("ws_1", webhook.id, NOW + 9_000), {
      failing_since: NOW + 9_000,
    });
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.disableFailing() disables a webhook whose streak is unchanged", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook } = await store.create("ws_1", input());
    await store.markFailing("ws_1", webhook.id, NOW);
    const at = NOW + 5 * 86_400_000;
    const disabled = await store.disableFailing("ws_1", webhook.id, NOW, "failed for 5 days", at);
    assert.ok(disabled);
    assert.equal(disabled.enabled, false);
    assert.equal(disabled.disabled_reason, "failed for 5 days");
    assert.equal(disabled.disabled_at, new Date(at).toISOString());
    assert.equal(disabled.updated_at, new Date(at).toISOString());
    assert.deepEqual(await store.get("ws_1", webhook.id), disabled);
    assert.equal(await store.health("ws_1", webhook.id), null);
    assert.equal((await store.list("ws_1"))[0]?.enabled, false);
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore.disableFailing() changes nothing when the streak or state differs", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook } = await store.create("ws_1", input());
    const key = webhookKey("ws_1", webhook.id);
    const healthKey = webhookHealthKey("ws_1", webhook.id);

    // No streak at all.
    assert.equal(await store.disableFailing("ws_1", webhook.id, NOW, "r", NOW), null);

    // A streak that began at another time (it restarted meanwhile).
    await store.markFailing("ws_1", webhook.id, NOW);
    const before = await kv.getMany([key, healthKey]);
    assert.equal(await store.disableFailing("ws_1", webhook.id, NOW - 1, "r", NOW + 1), null);
    const after = await kv.getMany([key, healthKey]);
    assert.deepEqual(after.map((e) => e.versionstamp), before.map((e) => e.versionstamp));
    assert.equal((await store.get("ws_1", webhook.id))?.enabled, true);

    // The streak was ended by a successful send.
    await store.markHealthy("ws_1", webhook.id);
    assert.equal(await store.disableFailing("ws_1", webhook.id, NOW, "r", NOW + 2), null);
    assert.equal((await store.get("ws_1", webhook.id))?.enabled, true);
    assert.equal((await store.get("ws_1", webhook.id))?.disabled_reason, undefined);

    // Already disabled (by its user), with a streak still recorded.
    await store.markFailing("ws_1", webhook.id, NOW + 3);
    const off = await store.update("ws_1", webhook.id, { enabled: false });
    const offStamps = (await kv.getMany([key, healthKey])).map((e) => e.versionstamp);
    assert.equal(await store.disableFailing("ws_1", webhook.id, NOW + 3, "r", NOW + 4), null);
    assert.deepEqual((await kv.getMany([key, healthKey])).map((e) => e.versionstamp), offStamps);
    assert.deepEqual(await store.get("ws_1", webhook.id), off);
    assert.deepEqual(await store.health("ws_1", webhook.id), { failing_since: NOW + 3 });

    // Absent webhook.
    assert.equal(await store.disableFailing("ws_1", "missing", NOW, "r", NOW), null);
  } finally {
    kv.close();
  }
});

Deno.test("publicWebhook() shows status, hides secrets and shows only a live overlap", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook, secret } = await store.create("ws_1", input());
    const encoded = secret.slice(6);

    const active = publicWebhook(webhook, null);
    assert.deepEqual(active, {
      id: webhook.id,
      url: URL_A,
      events: ["conversion.created", "lead.created"],
      description: "CRM",
      enabled: true,
      status: "active",
      created_at: webhook.created_at,
      updated_at: webhook.updated_at,
    });

    const failing = publicWebhook(webhook, { failing_since: NOW });
    assert.equal(failing.status, "failing");
    assert.equal(failing.failing_since, new Date(NOW).toISOString());

    const now = Date.now();
    await store.rotateSecret("ws_1", webhook.id, now);
    const rotated = (await store.get("ws_1", webhook.id))!;
    const shown = publicWebhook(rotated, null);
    assert.equal(shown.previous_secret_expires_at, new Date(now + SECRET_OVERLAP_MS).toISOString());

    const expired = publicWebhook({ ...rotated, previous_secret_expires_at: now - 1_000 }, null);
    assert.equal("previous_secret_expires_at" in expired, false);

    await store.markFailing("ws_1", webhook.id, NOW);
    const disabledHook = await store.disableFailing("ws_1", webhook.id, NOW, "gave up", NOW + 1);
    assert.ok(disabledHook);
    const disabled = publicWebhook(disabledHook, { failing_since: NOW });
    assert.equal(disabled.status, "disabled");
    assert.equal(disabled.enabled, false);
    assert.equal(disabled.disabled_reason, "gave up");
    assert.equal(disabled.disabled_at, new Date(NOW + 1).toISOString());
    assert.equal("failing_since" in disabled, false);

    for (const view of [active, failing, shown, expired, disabled]) {
      const json = JSON.stringify(view);
      assert.equal("secrets_sealed" in view, false);
      assert.equal(json.includes(webhook.secrets_sealed), false);
      assert.equal(json.includes(rotated.secrets_sealed), false);
      assert.equal(json.includes(encoded), false);
      assert.equal(/secret"/.test(json), false);
    }
  } finally {
    kv.close();
  }
});

Deno.test("WebhookStore cannot open secrets sealed under another master secret", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = newStore(kv);
    const { webhook, secret } = await store.create("ws_1", input());
    const other = newStore(kv, 10, "another-master-secret-9876543210-abcdef");
    const seen = (await other.get("ws_1", webhook.id))!;
    assert.throws(() => other.signingSecrets(seen, NOW));
    assert.deepEqual(store.signingSecrets(seen, NOW), [secret]);
  } finally {
    kv.close();
  }
});

import assert from "node:assert/strict";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import { signWebhook, webhook, webhookSettings } from "./webhook.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** Base64 decoding done independently of the code under test. */
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

Deno.test("signWebhook() reproduces the Standard Webhooks test vector", () => {
  assert.equal(
    signWebhook(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  );
});

Deno.test("webhook.map() signs each request so WebCrypto HMAC verifies it", async () => {
  const settings = webhookSettings.parse({ url: "https://hooks.example/in", secret: SECRET });
  const now = 1_767_225_600_999;
  const events = [testEvent({ id: "01JA" }), testEvent({ id: "01JB", event_name: "lead" })];
  const { requests } = webhook.map(events, settings, { now });
  assert.equal(requests.length, 2);
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64(SECRET.slice("whsec_".length)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  for (const [i, request] of requests.entries()) {
    const id = request.headers["webhook-id"];
    const timestamp = request.headers["webhook-timestamp"];
    const signature = request.headers["webhook-signature"] ?? "";
    assert.equal(id, `msg_${events[i]?.id}`);
    assert.equal(timestamp, "1767225600");
    assert.match(signature, /^v1,[A-Za-z0-9+/]+={0,2}$/);
    const ok = await crypto.subtle.verify(
      "HMAC",
      key,
      fromBase64(signature.slice(3)),
      new TextEncoder().encode(`${id}.${timestamp}.${request.body}`),
    );
    assert.ok(ok, "signature must verify");
    const body = JSON.parse(request.body ?? "{}");
    assert.equal(body.id, id);
    assert.equal(body.type, "event");
    assert.deepEqual(body.data, events[i]);
  }
});

Deno.test("webhook.map() keeps id and body stable across retries; only the signature time moves", () => {
  const settings = webhookSettings.parse({ url: "https://hooks.example/in", secret: SECRET });
  const [first] = webhook.map([testEvent()], settings, { now: 1_000_000 }).requests;
  const [again] = webhook.map([testEvent()], settings, { now: 2_000_000 }).requests;
  assert.equal(first?.headers["webhook-id"], again?.headers["webhook-id"]);
  assert.equal(first?.body, again?.body);
  assert.notEqual(first?.headers["webhook-signature"], again?.headers["webhook-signature"]);
});

Deno.test("webhookSettings accepts url or endpoint, generates a secret and checks given ones", () => {
  const generated = webhookSettings.parse({ url: "https://hooks.example/in" });
  assert.match(generated.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const aliased = webhookSettings.parse({ endpoint: "https://hooks.example/e", secret: SECRET });
  assert.equal(
    webhook.map([testEvent()], aliased, { now: 0 }).requests[0]?.url,
    "https://hooks.example/e",
  );
  assert.equal(webhookSettings.safeParse({ secret: SECRET }).success, false);
  assert.equal(webhookSettings.safeParse({ url: "ftp://x.example/" }).success, false);
  assert.equal(
    webhookSettings.safeParse({ url: "https://x.example/", secret: "abc" }).success,
    false,
  );
  assert.equal(
    webhookSettings.safeParse({ url: "https://x.example/", secret: "whsec_c2hvcnQ=" }).success,
    false,
  );
});

Deno.test("outcomeOf(webhook, ) delivers 2xx, retries 408/429/5xx and fails other 4xx", () => {
  assert.deepEqual(outcomeOf(webhook, answer(204)), { kind: "delivered" });
  const limited = outcomeOf(webhook, answer(429, "", { "retry-after": "12" }));
  assert.equal(limited.kind === "retry" && limited.afterMs, 12_000);
  assert.equal(outcomeOf(webhook, answer(408)).kind, "retry");
  assert.equal(outcomeOf(webhook, answer(500, "boom")).kind, "retry");
  assert.equal(outcomeOf(webhook, answer(502)).kind, "retry");
  for (const status of [400, 401, 403, 404, 410, 422]) {
    assert.equal(outcomeOf(webhook, answer(status, "no")).kind, "failed", String(status));
  }
});

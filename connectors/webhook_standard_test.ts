import assert from "node:assert/strict";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { testEvent } from "./_test_events.ts";
import { generateWebhookSecret, signWebhook, webhook, webhookSettings } from "./webhook.ts";

// Interop with the public Standard Webhooks TypeScript library, used as a receiver would use it:
// the secret exactly as Sluice shows it, the raw body, the three headers, no custom code.

const ID = "msg_01JQ0000000000000000000000";
const BODY = JSON.stringify({
  id: ID,
  type: "conversion.created",
  created_at: "2026-01-01T00:00:00.500Z",
  workspace_id: "ws_test",
  data: testEvent({ value: 49.9, currency: "EUR", user_data: { first_name: "Zoë" } }),
});

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function headers(signature: string, timestamp: number): Record<string, string> {
  return {
    "webhook-id": ID,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  };
}

Deno.test("Webhook.verify() accepts a message signed by signWebhook() with a generated secret", () => {
  const secret = generateWebhookSecret();
  const timestamp = nowSeconds();
  const parsed = new Webhook(secret).verify(
    BODY,
    headers(signWebhook(secret, ID, timestamp, BODY), timestamp),
  );
  assert.deepEqual(parsed, JSON.parse(BODY));
});

Deno.test("Webhook.verify() accepts the requests webhook.map() builds", () => {
  const settings = webhookSettings.parse({ url: "https://hooks.example/in" });
  const { requests } = webhook.map([testEvent()], settings, { now: Date.now() });
  const request = requests[0];
  assert.ok(request?.body);
  const parsed = new Webhook(settings.secret).verify(request.body, request.headers);
  assert.deepEqual(parsed, JSON.parse(request.body));
});

Deno.test("Webhook.verify() accepts a rotation header with either secret alone", () => {
  const previous = generateWebhookSecret();
  const current = generateWebhookSecret();
  const timestamp = nowSeconds();
  const signature = `${signWebhook(previous, ID, timestamp, BODY)} ${
    signWebhook(current, ID, timestamp, BODY)
  }`;
  for (const secret of [previous, current]) {
    assert.deepEqual(
      new Webhook(secret).verify(BODY, headers(signature, timestamp)),
      JSON.parse(BODY),
    );
  }
});

Deno.test("Webhook.verify() rejects a tampered body, a wrong secret and a stale timestamp", () => {
  const secret = generateWebhookSecret();
  const receiver = new Webhook(secret);
  const timestamp = nowSeconds();
  const valid = headers(signWebhook(secret, ID, timestamp, BODY), timestamp);

  assert.throws(
    () => receiver.verify(BODY.replace("49.9", "4990"), valid),
    WebhookVerificationError,
  );
  assert.throws(
    () => new Webhook(generateWebhookSecret()).verify(BODY, valid),
    WebhookVerificationError,
  );
  const stale = timestamp - 10 * 60;
  assert.throws(
    () => receiver.verify(BODY, headers(signWebhook(secret, ID, stale, BODY), stale)),
    WebhookVerificationError,
  );
});

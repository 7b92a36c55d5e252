import { createHmac } from "node:crypto";
import { z } from "zod";
import { base64ToBytes, bytesToBase64 } from "../core/digest.ts";
import type { SluiceEvent } from "../core/event.ts";
import { every, httpReason, retryOutcome } from "./_response.ts";
import { optionalUrlSetting } from "./_settings.ts";
import type {
  Classification,
  Connector,
  MapOptions,
  MapResult,
  PlatformResponse,
} from "./types.ts";

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The HMAC key of a `whsec_` secret: the base64-decoded part after the prefix. */
export function webhookKey(secret: string): Uint8Array {
  const match = SECRET.exec(secret);
  if (!match?.[1]) throw new Error(`Cannot read webhook secret: it must be "whsec_" + base64`);
  return base64ToBytes(match[1]);
}

/**
 * Webhook destination settings: `url` (or its alias `endpoint`, which wins when both are
 * given) and `secret`; a secret is generated when absent, so it is stored on creation.
 */
export const webhookSettings = z.object({
  url: optionalUrlSetting("Where events are POSTed"),
  endpoint: optionalUrlSetting("Alias of url; wins when both are set"),
  secret: z.string().trim().regex(SECRET, 'must be "whsec_" followed by base64')
    .refine((s) => {
      const key = SECRET.exec(s)?.[1];
      const length = key === undefined ? 0 : base64ToBytes(key).length;
      return length >= 24 && length <= 64;
    }, "must decode to 24–64 bytes")
    .default(generateWebhookSecret)
    .describe("Standard Webhooks signing secret (whsec_…); generated and shown once when absent"),
}).strict().refine((s) => s.url !== undefined || s.endpoint !== undefined, {
  message: "url is required",
  path: ["url"],
});

/** Webhook destination settings after validation. */
export type WebhookSettings = z.output<typeof webhookSettings>;

/**
 * `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under the secret's key, as the
 * Standard Webhooks specification signs a message.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", webhookKey(secret)).update(`${id}.${timestamp}.${body}`)
    .digest("base64");
  return `v1,${mac}`;
}

/**
 * Generic webhook: one signed JSON POST per event, body
 * `{id, type: "event", created_at, workspace_id, data}` with the canonical event as `data`.
 * The message id (`msg_` + the event's storage id) and body are the same on every retry;
 * the timestamp and signature are fresh per attempt.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export const webhook = {
  id: "webhook",
  label: "Webhook",
  docsUrl:
    "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
  settings: webhookSettings,
  secretFields: ["secret"],
  urlFields: ["url", "endpoint"],
  batchLimit: 1,
  consent: "none",
  maxEventAgeMs: () => undefined,
  testMode: "Sends the synthetic test event, signed, to the URL; its properties carry " +
    "sluice_test: true.",
  map(events: readonly SluiceEvent[], settings: WebhookSettings, options: MapOptions): MapResult {
    const url = settings.endpoint ?? settings.url ?? "";
    const timestamp = Math.floor(options.now / 1000);
    return {
      requests: events.map((event, index) => {
        const id = `msg_${event.id}`;
        const body = JSON.stringify({
          id,
          type: "event",
          created_at: new Date(event.received_at).toISOString(),
          workspace_id: event.workspace_id,
          data: event,
        });
        return {
          method: "POST",
          url,
          headers: {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": signWebhook(settings.secret, id, timestamp, body),
          },
          body,
          eventIndexes: [index],
        };
      }),
      skipped: [],
    };
  },
  /**
   * 2xx delivered; 408, 429 and 5xx retried (honouring Retry-After); every other status,
   * 401/403 and 410 Gone included, failed: the receiver's credentials are our signature, so
   * there is no token to refresh, and a 4xx will not change on retry.
   */
  classify(response: PlatformResponse): Classification {
    if (response.status >= 200 && response.status < 300) return every({ kind: "delivered" });
    const reason = httpReason(response);
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      return every(retryOutcome(response, reason));
    }
    return every({ kind: "failed", reason });
  },
} satisfies Connector<typeof webhookSettings>;

import { z } from "@hono/zod-openapi";
import { monotonicFactory } from "ulid";
import { generateWebhookSecret } from "../../connectors/webhook.ts";
import { Sealer } from "../crypto.ts";
import { webhookCreateGuardKey, webhookHealthKey, webhookKey, webhookPrefix } from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./catalogue.ts";

/** A customer endpoint that receives signed webhook messages. */
export interface Webhook {
  id: string;
  workspace_id: string;
  url: string;
  events: WebhookEventType[];
  description: string;
  enabled: boolean;
  /** Why it was disabled automatically (absent when a user disabled it). */
  disabled_reason?: string;
  disabled_at?: string;
  /** AES-GCM-sealed JSON {@linkcode WebhookSecrets}. */
  secrets_sealed: string;
  /** Until when the secret replaced by the last rotation still signs, epoch ms. */
  previous_secret_expires_at?: number;
  created_at: string;
  updated_at: string;
}

/** The signing secrets of a webhook. */
interface WebhookSecrets {
  current: string;
  /** The secret before the last rotation; signs alongside `current` until it expires. */
  previous?: string;
}

/** Present while every send to a webhook fails. */
export interface WebhookHealth {
  /** Epoch ms of the first failed send of the streak. */
  failing_since: number;
}

/** A webhook as API answers show it: no secrets. */
export const publicWebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  description: z.string(),
  enabled: z.boolean(),
  status: z.enum(["active", "failing", "disabled"]).openapi({
    description: "`failing` while every recent send failed; `disabled` when off",
  }),
  failing_since: z.string().optional(),
  disabled_reason: z.string().optional().openapi({
    description: "Why it was disabled automatically (absent when a user disabled it)",
  }),
  disabled_at: z.string().optional(),
  previous_secret_expires_at: z.string().optional().openapi({
    description: "Until when the secret replaced by the last rotation still signs",
  }),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Webhook");

/** A webhook as API answers show it: no secrets. */
export type PublicWebhook = z.output<typeof publicWebhookSchema>;

/** How long a rotated-out secret keeps signing, ms. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** Thrown when a workspace already has as many webhooks as allowed. */
export class WebhookLimitError extends Error {
  constructor(readonly limit: number) {
    super(`A workspace may have at most ${limit} webhooks (SLUICE_MAX_WEBHOOKS)`);
  }
}

const newId = monotonicFactory();
const LIST_CACHE_MS = 2_000;

/** Webhooks in KV; signing secrets sealed with a key derived from the master secret. */
export class WebhookStore {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;
  readonly #maxPerWorkspace: number;
  readonly #lists = new TtlCache<Webhook[]>(LIST_CACHE_MS);

  constructor(kv: Deno.Kv, masterSecret: string, options: { maxPerWorkspace: number }) {
    this.#kv = kv;
    this.#sealer = new Sealer(masterSecret, "webhook-secrets");
    this.#maxPerWorkspace = options.maxPerWorkspace;
  }

  /** Registers a webhook and generates its secret, which the caller shows once. */
  async create(wsId: string, input: {
    url: string;
    events: readonly WebhookEventType[];
    description: string;
    enabled: boolean;
  }): Promise<{ webhook: Webhook; secret: string }> {
    const now = new Date().toISOString();
    const secret = generateWebhookSecret();
    const webhook: Webhook = {
      // Typed like every other id (`ws_`, `dst_`, `key_`); ids stored without it still work.
      id: `wh_${newId().toLowerCase()}`,
      workspace_id: wsId,
      url: input.url,
      events: [...new Set(input.events)],
      description: input.description,
      enabled: input.enabled,
      secrets_sealed: this.#seal({ current: secret }),
      created_at: now,
      updated_at: now,
    };
    // The guard's versionstamp serialises concurrent creates, so the limit holds.
    for (;;) {
      const guard = await this.#kv.get<number>(webhookCreateGuardKey(wsId));
      if ((await this.list(wsId)).length >= this.#maxPerWorkspace) {
        throw new WebhookLimitError(this.#maxPerWorkspace);
      }
      const result = await this.#kv.atomic().check(guard)
        .set(webhookCreateGuardKey(wsId), (guard.value ?? 0) + 1)
        .set(webhookKey(wsId, webhook.id), webhook).commit();
      this.#lists.delete(wsId);
      if (result.ok) return { webhook, secret };
    }
  }

  /** One webhook, or null. */
  async get(wsId: string, id: string): Promise<Webhook | null> {
    return (await this.#kv.get<Webhook>(webhookKey(wsId, id))).value;
  }

  /** A workspace's webhooks, oldest first; `cached` accepts a list up to 2 s old. */
  async list(wsId: string, cached = false): Promise<Webhook[]> {
    if (cached) {
      const hit = this.#lists.get(wsId);
      if (hit) return hit;
    }
    const list: Webhook[] = [];
    for await (const entry of this.#kv.list<Webhook>({ prefix: webhookPrefix(wsId) })) {
      list.push(entry.value);
    }
    this.#lists.set(wsId, list);
    return list;
  }

  /** Since when every send failed, or null while healthy. */
  async health(wsId: string, id: string): Promise<WebhookHealth | null> {
    return (await this.#kv.get<WebhookHealth>(webhookHealthKey(wsId, id))).value;
  }

  /**
   * Changes a webhook; enabling one that was disabled clears its failure streak, so the
   * disabling clock restarts. Null when absent.
   */
  async update(wsId: string, id: string, patch: {
    url?: string;
    events?: readonly WebhookEventType[];
    description?: string;
    enabled?: boolean;
  }): Promise<Webhook | null> {
    const entry = await this.#kv.get<Webhook>(webhookKey(wsId, id));
    if (!entry.value) return null;
    const current = entry.value;
    const next: Webhook = {
      ...current,
      ...(patch.url === undefined ? {} : { url: patch.url }),
      ...(patch.events === undefined ? {} : { events: [...new Set(patch.events)] }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      updated_at: new Date().toISOString(),
    };
    const op = this.#kv.atomic().check(entry);
    if (patch.enabled === true && !current.enabled) {
      delete next.disabled_reason;
      delete next.disabled_at;
      op.delete(webhookHealthKey(wsId, id));
    }
    if (patch.enabled === false) {
      delete next.disabled_reason;
      delete next.disabled_at;
    }
    const result = await op.set(webhookKey(wsId, id), next).commit();
    if (!result.ok) return await this.update(wsId, id, patch);
    this.#lists.delete(wsId);
    return next;
  }

  /** Deletes a webhook; false when absent. Its delivery log expires on its own. */
  async delete(wsId: string, id: string): Promise<boolean> {
    const entry = await this.#kv.get<Webhook>(webhookKey(wsId, id));
    if (!entry.value) return false;
    await this.#kv.atomic().check(entry).delete(webhookKey(wsId, id))
      .delete(webhookHealthKey(wsId, id)).commit();
    this.#lists.delete(wsId);
    return true;
  }

  /**
   * Replaces the signing secret; the old one keeps signing beside it for
   * {@linkcode SECRET_OVERLAP_MS}. Null when absent.
   */
  async rotateSecret(
    wsId: string,
    id: string,
    now = Date.now(),
  ): Promise<{ secret: string; previous_secret_expires_at: number } | null> {
    const entry = await this.#kv.get<Webhook>(webhookKey(wsId, id));
    if (!entry.value) return null;
    const secret = generateWebhookSecret();
    const expires = now + SECRET_OVERLAP_MS;
    const next: Webhook = {
      ...entry.value,
      secrets_sealed: this.#seal({ current: secret, previous: this.#open(entry.value).current }),
      previous_secret_expires_at: expires,
      updated_at: new Date(now).toISOString(),
    };
    const result = await this.#kv.atomic().check(entry).set(webhookKey(wsId, id), next).commit();
    if (!result.ok) return await this.rotateSecret(wsId, id, now);
    this.#lists.delete(wsId);
    return { secret, previous_secret_expires_at: expires };
  }

  /** Records a failed send: starts the failure streak unless one is running; returns it. */
  async markFailing(wsId: string, id: string, now: number): Promise<WebhookHealth> {
    const key = webhookHealthKey(wsId, id);
    const health: WebhookHealth = { failing_since: now };
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, health)
      .commit();
    if (result.ok) return health;
    return (await this.#kv.get<WebhookHealth>(key)).value ?? health;
  }

  /** Records a successful send: ends the failure streak. */
  async markHealthy(wsId: string, id: string): Promise<void> {
    await this.#kv.delete(webhookHealthKey(wsId, id));
  }

  /**
   * Disables a webhook whose failure streak began at `failingSince`. Null, and nothing
   * changed, when it is already off or the streak ended or restarted meanwhile.
   */
  async disableFailing(
    wsId: string,
    id: string,
    failingSince: number,
    reason: string,
    now: number,
  ): Promise<Webhook | null> {
    const [hook, health] = await this.#kv.getMany<[Webhook, WebhookHealth]>([
      webhookKey(wsId, id),
      webhookHealthKey(wsId, id),
    ]);
    if (!hook.value?.enabled || health.value?.failing_since !== failingSince) return null;
    const at = new Date(now).toISOString();
    const next: Webhook = {
      ...hook.value,
      enabled: false,
      disabled_reason: reason,
      disabled_at: at,
      updated_at: at,
    };
    const result = await this.#kv.atomic().check(hook).check(health)
      .set(webhookKey(wsId, id), next).delete(webhookHealthKey(wsId, id)).commit();
    if (!result.ok) return null;
    this.#lists.delete(wsId);
    return next;
  }

  /** The secrets that sign a message sent at `now`: the current one, then the previous one. */
  signingSecrets(webhook: Webhook, now: number): string[] {
    const secrets = this.#open(webhook);
    const previousValid = secrets.previous !== undefined &&
      (webhook.previous_secret_expires_at ?? 0) > now;
    return previousValid ? [secrets.current, secrets.previous!] : [secrets.current];
  }

  #seal(secrets: WebhookSecrets): string {
    return this.#sealer.seal(JSON.stringify(secrets));
  }

  #open(webhook: Webhook): WebhookSecrets {
    return JSON.parse(this.#sealer.open(webhook.secrets_sealed)) as WebhookSecrets;
  }
}

/** Whether a webhook receives messages of a type. */
export function subscribes(webhook: Webhook, type: WebhookEventType): boolean {
  return webhook.enabled && webhook.events.includes(type);
}

/** A webhook as API answers show it. */
export function publicWebhook(webhook: Webhook, health: WebhookHealth | null): PublicWebhook {
  const status = !webhook.enabled ? "disabled" : health ? "failing" : "active";
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    description: webhook.description,
    enabled: webhook.enabled,
    status,
    ...(health && webhook.enabled
      ? { failing_since: new Date(health.failing_since).toISOString() }
      : {}),
    ...(webhook.disabled_reason ? { disabled_reason: webhook.disabled_reason } : {}),
    ...(webhook.disabled_at ? { disabled_at: webhook.disabled_at } : {}),
    ...(webhook.previous_secret_expires_at && webhook.previous_secret_expires_at > Date.now()
      ? { previous_secret_expires_at: new Date(webhook.previous_secret_expires_at).toISOString() }
      : {}),
    created_at: webhook.created_at,
    updated_at: webhook.updated_at,
  };
}

import { z } from "@hono/zod-openapi";
import { monotonicFactory } from "ulid";
import { PLATFORM_TYPES, type PlatformType } from "../../connectors/mod.ts";
import { Sealer } from "../crypto.ts";
import { destinationKey, destinationPrefix } from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";

/** Whether a destination may be sent to; auth failures mark it unhealthy until fixed. */
export const destinationHealthSchema = z.object({
  status: z.enum(["healthy", "unhealthy"]),
  reason: z.string().optional(),
  since: z.string().optional(),
}).openapi("PlatformHealth");

/** Whether a destination may be sent to; auth failures mark it unhealthy until fixed. */
export type DestinationHealth = z.output<typeof destinationHealthSchema>;

/** A workspace's connection to one platform. Secret settings are stored sealed. */
export interface Destination {
  id: string;
  workspace_id: string;
  type: PlatformType;
  name: string;
  enabled: boolean;
  /** Settings that are not secret. */
  config: Record<string, unknown>;
  /** AES-GCM-sealed JSON of the secret settings. */
  secrets_sealed: string;
  /** Names of the secret settings that are set. */
  secret_fields: string[];
  health: DestinationHealth;
  created_at: string;
  updated_at: string;
}

/** The mask shown in place of a secret setting. */
export const SECRET_MASK = "********";

/** What a destination looks like in API answers: secrets masked. */
export const publicDestinationSchema = z.object({
  id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  name: z.string(),
  enabled: z.boolean(),
  config: z.record(z.string(), z.unknown()).openapi({
    description:
      `The platform's settings, whose names depend on \`type\` (see the settings per type in the API guide; every type takes \`endpoint\`). Secret settings are shown as "${SECRET_MASK}", never in clear.`,
    example: { pixel_id: "1234567890", access_token: SECRET_MASK, api_version: "v25.0" },
  }),
  health: destinationHealthSchema,
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Platform");

/** What a destination looks like in API answers: secrets masked. */
export type PublicDestination = z.output<typeof publicDestinationSchema>;

const newId = monotonicFactory();
const LIST_CACHE_MS = 2_000;

/** Splits settings into plain and secret parts. */
function split(settings: Record<string, unknown>, secretFields: readonly string[]) {
  const config: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (secretFields.includes(key)) secrets[key] = value;
    else config[key] = value;
  }
  return { config, secrets };
}

/** Destinations in KV; secrets sealed with a key derived from the master secret. */
export class DestinationStore {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;
  readonly #lists = new TtlCache<Destination[]>(LIST_CACHE_MS);

  constructor(kv: Deno.Kv, masterSecret: string) {
    this.#kv = kv;
    this.#sealer = new Sealer(masterSecret, "destination-secrets");
  }

  /** Creates a destination from validated settings. */
  async create(wsId: string, input: {
    type: PlatformType;
    name: string;
    enabled: boolean;
    settings: Record<string, unknown>;
    secretFields: readonly string[];
  }): Promise<Destination> {
    const now = new Date().toISOString();
    const { config, secrets } = split(input.settings, input.secretFields);
    const destination: Destination = {
      id: `dst_${newId().toLowerCase()}`,
      workspace_id: wsId,
      type: input.type,
      name: input.name,
      enabled: input.enabled,
      config,
      secrets_sealed: this.#sealer.seal(JSON.stringify(secrets)),
      secret_fields: Object.keys(secrets),
      health: { status: "healthy" },
      created_at: now,
      updated_at: now,
    };
    await this.#kv.set(destinationKey(wsId, destination.id), destination);
    this.#lists.delete(wsId);
    return destination;
  }

  /** One destination, or null. */
  async get(wsId: string, id: string): Promise<Destination | null> {
    if (id.length > 64) return null;
    return (await this.#kv.get<Destination>(destinationKey(wsId, id))).value;
  }

  /** A workspace's destinations; `cached` allows a copy up to 2 s old (the delivery path). */
  async list(wsId: string, cached = false): Promise<Destination[]> {
    if (cached) {
      const hit = this.#lists.get(wsId);
      if (hit) return hit;
    }
    const list: Destination[] = [];
    for await (const entry of this.#kv.list<Destination>({ prefix: destinationPrefix(wsId) })) {
      list.push(entry.value);
    }
    this.#lists.set(wsId, list);
    return list;
  }

  /** The full settings, secrets opened, for sending. */
  settingsOf(destination: Destination): Record<string, unknown> {
    return { ...destination.config, ...JSON.parse(this.#sealer.open(destination.secrets_sealed)) };
  }

  /**
   * Changes a destination. `settings` replaces the plain settings and the secrets it names;
   * a secret sent back as the mask (or left out) keeps its stored value. Saving settings, even
   * the same ones, makes the destination healthy again (saving is how the user says a refused
   * credential is fixed, and the fix may have been on the platform's side); any other edit
   * keeps its health as it was, reason and since included.
   */
  async update(wsId: string, id: string, patch: {
    name?: string;
    enabled?: boolean;
    settings?: Record<string, unknown>;
    secretFields: readonly string[];
    health?: DestinationHealth;
  }): Promise<Destination | null> {
    for (;;) {
      const current = await this.#kv.get<Destination>(destinationKey(wsId, id));
      if (!current.value) return null;
      const before = current.value;
      let config = before.config;
      let secretsSealed = before.secrets_sealed;
      let secretFields = before.secret_fields;
      if (patch.settings) {
        const given = Object.fromEntries(
          Object.entries(patch.settings).filter(([, v]) => v !== SECRET_MASK),
        );
        const { config: nextConfig, secrets } = split(given, patch.secretFields);
        const merged = { ...JSON.parse(this.#sealer.open(before.secrets_sealed)), ...secrets };
        config = nextConfig;
        secretsSealed = this.#sealer.seal(JSON.stringify(merged));
        secretFields = Object.keys(merged);
      }
      const next: Destination = {
        ...before,
        name: patch.name ?? before.name,
        enabled: patch.enabled ?? before.enabled,
        config,
        secrets_sealed: secretsSealed,
        secret_fields: secretFields,
        health: patch.health ?? (patch.settings ? { status: "healthy" } : before.health),
        updated_at: new Date().toISOString(),
      };
      const result = await this.#kv.atomic().check(current).set(current.key, next).commit();
      if (result.ok) {
        this.#lists.delete(wsId);
        return next;
      }
    }
  }

  /**
   * Records an auth failure (unhealthy) or recovery. True when this call changed the status;
   * false when it was already so (another batch got there first) or the destination is gone.
   */
  async setHealth(wsId: string, id: string, health: DestinationHealth): Promise<boolean> {
    for (;;) {
      const current = await this.#kv.get<Destination>(destinationKey(wsId, id));
      if (!current.value || current.value.health.status === health.status) return false;
      const next: Destination = { ...current.value, health, updated_at: new Date().toISOString() };
      const result = await this.#kv.atomic().check(current).set(current.key, next).commit();
      if (result.ok) {
        this.#lists.delete(wsId);
        return true;
      }
    }
  }

  /** Deletes a destination; false when absent. */
  async delete(wsId: string, id: string): Promise<boolean> {
    if (!(await this.get(wsId, id))) return false;
    await this.#kv.delete(destinationKey(wsId, id));
    this.#lists.delete(wsId);
    return true;
  }
}

/** A destination as API answers show it: secret settings masked, never returned. */
export function publicDestination(destination: Destination): PublicDestination {
  const config = { ...destination.config };
  for (const field of destination.secret_fields) config[field] = SECRET_MASK;
  return {
    id: destination.id,
    type: destination.type,
    name: destination.name,
    enabled: destination.enabled,
    config,
    health: destination.health,
    created_at: destination.created_at,
    updated_at: destination.updated_at,
  };
}

import { z } from "@hono/zod-openapi";
import { monotonicFactory } from "ulid";
import { sha256Hex } from "../../core/digest.ts";
import { randomBase62 } from "../crypto.ts";
import {
  apiKeyKey,
  apiKeyUsedKey,
  previousApiKeyKey,
  workspaceApiKeyKey,
  workspaceApiKeyPrefix,
} from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";
import { KeyUsage } from "./key_usage.ts";

/** Every scope, for validation. */
export const SCOPES = ["ingest", "read", "admin"] as const;

/** What a key may do: `ingest` sends events, `read` reads, `admin` does everything. */
export type Scope = typeof SCOPES[number];

/** An API key as stored: never the secret. */
export const apiKeyRecordSchema = z.object({
  id: z.string(),
  workspace_id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  prefix: z.string().openapi({ description: "The first characters of the secret" }),
  created_at: z.string(),
  rotated_at: z.string().optional().openapi({ description: "When the secret was last rotated" }),
  previous_expires_at: z.string().optional().openapi({
    description: "Until when the secret the last rotation replaced still works",
  }),
  /** Set on the record of a secret a rotation replaced: when it stops working. */
  expires_at: z.string().optional(),
});

/** An API key as stored: never the secret. */
export type ApiKeyRecord = z.output<typeof apiKeyRecordSchema>;

/** An API key as the API lists it: the stored record without its workspace, with its last use. */
export const apiKeySchema = apiKeyRecordSchema.omit({ workspace_id: true, expires_at: true })
  .extend({
    last_used_at: z.string().nullable().openapi({
      description:
        "When the key last authenticated a request (ISO 8601; recorded at most every 5 minutes, so up to 5 minutes behind); null when never",
      example: "2026-01-31T14:05:09.000Z",
    }),
  })
  .openapi("ApiKey");

/** A stored key with when it was last used. */
export type ListedApiKey = ApiKeyRecord & Pick<z.output<typeof apiKeySchema>, "last_used_at">;

/** The secret a rotation replaced (`previousApiKeyKey`), valid until `expires_at`. */
export interface PreviousApiKey {
  /** SHA-256 of the replaced secret. */
  hash: string;
  /** Epoch ms. */
  expires_at: number;
}

/** A rotated key: its record, the new secret (shown once) and when the old one stops working. */
export interface ApiKeyRotated extends ApiKeyCreated {
  /** Epoch ms; equal to the rotation time when there is no overlap. */
  previous_expires_at: number;
}

/** Thrown when revoking a key would leave its workspace without an admin key. */
export class LastAdminKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `API key "${keyId}" is the workspace's last admin key; create another admin key before revoking it`,
    );
    this.name = "LastAdminKeyError";
  }
}

/** A new key: the record and the secret, shown once. */
export interface ApiKeyCreated {
  record: ApiKeyRecord;
  secret: string;
}

/** A key ready to be written in the caller's atomic operation. */
export interface PreparedApiKey {
  created: ApiKeyCreated;
  addTo(op: Deno.AtomicOperation): Deno.AtomicOperation;
}

const KEY_CACHE_TTL_MS = 3_000;
const newId = monotonicFactory();

/** Whether a key's scopes grant `needed` (`admin` grants everything). */
export function hasScope(record: ApiKeyRecord, needed: Scope): boolean {
  return record.scopes.includes("admin") || record.scopes.includes(needed);
}

function newSecret(): { secret: string; hash: string } {
  const secret = `sk_${randomBase62(40)}`;
  return { secret, hash: sha256Hex(secret) };
}

/** Mints a secret `sk_…` and the KV writes that store it as a SHA-256 hash. */
export function prepareApiKey(
  wsId: string,
  input: { name: string; scopes: Scope[] },
): PreparedApiKey {
  const { secret, hash } = newSecret();
  const record: ApiKeyRecord = {
    id: `key_${newId().toLowerCase()}`,
    workspace_id: wsId,
    name: input.name,
    scopes: [...new Set(input.scopes)],
    prefix: secret.slice(0, 10),
    created_at: new Date().toISOString(),
  };
  return {
    created: { record, secret },
    addTo: (op) =>
      op.check({ key: apiKeyKey(hash), versionstamp: null })
        .set(apiKeyKey(hash), record)
        .set(workspaceApiKeyKey(wsId, record.id), hash),
  };
}

/**
 * API keys in KV; lookups are cached for a few seconds, so a revocation bites within them.
 * Each successful lookup notes the key's use in {@linkcode KeyUsage} (memory; written later).
 */
export class ApiKeyStore {
  readonly #kv: Deno.Kv;
  readonly #cache = new TtlCache<ApiKeyRecord | null>(KEY_CACHE_TTL_MS);
  /** When keys were last used; the runtime starts its timer and flushes it on close. */
  readonly usage: KeyUsage;

  constructor(kv: Deno.Kv, options: { usage?: KeyUsage } = {}) {
    this.#kv = kv;
    this.usage = options.usage ?? new KeyUsage(kv);
  }

  /** The key a secret belongs to, or null. */
  async authenticate(secret: string): Promise<ApiKeyRecord | null> {
    if (!secret.startsWith("sk_") || secret.length > 100) return null;
    const hash = sha256Hex(secret);
    let record = this.#cache.get(hash);
    if (record === undefined) {
      record = (await this.#kv.get<ApiKeyRecord>(apiKeyKey(hash))).value;
      this.#cache.set(hash, record);
    }
    if (!isValid(record)) return null;
    this.usage.touch(record.workspace_id, record.id);
    return record;
  }

  /** Creates a key in a workspace; the secret is in the answer only. */
  async create(wsId: string, input: { name: string; scopes: Scope[] }): Promise<ApiKeyCreated> {
    const prepared = prepareApiKey(wsId, input);
    const result = await prepared.addTo(this.#kv.atomic()).commit();
    if (!result.ok) throw new Error(`Cannot create API key "${input.name}": secret collision`);
    return prepared.created;
  }

  /** A workspace's keys, oldest first, with when each was last used. */
  async list(wsId: string): Promise<ListedApiKey[]> {
    const records = await this.#records(wsId);
    const used = await this.usage.lastUsed(wsId, records.map((r) => r.id));
    return records.map((record) => {
      const at = used.get(record.id);
      return { ...record, last_used_at: at === undefined ? null : new Date(at).toISOString() };
    });
  }

  async #records(wsId: string): Promise<ApiKeyRecord[]> {
    const hashes: string[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: workspaceApiKeyPrefix(wsId) })) {
      hashes.push(entry.value);
    }
    const records: ApiKeyRecord[] = [];
    for (let i = 0; i < hashes.length; i += 10) {
      const entries = await this.#kv.getMany<ApiKeyRecord[]>(
        hashes.slice(i, i + 10).map(apiKeyKey),
      );
      for (const entry of entries) if (entry.value) records.push(entry.value);
    }
    return records;
  }

  /**
   * Revokes a key; false when the workspace has no such key. Throws LastAdminKeyError when
   * it is the workspace's last admin key: the commit checks that another admin key still
   * exists unchanged, so two concurrent revokes cannot remove the last two together.
   */
  async revoke(wsId: string, keyId: string): Promise<boolean> {
    if (keyId.length > 64) return false;
    for (;;) {
      const index = await this.#kv.get<string>(workspaceApiKeyKey(wsId, keyId));
      if (!index.value) return false;
      const previous = await this.#kv.get<PreviousApiKey>(previousApiKeyKey(wsId, keyId));
      const op = this.#kv.atomic().check(index).check(previous)
        .delete(workspaceApiKeyKey(wsId, keyId))
        .delete(apiKeyKey(index.value))
        .delete(previousApiKeyKey(wsId, keyId))
        .delete(apiKeyUsedKey(wsId, keyId));
      if (previous.value) op.delete(apiKeyKey(previous.value.hash));
      const record = (await this.#kv.get<ApiKeyRecord>(apiKeyKey(index.value))).value;
      if (record && hasScope(record, "admin")) {
        op.check(await this.#otherAdminKey(wsId, keyId));
      }
      if ((await op.commit()).ok) {
        this.#cache.delete(index.value);
        if (previous.value) this.#cache.delete(previous.value.hash);
        this.usage.forget(keyId);
        return true;
      }
    }
  }

  /**
   * Gives a key a new secret. The old secret keeps working for `overlapMs` (0: it stops at
   * once), so callers can switch without downtime; a secret an earlier rotation replaced
   * stops at once. Null when the workspace has no such key.
   */
  async rotate(
    wsId: string,
    keyId: string,
    overlapMs: number,
    now = Date.now(),
  ): Promise<ApiKeyRotated | null> {
    if (!(overlapMs >= 0) || !Number.isFinite(overlapMs)) {
      throw new RangeError(`Cannot rotate API key "${keyId}": overlap "${overlapMs}" ms`);
    }
    if (keyId.length > 64) return null;
    for (;;) {
      const index = await this.#kv.get<string>(workspaceApiKeyKey(wsId, keyId));
      if (!index.value) return null;
      const [current, previous] = await this.#kv.getMany<[ApiKeyRecord, PreviousApiKey]>([
        apiKeyKey(index.value),
        previousApiKeyKey(wsId, keyId),
      ]);
      if (!current.value) return null;
      const { secret, hash } = newSecret();
      const expiresAt = now + overlapMs;
      const { expires_at: _, previous_expires_at: __, ...kept } = current.value;
      const record: ApiKeyRecord = {
        ...kept,
        prefix: secret.slice(0, 10),
        rotated_at: new Date(now).toISOString(),
        ...(overlapMs > 0 ? { previous_expires_at: new Date(expiresAt).toISOString() } : {}),
      };
      const op = this.#kv.atomic().check(index).check(current).check(previous)
        .check({ key: apiKeyKey(hash), versionstamp: null })
        .set(apiKeyKey(hash), record)
        .set(workspaceApiKeyKey(wsId, keyId), hash);
      if (previous.value) op.delete(apiKeyKey(previous.value.hash));
      if (overlapMs > 0) {
        const old: ApiKeyRecord = {
          ...current.value,
          expires_at: new Date(expiresAt).toISOString(),
        };
        const replaced: PreviousApiKey = { hash: index.value, expires_at: expiresAt };
        op.set(apiKeyKey(index.value), old, { expireIn: overlapMs })
          .set(previousApiKeyKey(wsId, keyId), replaced, { expireIn: overlapMs });
      } else {
        op.delete(apiKeyKey(index.value)).delete(previousApiKeyKey(wsId, keyId));
      }
      if ((await op.commit()).ok) {
        this.#cache.delete(index.value);
        if (previous.value) this.#cache.delete(previous.value.hash);
        return { record, secret, previous_expires_at: expiresAt };
      }
    }
  }

  /** The index entry of an admin key other than `keyId`; throws when there is none. */
  async #otherAdminKey(wsId: string, keyId: string): Promise<Deno.KvEntry<string>> {
    for await (const entry of this.#kv.list<string>({ prefix: workspaceApiKeyPrefix(wsId) })) {
      if (entry.key.at(-1) === keyId) continue;
      const other = (await this.#kv.get<ApiKeyRecord>(apiKeyKey(entry.value))).value;
      if (other && hasScope(other, "admin")) return entry;
    }
    throw new LastAdminKeyError(keyId);
  }
}

/** Whether a record's secret still works: a secret a rotation replaced stops at `expires_at` (expireIn deletes lazily). */
function isValid(record: ApiKeyRecord | null): record is ApiKeyRecord {
  return record !== null &&
    (record.expires_at === undefined || Date.parse(record.expires_at) > Date.now());
}

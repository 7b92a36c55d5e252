/**
 * When an entry expires. Deno KV does not say (`get` and `list` return no expiry), so a
 * backup re-derives each expiring entry's expiry from what the entry itself records, by
 * the same rule that set its `expireIn`. A module that writes a new expiring key adds its
 * rule here; an entry without a rule is restored without an expiry.
 *
 * @module
 */
import { decodeTime } from "ulid";
import type { ApiKeyRecord, PreviousApiKey } from "../auth/api_keys.ts";
import { DELIVERY_ROW_TTL_MS } from "../delivery/rows.ts";
import type { EventIdEntry } from "../event_store.ts";
import { DEAD_LETTER_TTL_MS } from "../queue/kv_outbox.ts";
import { WEBHOOK_LOG_TTL_MS } from "../webhooks/deliveries.ts";
import { workspacePrefix } from "../kv/keys.ts";
import { DEFAULT_SETTINGS, type Workspace } from "../workspaces.ts";

/** What the rules need besides the entry: each workspace's retention, ms. */
export interface ExpiryContext {
  /** Undefined when the workspace does not exist. */
  retentionMs(wsId: string): number | undefined;
}

/** Reads every workspace's retention (strongly consistent) for the rules. */
export async function expiryContext(kv: Deno.Kv): Promise<ExpiryContext> {
  const byId = new Map<string, number>();
  const listing = kv.list<Workspace>({ prefix: workspacePrefix() }, { consistency: "strong" });
  for await (const entry of listing) {
    const days = entry.value.settings?.retention_days ?? DEFAULT_SETTINGS.retention_days;
    byId.set(String(entry.key[1]), days * 86_400_000);
  }
  return { retentionMs: (wsId) => byId.get(wsId) };
}

type Rule = (key: Deno.KvKey, value: unknown, ctx: ExpiryContext) => number | undefined;

/** Rules by the key's first part. */
const RULES: Record<string, Rule> = {
  // Sealed events live for the workspace's retention from their arrival (the ULID's time).
  ev: (key, _, ctx) => ulidTime(key[2]) + (ctx.retentionMs(String(key[1])) ?? NaN),
  // The id index outlives the event when the dedup window is longer than the retention.
  ev_id: (key, value, ctx) => {
    const entry = value as Partial<EventIdEntry>;
    const kept = ulidTime(entry.ulid) + (ctx.retentionMs(String(key[1])) ?? NaN);
    return Math.max(kept, entry.dedup_until ?? NaN);
  },
  handoff: (_, value) => number(field(value, "at")) + DELIVERY_ROW_TTL_MS,
  // Rows are rewritten, with a fresh expiry, at every answer.
  dlv: (_, value) => date(field(value, "updated_at")) + DELIVERY_ROW_TTL_MS,
  hook_msg: (_, value) => date(field(value, "created_at")) + WEBHOOK_LOG_TTL_MS,
  hook_dlv: (_, value) => date(field(value, "updated_at")) + WEBHOOK_LOG_TTL_MS,
  outbox_dead: (_, value) => number(field(value, "failed_at")) + DEAD_LETTER_TTL_MS,
  ws_key_prev: (_, value) => number((value as Partial<PreviousApiKey>).expires_at),
  // Only the record of a secret a rotation replaced expires.
  key: (_, value) => {
    const expires = (value as Partial<ApiKeyRecord>).expires_at;
    return expires === undefined ? undefined : date(expires);
  },
};

/** Key prefixes whose entries a backup leaves out: transient state. */
export const TRANSIENT_PREFIXES: ReadonlySet<string> = new Set([
  // Rate-limit windows last a minute; they would only come back stale.
  "rl",
  // A backup's own start mark.
  "backup_mark",
  // A rotation's cursor, read at another moment than the values it describes, could mark
  // as done values the backup holds unrotated: a restored instance starts a fresh pass.
  "rotation",
]);

/**
 * An entry's expiry, epoch ms, derived from its key and value; undefined when it does not
 * expire. When a record lacks what its rule reads, it is kept without an expiry rather
 * than dropped.
 */
export function expiryOf(key: Deno.KvKey, value: unknown, ctx: ExpiryContext): number | undefined {
  const rule = RULES[String(key[0])];
  if (!rule) return undefined;
  const at = rule(key, value, ctx);
  return at !== undefined && Number.isFinite(at) ? Math.round(at) : undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function number(value: unknown): number {
  return typeof value === "number" ? value : NaN;
}

function date(value: unknown): number {
  return typeof value === "string" ? Date.parse(value) : NaN;
}

function ulidTime(value: unknown): number {
  try {
    return typeof value === "string" ? decodeTime(value) : NaN;
  } catch {
    return NaN;
  }
}

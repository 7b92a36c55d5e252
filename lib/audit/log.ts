/**
 * The audit log: who changed what in a workspace (destinations, rules, keys, webhooks,
 * members, replays), newest first. An entry names the actor by id (an account or an API
 * key) and the target by id: never an email, a payload or a secret, so the log holds no
 * PII and may be shown to every member.
 *
 * @module
 */
import { monotonicFactory } from "ulid";
import { auditKey, auditPrefix } from "../kv/keys.ts";
import { listPage } from "../kv/page.ts";

/** How long audit entries are kept. */
export const AUDIT_TTL_MS = 365 * 86_400_000;

/** Who did it: a dashboard account, an API key, or the instance itself. */
export interface AuditActor {
  kind: "account" | "api_key" | "system";
  /** `acct_…` or `key_…`. */
  id: string;
}

/** One change. */
export interface AuditEntry {
  id: string;
  at: string;
  actor: AuditActor;
  /** What was done, as `resource.verb`: `platform.create`, `event.replay`, `member.invite`. */
  action: string;
  /** The id of what it was done to (`dst_…`, an event id, `acct_…`). */
  target?: string;
  /** A short note without PII or secrets (a role, a status code, a count). */
  note?: string;
}

const newId = monotonicFactory();

/** Most characters of a target or note kept. */
const MAX_TEXT = 200;

/** The audit log in KV. */
export class AuditLog {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Records one change. */
  async record(
    wsId: string,
    input: { actor: AuditActor; action: string; target?: string; note?: string },
  ): Promise<AuditEntry> {
    const id = newId();
    const entry: AuditEntry = {
      id,
      at: new Date().toISOString(),
      actor: input.actor,
      action: input.action,
      ...(input.target ? { target: input.target.slice(0, MAX_TEXT) } : {}),
      ...(input.note ? { note: input.note.slice(0, MAX_TEXT) } : {}),
    };
    await this.#kv.set(auditKey(wsId, id), entry, { expireIn: AUDIT_TTL_MS });
    return entry;
  }

  /** A newest-first page of a workspace's log. */
  list(
    wsId: string,
    options: { limit: number; cursor?: string },
  ): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
    return listPage<AuditEntry, AuditEntry>(this.#kv, auditPrefix(wsId), {
      ...options,
      select: (entry) => entry,
    });
  }
}

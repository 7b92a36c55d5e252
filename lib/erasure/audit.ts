import { z } from "@hono/zod-openapi";
import { sha256Hex } from "../../core/digest.ts";
import { erasureAuditKey } from "../kv/keys.ts";
import { IDENTIFIER_KINDS, type IdentifierKind } from "./person.ts";

/** One identifier of an erased person, as the audit keeps it: salted, never in clear. */
export const hashedIdentifierSchema = z.object({
  kind: z.enum(IDENTIFIER_KINDS),
  salt: z.string().openapi({ description: "Random, per identifier (hex)" }),
  sha256: z.string().openapi({
    description: "SHA-256 (hex) of `salt:value`, the value in canonical form",
  }),
}).openapi("ErasedIdentifier");

/** One identifier, salted and hashed. */
export type HashedIdentifier = z.output<typeof hashedIdentifierSchema>;

/** What one erasure removed, by kind of record. */
export const removedCountsSchema = z.record(z.string(), z.number().int()).openapi("ErasedCounts", {
  description:
    "Records removed, by kind: events, event_ids, handoffs, search_entries, deliveries, webhook_messages, webhook_deliveries, and one entry per erasure hook (identity_records, …)",
  example: {
    events: 3,
    event_ids: 3,
    handoffs: 3,
    search_entries: 3,
    deliveries: 6,
    webhook_messages: 1,
    webhook_deliveries: 1,
  },
});

/** What `POST /v1/erasure` answers. */
export const erasureReportSchema = z.object({
  id: z.string().openapi({
    description: "The audit record (`era_…`), kept without the identifiers in clear",
  }),
  removed: removedCountsSchema,
  scanned_events: z.number().int().openapi({
    description: "Stored events read to find the person's (events are encrypted at rest)",
  }),
  duration_ms: z.number().int(),
}).openapi("ErasureReport");

/** What one erasure did. */
export type ErasureReport = z.output<typeof erasureReportSchema>;

/** The audit record of one erasure: who asked, when, for whom (hashed) and what went. */
export const erasureAuditRecordSchema = z.object({
  id: z.string().openapi({ description: "`era_` + ULID" }),
  workspace_id: z.string(),
  requested_by: z.string().optional().openapi({ description: "The API key id that asked" }),
  at: z.string().openapi({ description: "When the erasure finished (ISO 8601)" }),
  identifiers: z.array(hashedIdentifierSchema),
  removed: removedCountsSchema,
  scanned_events: z.number().int(),
  duration_ms: z.number().int(),
}).openapi("ErasureAuditRecord");

/** The audit record of one erasure. */
export type ErasureAuditRecord = z.output<typeof erasureAuditRecordSchema>;

/**
 * Where erasures are recorded. The default keeps them in KV (`["erasure", wsId, id]`); an
 * audit log elsewhere (lib/audit) implements this and is passed to the {@link Eraser}.
 */
export interface ErasureAuditLog {
  /** Keeps one record; throws when it cannot. */
  record(entry: ErasureAuditRecord): Promise<void>;
}

/** The default audit log: one KV record per erasure, kept until deleted. */
export class KvErasureAudit implements ErasureAuditLog {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Writes the record under `["erasure", wsId, id]`. */
  async record(entry: ErasureAuditRecord): Promise<void> {
    const key = erasureAuditKey(entry.workspace_id, entry.id);
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, entry)
      .commit();
    if (!result.ok) throw new Error(`Cannot record erasure "${entry.id}": it exists`);
  }
}

/** An identifier salted and hashed, so the audit proves what was erased without keeping it. */
export function hashIdentifier(kind: IdentifierKind, value: string): HashedIdentifier {
  const salt = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { kind, salt, sha256: sha256Hex(`${salt}:${value}`) };
}

import { createHash } from "node:crypto";
import { backupMarkKey } from "../kv/keys.ts";
import { expiryContext, expiryOf, TRANSIENT_PREFIXES } from "./expiry.ts";
import {
  BACKUP_FORMAT_VERSION,
  type BackupHeader,
  type BackupTrailer,
  encodeEntry,
} from "./format.ts";
import { belongsToWorkspace } from "./scope.ts";

/** What to export, and what the header records of the source. */
export interface ExportOptions {
  /** Export only this workspace's entries. */
  workspace?: string;
  /** The source's queue adapter. */
  queue: "kv-queue" | "kv-outbox";
  /** Fingerprints of the source's master secrets (`Runtime.secretFingerprints`). */
  secretFingerprints: readonly string[];
  /** Called as entries are read (often: throttle what it draws). */
  onProgress?: (progress: ExportProgress) => void;
  now?: () => number;
}

/** How far an export has come. */
export interface ExportProgress {
  /** Entries read so far, exported or not. */
  scanned: number;
  /** Entries written to the file. */
  entries: number;
  /** Characters written to the file (before any compression). */
  bytes: number;
}

/** What an export wrote. */
export interface ExportSummary {
  header: BackupHeader;
  trailer: BackupTrailer;
  /** Entries past their expiry that KV had not deleted yet: left out. */
  expired: number;
}

/** Thrown when `--workspace` names a workspace that does not exist. */
export class UnknownWorkspaceError extends Error {
  constructor(readonly workspaceId: string) {
    super(`No workspace "${workspaceId}" in this KV`);
    this.name = "UnknownWorkspaceError";
  }
}

/** How long a start mark stays in KV should the export die before deleting it, ms. */
const MARK_TTL_MS = 3_600_000;
/** Characters gathered before one write. */
const CHUNK_CHARS = 256 * 1024;
/** Entries one list request reads. */
const LIST_BATCH = 500;

/**
 * Exports every entry of `kv` (or of one workspace) as backup lines (format.ts) through
 * `write`. Each entry is read with strong consistency in key order; a start mark committed
 * first gives the versionstamp that dates the export, and every entry newer than it — one
 * written while the export ran — is counted in the trailer's `changed_during_export`
 * (docs/deploy/backup.md says what that guarantees).
 */
export async function exportKv(
  kv: Deno.Kv,
  write: (chunk: string) => Promise<void>,
  options: ExportOptions,
): Promise<ExportSummary> {
  const now = options.now ?? Date.now;
  const ctx = await expiryContext(kv);
  if (options.workspace !== undefined && ctx.retentionMs(options.workspace) === undefined) {
    throw new UnknownWorkspaceError(options.workspace);
  }
  const start = await mark(kv, now());
  const header: BackupHeader = {
    format: "sluice-backup",
    version: BACKUP_FORMAT_VERSION,
    created_at: new Date(now()).toISOString(),
    workspace: options.workspace ?? null,
    queue: options.queue,
    start_versionstamp: start,
    secret_fingerprints: [...options.secretFingerprints],
  };
  const hash = createHash("sha256");
  const progress: ExportProgress = { scanned: 0, entries: 0, bytes: 0 };
  let buffer = "";
  const emit = async (line: string) => {
    const text = line + "\n";
    hash.update(text, "utf8");
    buffer += text;
    progress.bytes += text.length;
    if (buffer.length >= CHUNK_CHARS) {
      await write(buffer);
      buffer = "";
    }
  };
  await emit(JSON.stringify(header));
  let changed = 0;
  let expired = 0;
  const listing = kv.list({ prefix: [] }, { consistency: "strong", batchSize: LIST_BATCH });
  for await (const entry of listing) {
    progress.scanned++;
    if (TRANSIENT_PREFIXES.has(String(entry.key[0]))) continue;
    if (
      options.workspace !== undefined &&
      !belongsToWorkspace(entry.key, entry.value, options.workspace)
    ) continue;
    const expiresAt = expiryOf(entry.key, entry.value, ctx);
    if (expiresAt !== undefined && expiresAt <= now()) {
      expired++;
      continue;
    }
    if (entry.versionstamp > start) changed++;
    await emit(encodeEntry({ key: entry.key, value: entry.value, expiresAt }));
    progress.entries++;
    options.onProgress?.(progress);
  }
  const end = await mark(kv, now());
  await kv.delete(backupMarkKey());
  const trailer: BackupTrailer = {
    end: true,
    entries: progress.entries,
    changed_during_export: changed,
    end_versionstamp: end,
    sha256: hash.digest("hex"),
  };
  buffer += JSON.stringify(trailer) + "\n";
  await write(buffer);
  options.onProgress?.(progress);
  return { header, trailer, expired };
}

/** Entries in `kv`, for a progress bar's total (one quick pass, eventual consistency). */
export async function countEntries(kv: Deno.Kv): Promise<number> {
  let count = 0;
  for await (const _ of kv.list({ prefix: [] }, { batchSize: 1000 })) count++;
  return count;
}

/** Commits the start (or end) mark; its versionstamp is the database's at that moment. */
async function mark(kv: Deno.Kv, at: number): Promise<string> {
  const result = await kv.set(backupMarkKey(), { at }, { expireIn: MARK_TTL_MS });
  return result.versionstamp;
}

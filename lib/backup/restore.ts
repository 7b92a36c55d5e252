import { createHash } from "node:crypto";
import type { Connector } from "../../connectors/types.ts";
import type { KvLimits } from "../kv/limits.ts";
import type { OutboxEntry, QueuePort } from "../queue/mod.ts";
import {
  BACKUP_FORMAT_VERSION,
  type BackupEntry,
  type BackupHeader,
  backupHeaderSchema,
  type BackupTrailer,
  backupTrailerSchema,
  decodeEntry,
  entrySize,
  parseJson,
} from "./format.ts";
import { requeueFromState, type RequeueSummary } from "./requeue.ts";

/** Thrown when a file is not a complete, intact Sluice backup this version reads. */
export class BackupFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupFormatError";
  }
}

/** Thrown when restoring into a KV that holds entries, without `force`. */
export class NonEmptyKvError extends Error {
  constructor() {
    super("The target KV is not empty");
    this.name = "NonEmptyKvError";
  }
}

/** Thrown when the backup was sealed under a master secret this instance does not have. */
export class SecretMismatchError extends Error {
  constructor(readonly fingerprint: string) {
    super(
      `The backup's values are sealed under the master secret with fingerprint ${fingerprint}, which this instance's SLUICE_SECRET and SLUICE_SECRET_PREVIOUS do not include`,
    );
    this.name = "SecretMismatchError";
  }
}

/** A backup checked from end to end. */
export interface VerifiedBackup {
  header: BackupHeader;
  trailer: BackupTrailer;
}

/** What restoring needs. */
export interface RestoreOptions {
  /** Write into a KV that holds entries (same keys are overwritten, others kept). */
  force?: boolean;
  /** The target's queue: queued messages in the file go through it. */
  queue: QueuePort;
  limits: KvLimits;
  /** Fingerprints of the target's master secrets (`Runtime.secretFingerprints`). */
  secretFingerprints: readonly string[];
  connectorFor: (type: string) => Connector | undefined;
  /** Called as entries are checked (`verify`, the first pass) and written (`write`). */
  onProgress?: (progress: RestoreProgress) => void;
  now?: () => number;
}

/** How far a restore has come. */
export interface RestoreProgress {
  phase: "verify" | "write";
  entries: number;
  /** Entries in the file, once the first pass has counted them. */
  total?: number;
}

/** What a restore did. */
export interface RestoreSummary extends VerifiedBackup {
  /** Entries written (queued messages included). */
  entries: number;
  /** Queued messages of a kv-outbox source, queued again on the target's queue. */
  queued: number;
  /** Entries that expired since the backup: left out. */
  expired: number;
  /**
   * Messages re-derived for a kv-queue source (see requeue.ts); null for a kv-outbox source, or
   * when the file holds outbox messages after all.
   */
  requeued: RequeueSummary | null;
  /** What the operator should know (e.g. a secret the target lacks). */
  warnings: string[];
}

/**
 * Reads a backup's lines from end to end: the header, every entry line, the trailer, and
 * the checksum over them. Throws a {@link BackupFormatError} naming the line.
 */
export async function verifyBackup(
  lines: AsyncIterable<string>,
  onProgress?: (progress: RestoreProgress) => void,
): Promise<VerifiedBackup> {
  const hash = createHash("sha256");
  let header: BackupHeader | undefined;
  let trailer: BackupTrailer | undefined;
  let number = 0;
  let entries = 0;
  try {
    for await (const line of lines) {
      number++;
      if (trailer) throw new BackupFormatError(`line ${number}: text after the trailer`);
      if (number === 1) {
        header = parseHeader(line);
      } else if (line.startsWith('{"end"')) {
        const parsed = backupTrailerSchema.safeParse(safeJson(line));
        if (!parsed.success) throw new BackupFormatError(`line ${number}: invalid trailer`);
        trailer = parsed.data;
        continue;
      } else {
        try {
          decodeEntry(line);
        } catch (error) {
          throw new BackupFormatError(`line ${number}: ${(error as Error).message}`);
        }
        entries++;
        onProgress?.({ phase: "verify", entries });
      }
      hash.update(line + "\n", "utf8");
    }
  } catch (error) {
    if (error instanceof BackupFormatError) throw error;
    // A damaged gzip stream or bytes that are not UTF-8.
    throw new BackupFormatError(`cannot read it after line ${number}: ${(error as Error).message}`);
  }
  if (!header) throw new BackupFormatError("the file is empty");
  if (!trailer) {
    throw new BackupFormatError(
      `the file ends after line ${number} without its trailer: it is truncated`,
    );
  }
  if (trailer.entries !== entries) {
    throw new BackupFormatError(
      `the trailer counts ${trailer.entries} entries, the file holds ${entries}`,
    );
  }
  if (hash.digest("hex") !== trailer.sha256) {
    throw new BackupFormatError("the checksum does not match: the file was altered");
  }
  return { header, trailer };
}

/**
 * Restores a backup into `kv`: `open` gives the file's lines (it is called twice: the whole
 * file is verified before anything is written). Refuses a KV that holds entries unless
 * `force`, and a backup sealed under a master secret the target lacks. Queued messages of a
 * kv-outbox source go through the target's queue (due at the same time; a leased one at
 * once); for a kv-queue source they are re-derived from the restored records.
 */
export async function restoreBackup(
  kv: Deno.Kv,
  open: () => AsyncIterable<string>,
  options: RestoreOptions,
): Promise<RestoreSummary> {
  const now = options.now ?? Date.now;
  const { header, trailer } = await verifyBackup(open(), options.onProgress);
  const warnings = checkSecrets(header, options.secretFingerprints);
  if (!options.force) {
    for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) throw new NonEmptyKvError();
  }
  const summary: RestoreSummary = {
    header,
    trailer,
    entries: 0,
    queued: 0,
    expired: 0,
    requeued: null,
    warnings,
  };
  const workspaces = new Set<string>();
  const writer = new CommitWriter(kv, options.limits);
  let number = 0;
  for await (const line of open()) {
    number++;
    if (number === 1 || line.startsWith('{"end"')) continue;
    const entry = decodeEntry(line);
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      summary.expired++;
      continue;
    }
    if (entry.key[0] === "ws" && typeof entry.key[1] === "string") workspaces.add(entry.key[1]);
    if (entry.key[0] === "outbox") {
      await writer.add(entry, (op) => requeueOutboxEntry(op, entry, options.queue, now()));
      summary.queued++;
    } else {
      await writer.add(entry, (op) => setEntry(op, entry, now()));
    }
    summary.entries++;
    options.onProgress?.({ phase: "write", entries: number - 1, total: trailer.entries });
  }
  await writer.flush();
  if (header.queue === "kv-queue" && summary.queued === 0) {
    summary.requeued = await requeueFromState(kv, workspaces, options);
  } else if (header.queue === "kv-queue") {
    // Re-deriving as well would queue the same work twice.
    warnings.push(
      "The backup says its source used kv-queue, yet it holds kv-outbox messages (was it taken with another SLUICE_QUEUE than the server's?): they were queued again, and nothing was re-derived",
    );
  }
  return summary;
}

function parseHeader(line: string): BackupHeader {
  const json = safeJson(line);
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== "sluice-backup") {
    throw new BackupFormatError("line 1: not a Sluice backup (no sluice-backup header)");
  }
  const version = (json as { version?: unknown }).version;
  if (typeof version === "number" && version > BACKUP_FORMAT_VERSION) {
    throw new BackupFormatError(
      `line 1: format version ${version} is newer than this Sluice reads (${BACKUP_FORMAT_VERSION}); restore with a newer Sluice`,
    );
  }
  const parsed = backupHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupFormatError(
      `line 1: invalid header: ${issue?.path.join(".")} ${issue?.message}`,
    );
  }
  return parsed.data;
}

function safeJson(line: string): unknown {
  try {
    return parseJson(line);
  } catch {
    throw new BackupFormatError(`not JSON: ${line.slice(0, 40)}…`);
  }
}

/** Refuses a backup the target cannot open; warns about older keys it lacks. */
function checkSecrets(header: BackupHeader, accepted: readonly string[]): string[] {
  const [sealing, ...older] = header.secret_fingerprints;
  if (!accepted.includes(sealing!)) throw new SecretMismatchError(sealing!);
  return older.filter((fingerprint) => !accepted.includes(fingerprint)).map((fingerprint) =>
    `The backup was taken during a SLUICE_SECRET rotation: values still sealed under the previous secret (fingerprint ${fingerprint}) open only once it is in SLUICE_SECRET_PREVIOUS; then run \`deno task sluice secret rotate\``
  );
}

function setEntry(op: Deno.AtomicOperation, entry: BackupEntry, now: number): void {
  const expireIn = entry.expiresAt === undefined ? undefined : entry.expiresAt - now;
  op.set(entry.key, entry.value, expireIn === undefined ? undefined : { expireIn });
}

/** A kv-outbox message, queued again on the target's queue: due when it was, a leased one at once. */
function requeueOutboxEntry(
  op: Deno.AtomicOperation,
  entry: BackupEntry,
  queue: QueuePort,
  now: number,
): void {
  const outbox = entry.value as OutboxEntry;
  const dueMs = typeof entry.key[1] === "number" ? entry.key[1] : now;
  queue.enqueueIn(op, outbox.message, { delayMs: outbox.leased ? 0 : Math.max(0, dueMs - now) });
}

/** Writes entries in commits sized by KV's limits (lib/kv/limits.ts). */
class CommitWriter {
  readonly #kv: Deno.Kv;
  readonly #limits: KvLimits;
  #pending: ((op: Deno.AtomicOperation) => void)[] = [];
  #keyBytes = 0;
  #bytes = 0;

  constructor(kv: Deno.Kv, limits: KvLimits) {
    this.#kv = kv;
    this.#limits = limits;
  }

  async add(entry: BackupEntry, write: (op: Deno.AtomicOperation) => void): Promise<void> {
    const size = entrySize(entry);
    if (
      this.#pending.length + 1 > this.#limits.mutations ||
      // Key sizes are estimated from their JSON: a tenth of the room is kept spare.
      this.#keyBytes + size.keyBytes > this.#limits.keyBytes * 0.9 ||
      this.#bytes + size.bytes > this.#limits.bytes
    ) await this.flush();
    this.#pending.push(write);
    this.#keyBytes += size.keyBytes;
    this.#bytes += size.bytes;
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const op = this.#kv.atomic();
    for (const write of this.#pending) write(op);
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot write ${this.#pending.length} restored entries`);
    this.#pending = [];
    this.#keyBytes = 0;
    this.#bytes = 0;
  }
}

/**
 * `SLUICE_SECRET` rotation: every sealed value (sealed_scopes.ts) is sealed again under the
 * new master secret while the old one still opens what is not done yet.
 *
 * Resumable: the progress record (`rotationKey`) holds the scope and the list cursor after
 * the last entry re-sealed, and each batch of re-sealed values is committed together with
 * the record's next state, checked against its versionstamp. An interrupted run (a signal,
 * a crash, a lost connection) leaves the record exactly at the last committed batch; the
 * next run with the same two secrets goes on from there. The check also keeps two runs
 * from working at once: the second one's commit fails and it stops.
 *
 * @module
 */
import { Sealer, secretFingerprint } from "../crypto.ts";
import { expiryContext, expiryOf } from "../backup/expiry.ts";
import { rotationKey } from "../kv/keys.ts";
import type { KvLimits } from "../kv/limits.ts";
import { SEALED_SCOPES } from "./sealed_scopes.ts";

/** The progress of a rotation, in KV. */
export interface RotationProgress {
  /** Fingerprint of the old master secret. */
  from: string;
  /** Fingerprint of the new master secret. */
  to: string;
  /** The scope being walked (sealed_scopes.ts). */
  scope: string;
  /** KV list cursor after the last entry of `scope` done; null at the scope's start. */
  cursor: string | null;
  /** Values sealed again under the new secret. */
  resealed: number;
  /** Values the new secret had sealed already. */
  current: number;
  /** Values neither secret opens (left as they are; only with `skipUnreadable`). */
  unreadable: number;
  started_at: string;
  updated_at: string;
  finished_at?: string;
}

/** What a rotation run needs. */
export interface RotateOptions {
  oldSecret: string;
  newSecret: string;
  limits: KvLimits;
  /** Stops the run after the batch in progress (it can be resumed). */
  signal?: AbortSignal;
  /** Count values neither secret opens and go on, instead of stopping at the first. */
  skipUnreadable?: boolean;
  /** Called after each committed batch; the next batch waits for it. */
  onProgress?: (progress: RotationProgress) => void | Promise<void>;
  now?: () => number;
}

/** How a run ended. */
export interface RotateResult {
  progress: RotationProgress;
  /** False when the signal stopped it: run again to resume. */
  finished: boolean;
  /** True when this run went on from an earlier, interrupted one. */
  resumed: boolean;
}

/** Thrown when an unfinished rotation between other secrets is recorded. */
export class RotationConflictError extends Error {
  constructor(readonly progress: RotationProgress) {
    super(
      `An unfinished rotation from secret ${progress.from} to ${progress.to} is recorded; finish it with those two secrets first`,
    );
    this.name = "RotationConflictError";
  }
}

/** Thrown when another run changed the progress record: two rotations ran at once. */
export class ConcurrentRotationError extends Error {
  constructor() {
    super("Another rotation run changed the progress record; only one may run at a time");
    this.name = "ConcurrentRotationError";
  }
}

/** Thrown when neither secret opens a value (a wrong old secret, or a damaged value). */
export class UnreadableValueError extends Error {
  constructor(readonly key: Deno.KvKey, readonly scope: string) {
    super(
      `Neither secret opens the ${scope} value at ${JSON.stringify(key)}: is the old secret right?`,
    );
    this.name = "UnreadableValueError";
  }
}

/** The recorded rotation, finished or not, or null when none ever ran. */
export async function rotationStatus(kv: Deno.Kv): Promise<RotationProgress | null> {
  return (await kv.get<RotationProgress>(rotationKey(), { consistency: "strong" })).value;
}

/**
 * Re-seals every sealed value under `newSecret`; starts a new pass, or resumes the
 * recorded unfinished one between the same secrets (see the module doc).
 */
export async function rotateSecret(kv: Deno.Kv, options: RotateOptions): Promise<RotateResult> {
  const now = options.now ?? Date.now;
  const from = secretFingerprint(options.oldSecret);
  const to = secretFingerprint(options.newSecret);
  if (from === to) throw new RangeError("Cannot rotate: the old and new secrets are the same");
  let record = await kv.get<RotationProgress>(rotationKey(), { consistency: "strong" });
  const recorded = record.value;
  if (recorded && !recorded.finished_at && (recorded.from !== from || recorded.to !== to)) {
    throw new RotationConflictError(recorded);
  }
  const resumed = recorded !== null && !recorded.finished_at;
  let progress: RotationProgress = resumed ? recorded : {
    from,
    to,
    scope: SEALED_SCOPES[0]!.name,
    cursor: null,
    resealed: 0,
    current: 0,
    unreadable: 0,
    started_at: new Date(now()).toISOString(),
    updated_at: new Date(now()).toISOString(),
  };
  const ctx = await expiryContext(kv);
  // One check per value, and one for the progress record.
  const perBatch = Math.max(1, options.limits.checks - 1);
  let index = SEALED_SCOPES.findIndex((scope) => scope.name === progress.scope);
  if (index < 0) index = 0;
  for (; index < SEALED_SCOPES.length; index++) {
    const scope = SEALED_SCOPES[index]!;
    if (scope.name !== progress.scope) progress = { ...progress, scope: scope.name, cursor: null };
    const sealer = new Sealer(options.newSecret, scope.purpose, [options.oldSecret]);
    for (;;) {
      if (options.signal?.aborted) return { progress, finished: false, resumed };
      const listing = kv.list(
        { prefix: scope.prefix },
        {
          consistency: "strong",
          limit: perBatch,
          ...(progress.cursor ? { cursor: progress.cursor } : {}),
        },
      );
      const op = kv.atomic().check(record);
      const next = { ...progress };
      let bytes = 0;
      let taken = 0;
      for await (const entry of listing) {
        let value: unknown;
        try {
          value = scope.reseal(entry.value, sealer);
        } catch {
          if (!options.skipUnreadable) throw new UnreadableValueError(entry.key, scope.name);
          next.unreadable++;
          taken++;
          next.cursor = listing.cursor;
          continue;
        }
        if (value === undefined) {
          next.current++;
        } else {
          const size = approximateSize(value);
          // Left for the next batch: this one is full.
          if (taken > 0 && bytes + size > options.limits.bytes) break;
          bytes += size;
          const expiresAt = expiryOf(entry.key, entry.value, ctx);
          // An expired value is left to KV, which deletes it.
          if (expiresAt === undefined || expiresAt > now()) {
            const expireIn = expiresAt === undefined ? undefined : expiresAt - now();
            op.check(entry).set(entry.key, value, expireIn ? { expireIn } : undefined);
            next.resealed++;
          }
        }
        taken++;
        next.cursor = listing.cursor;
      }
      if (taken === 0) break;
      next.updated_at = new Date(now()).toISOString();
      op.set(rotationKey(), next);
      const result = await op.commit();
      if (!result.ok) {
        const latest = await kv.get<RotationProgress>(rotationKey(), { consistency: "strong" });
        if (latest.versionstamp !== record.versionstamp) throw new ConcurrentRotationError();
        continue; // A value changed under us (a server wrote it): redo this batch.
      }
      record = { key: rotationKey(), value: next, versionstamp: result.versionstamp };
      progress = next;
      await options.onProgress?.(progress);
    }
  }
  const finished: RotationProgress = {
    ...progress,
    cursor: null,
    updated_at: new Date(now()).toISOString(),
    finished_at: new Date(now()).toISOString(),
  };
  const result = await kv.atomic().check(record).set(rotationKey(), finished).commit();
  if (!result.ok) throw new ConcurrentRotationError();
  return { progress: finished, finished: true, resumed };
}

/** Bytes a re-sealed value adds to a commit, roughly. */
function approximateSize(value: unknown): number {
  return value instanceof Uint8Array ? value.byteLength + 200 : JSON.stringify(value).length + 200;
}

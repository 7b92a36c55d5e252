/**
 * What one atomic KV commit may hold, in one place: every batcher (group commit, fan-out,
 * delivery rows, webhook notices, rate-limit sync) sizes its commits from these.
 *
 * @module
 */

/** Limits of one atomic commit on the KV backend in use. */
export interface KvLimits {
  /** `check`s per commit: 100 on SQLite and Deno Deploy, 10 on self-hosted denokv and KV Connect. */
  readonly checks: number;
  /** Mutations and enqueues per commit. */
  readonly mutations: number;
  /** Bytes of keys per commit. */
  readonly keyBytes: number;
  /** Bytes of keys and values per commit (KV allows 800 KiB; a margin is kept). */
  readonly bytes: number;
}

/** The limits of a local SQLite KV and of Deno Deploy's managed KV. */
export const DEFAULT_KV_LIMITS: KvLimits = Object.freeze({
  checks: 100,
  mutations: 1000,
  keyBytes: 80 * 1024,
  bytes: 700 * 1024,
});

/** The limits for a backend that allows `checks` checks per commit (SLUICE_KV_MAX_CHECKS). */
export function kvLimits(checks: number): KvLimits {
  return Object.freeze({ ...DEFAULT_KV_LIMITS, checks });
}

/** Typical key size, bytes: a workspace id, a ULID and a destination or webhook id. */
const TYPICAL_KEY_BYTES = 100;

/** Keys of typical size one commit may write, with a tenth of the room kept spare. */
export function keysPerCommit(limits: KvLimits): number {
  return Math.floor(Math.min(limits.mutations, limits.keyBytes / TYPICAL_KEY_BYTES) * 0.9);
}

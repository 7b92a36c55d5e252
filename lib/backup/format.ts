/**
 * The backup file: NDJSON, one header line, one line per KV entry, one trailer line.
 *
 * ```
 * {"format":"sluice-backup","version":1,"created_at":"…","workspace":null,"queue":"kv-outbox",
 *  "start_versionstamp":"…","secret_fingerprints":["…"]}
 * {"k":["ws","ws_01…"],"v":{"id":"ws_01…",…}}
 * {"k":["ev","ws_01…","01J…"],"bytes":"base64…","x":1767225600000}
 * {"k":["stat","ws_01…",1767222000000,"events",""],"u64":"42"}
 * {"end":true,"entries":3,"changed_during_export":0,"end_versionstamp":"…","sha256":"…"}
 * ```
 *
 * A value is `v` (plain JSON), `u64` (a Deno.KvU64, decimal), `bytes` (a Uint8Array, base64)
 * or `v8` (anything else KV holds, V8-serialised, base64). A key part is a JSON string,
 * number or boolean, or `{"bigint": "…"}`, `{"bytes": "…"}`, `{"number": "NaN"}`. `x` is the
 * expiry, epoch ms. `sha256` covers every line before the trailer (each with its newline), so
 * a truncated or altered file is refused before anything is restored.
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";
import { z } from "zod";
import { base64ToBytes, bytesToBase64 } from "../../core/digest.ts";

/** The format version this code writes and reads. */
export const BACKUP_FORMAT_VERSION = 1;

/** The header line. */
export const backupHeaderSchema = z.object({
  format: z.literal("sluice-backup"),
  version: z.number().int(),
  created_at: z.string(),
  /** The workspace exported, or null for the whole instance. */
  workspace: z.string().nullable(),
  /** The source's queue adapter: with kv-queue, queued messages are re-derived on restore. */
  queue: z.enum(["kv-queue", "kv-outbox"]),
  /** Versionstamp of the start mark: entries newer than it changed during the export. */
  start_versionstamp: z.string(),
  /** Fingerprints of the source's master secrets, the sealing one first. */
  secret_fingerprints: z.array(z.string()).min(1),
});

/** The header line. */
export type BackupHeader = z.output<typeof backupHeaderSchema>;

/** The trailer line: proves the file complete. */
export const backupTrailerSchema = z.object({
  end: z.literal(true),
  entries: z.number().int().min(0),
  /** Entries written after the start mark, while the export ran (see docs/deploy/backup.md). */
  changed_during_export: z.number().int().min(0),
  end_versionstamp: z.string(),
  /** Hex SHA-256 of every line before this one, newlines included. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The trailer line. */
export type BackupTrailer = z.output<typeof backupTrailerSchema>;

const keyPartSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.object({ bigint: z.string().regex(/^-?\d+$/) }).strict(),
  z.object({ bytes: z.string() }).strict(),
  z.object({ number: z.enum(["NaN", "Infinity", "-Infinity", "-0"]) }).strict(),
]);

const entryLineSchema = z.object({
  k: z.array(keyPartSchema).min(1),
  v: z.unknown().optional(),
  u64: z.string().regex(/^\d+$/).optional(),
  bytes: z.string().optional(),
  v8: z.string().optional(),
  x: z.number().int().optional(),
}).strict().refine(
  (line) => ["v", "u64", "bytes", "v8"].filter((field) => field in line).length === 1,
  "an entry line holds exactly one of v, u64, bytes, v8",
);

/** One KV entry as a backup holds it. */
export interface BackupEntry {
  key: Deno.KvKey;
  value: unknown;
  /** Epoch ms after which the entry is gone; absent when it does not expire. */
  expiresAt?: number;
}

/** The NDJSON line of one entry (no newline). */
export function encodeEntry(entry: BackupEntry): string {
  const line: Record<string, unknown> = { k: entry.key.map(encodeKeyPart) };
  const value = entry.value;
  if (value instanceof Deno.KvU64) line.u64 = value.value.toString();
  else if (value instanceof Uint8Array) line.bytes = bytesToBase64(value);
  else if (isPlainJson(value)) line.v = value;
  else line.v8 = bytesToBase64(serialize(value));
  if (entry.expiresAt !== undefined) line.x = entry.expiresAt;
  return JSON.stringify(line);
}

/** The entry of one NDJSON line; throws a TypeError naming what is wrong. */
export function decodeEntry(text: string): BackupEntry {
  const parsed = entryLineSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    throw new TypeError(`not an entry line: ${parsed.error.issues[0]?.message}`);
  }
  const line = parsed.data;
  const key = line.k.map(decodeKeyPart);
  const value = line.u64 !== undefined
    ? new Deno.KvU64(BigInt(line.u64))
    : line.bytes !== undefined
    ? base64ToBytes(line.bytes)
    : line.v8 !== undefined
    ? deserialize(base64ToBytes(line.v8))
    : line.v;
  return { key, value, ...(line.x === undefined ? {} : { expiresAt: line.x }) };
}

/** Parses JSON; throws a TypeError instead of a SyntaxError with the whole line in it. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TypeError("not JSON");
  }
}

/** Bytes an entry adds to a commit, roughly: its encoded key and value. */
export function entrySize(entry: BackupEntry): { keyBytes: number; bytes: number } {
  const keyBytes = JSON.stringify(entry.key.map(encodeKeyPart)).length;
  const value = entry.value;
  const valueBytes = value instanceof Uint8Array
    ? value.byteLength
    : value instanceof Deno.KvU64
    ? 8
    : serialize(value).byteLength;
  return { keyBytes, bytes: keyBytes + valueBytes };
}

type EncodedKeyPart = z.output<typeof keyPartSchema>;

function encodeKeyPart(part: Deno.KvKeyPart): EncodedKeyPart {
  if (typeof part === "bigint") return { bigint: part.toString() };
  if (part instanceof Uint8Array) return { bytes: bytesToBase64(part) };
  if (typeof part === "number" && (!Number.isFinite(part) || Object.is(part, -0))) {
    return { number: Object.is(part, -0) ? "-0" : String(part) as "NaN" };
  }
  if (typeof part === "symbol") throw new TypeError("Cannot back up a key with a symbol part");
  return part;
}

function decodeKeyPart(part: EncodedKeyPart): Deno.KvKeyPart {
  if (typeof part !== "object") return part;
  if ("bigint" in part) return BigInt(part.bigint);
  if ("bytes" in part) return base64ToBytes(part.bytes);
  return part.number === "-0" ? -0 : Number(part.number);
}

/** Whether JSON keeps a value exactly: plain objects, arrays, strings, finite numbers, booleans, null. */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) {
    return Object.getPrototypeOf(value) === Array.prototype && value.length ===
        Object.keys(value).length &&
      value.every(isPlainJson);
  }
  if (typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // A property set to undefined is dropped by JSON, and reads back the same.
  return Object.values(value).every((v) => v === undefined || isPlainJson(v));
}

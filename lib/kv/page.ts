import { sha256Hex } from "../../core/digest.ts";

/** A pagination cursor that no list of this prefix issued. */
export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`Invalid cursor "${cursor.slice(0, 40)}": pass a next_cursor this list returned`);
    this.name = "InvalidCursorError";
  }
}

/** Most entries one page scans while looking for matches. */
const MAX_SCAN = 5_000;
/** Hex digits of the tag that binds a cursor to its list. */
const TAG_LENGTH = 16;

/**
 * Newest-first page of the values under a KV prefix: `select` maps each value to an item, or
 * to undefined to leave it out. A page ends at `limit` items or after scanning 5,000
 * entries; `next_cursor` continues it. A cursor this prefix's list did not issue throws
 * InvalidCursorError.
 */
export async function listPage<T, R>(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  options: {
    limit: number;
    cursor?: string;
    select: (value: T) => R | undefined | Promise<R | undefined>;
  },
): Promise<{ data: R[]; next_cursor: string | null }> {
  const data: R[] = [];
  const iter = kv.list<T>({ prefix }, {
    reverse: true,
    cursor: options.cursor === undefined ? undefined : kvCursorOf(prefix, options.cursor),
    batchSize: Math.min(500, options.limit * 2),
  });
  let scanned = 0;
  try {
    for await (const entry of iter) {
      scanned++;
      const item = await options.select(entry.value);
      if (item !== undefined) data.push(item);
      if (data.length >= options.limit || scanned >= MAX_SCAN) {
        return { data, next_cursor: iter.cursor ? issueCursor(prefix, iter.cursor) : null };
      }
    }
  } catch (error) {
    if (options.cursor && scanned === 0) throw new InvalidCursorError(options.cursor);
    throw error;
  }
  return { data, next_cursor: null };
}

/**
 * KV's cursor with a tag that binds it to the listed prefix: KV reads a cursor of another
 * list (another workspace, webhook or endpoint) or a made-up one as a position, and answers
 * an empty or wrong page instead of an error. The tag is a check, not a secret: a cursor
 * only positions a read inside a prefix the caller may read anyway.
 */
function issueCursor(prefix: Deno.KvKey, kvCursor: string): string {
  return `${kvCursor}.${cursorTag(prefix, kvCursor)}`;
}

/** The KV cursor inside a cursor {@linkcode issueCursor} made for this prefix. */
function kvCursorOf(prefix: Deno.KvKey, cursor: string): string {
  const dot = cursor.lastIndexOf(".");
  const kvCursor = cursor.slice(0, dot);
  if (dot <= 0 || cursor.slice(dot + 1) !== cursorTag(prefix, kvCursor)) {
    throw new InvalidCursorError(cursor);
  }
  return kvCursor;
}

function cursorTag(prefix: Deno.KvKey, kvCursor: string): string {
  return sha256Hex(`${prefix.map(String).join("\u0000")}\u0001${kvCursor}`).slice(0, TAG_LENGTH);
}

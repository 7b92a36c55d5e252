/** A pagination cursor that no list of this prefix issued. */
export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`Invalid cursor "${cursor.slice(0, 40)}"`);
    this.name = "InvalidCursorError";
  }
}

/** Most entries one page scans while looking for matches. */
const MAX_SCAN = 5_000;

/**
 * Newest-first page of the values under a KV prefix: `select` maps each value to an item, or
 * to undefined to leave it out. A page ends at `limit` items or after scanning 5,000
 * entries; `next_cursor` continues it. A cursor KV cannot read throws InvalidCursorError.
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
    cursor: options.cursor,
    batchSize: Math.min(500, options.limit * 2),
  });
  let scanned = 0;
  try {
    for await (const entry of iter) {
      scanned++;
      const item = await options.select(entry.value);
      if (item !== undefined) data.push(item);
      if (data.length >= options.limit || scanned >= MAX_SCAN) {
        return { data, next_cursor: iter.cursor || null };
      }
    }
  } catch (error) {
    if (options.cursor && scanned === 0) throw new InvalidCursorError(options.cursor);
    throw error;
  }
  return { data, next_cursor: null };
}

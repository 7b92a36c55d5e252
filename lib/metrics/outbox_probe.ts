import { outboxDeadPrefix, outboxPrefix } from "../kv/keys.ts";
import type { OutboxEntry } from "../queue/kv_outbox.ts";
import type { Metrics, ScrapeProbe } from "./metrics.ts";

/** Entries one scrape reads at most from each index; past it, the depth says "at least". */
export const OUTBOX_SCAN_LIMIT = 10_000;

/**
 * Reads the kv-outbox's due-time index at scrape time: how many messages are due, scheduled
 * for later (delays, retries) or leased by a worker, and how long the oldest due one has
 * waited. The index is ordered by due time, so the oldest due message is the first entry.
 */
export function outboxProbe(kv: Deno.Kv, metrics: Metrics): ScrapeProbe {
  return {
    async collect() {
      const now = Date.now();
      const depth = { due: 0, scheduled: 0, leased: 0 };
      let oldestDueMs: number | undefined;
      const listing = kv.list<OutboxEntry>({ prefix: outboxPrefix() }, {
        limit: OUTBOX_SCAN_LIMIT,
        batchSize: 500,
      });
      for await (const entry of listing) {
        const dueMs = entry.key[1];
        if (typeof dueMs !== "number") continue;
        if (entry.value.leased) depth.leased++;
        else if (dueMs <= now) {
          depth.due++;
          oldestDueMs ??= dueMs;
        } else depth.scheduled++;
      }
      let dead = 0;
      const deadListing = kv.list({ prefix: outboxDeadPrefix() }, {
        limit: OUTBOX_SCAN_LIMIT,
        batchSize: 500,
      });
      for await (const _ of deadListing) dead++;
      for (const [state, count] of Object.entries(depth)) metrics.queueDepth.set({ state }, count);
      metrics.queueOldestAge.set(oldestDueMs === undefined ? 0 : (now - oldestDueMs) / 1000);
      metrics.queueDead.set(dead);
    },
  };
}

import { countRowChange, type RowContext } from "../analytics/transitions.ts";
import { AnalyticsWrites } from "../analytics/writes.ts";
import { deliveryKey } from "../kv/keys.ts";
import { keysPerCommit, type KvLimits } from "../kv/limits.ts";
import type { QueueMessage, QueuePort } from "../queue/mod.ts";
import { type Notice, noticeMutations, type WebhookNotices } from "../webhooks/notices.ts";
import type { Webhook } from "../webhooks/store.ts";
import { DELIVERY_ROW_TTL_MS, type DeliveryRow } from "./rows.ts";

/** One row to write: an event's delivery to one destination. */
export interface RowWrite {
  ulid: string;
  destinationId: string;
  row: DeliveryRow;
  /** What the row was, for the analytics counters its change moves (absent: none counted). */
  context?: RowContext;
}

/** A webhook notice to commit with the rows it reports. */
export interface PlannedNotice {
  hooks: readonly Webhook[];
  notice: Notice;
}

/** A queue message to commit with the rows (a retry, a follow-up check). */
export interface QueuedWithRows {
  message: QueueMessage;
  delayMs: number;
}

/** What a {@link RowWriter} needs. */
export interface RowWriterDeps {
  kv: Deno.Kv;
  queue: QueuePort;
  limits: KvLimits;
  notices?: WebhookNotices;
}

/**
 * Writes delivery rows in commits KV accepts, with the queue messages they call for in the
 * first commit (so a retry is queued only if its rows are written), the analytics counters
 * each row's change moves in the same commit as the row, and the webhook notices that
 * report them riding along while they fit.
 */
export class RowWriter {
  readonly #d: RowWriterDeps;

  constructor(deps: RowWriterDeps) {
    this.#d = deps;
  }

  /** Writes `writes`, queues `queued` with the first slice and adds `notices`; throws when KV refuses. */
  async write(
    wsId: string,
    writes: readonly RowWrite[],
    queued: readonly QueuedWithRows[] = [],
    notices: readonly PlannedNotice[] = [],
  ): Promise<void> {
    const room = keysPerCommit(this.#d.limits);
    // Rows and their counters take three quarters of a commit; the rest is for the notices.
    const rowRoom = Math.max(1, Math.floor(room * 0.75) - queued.length);
    // Rows carry their attempt history: a slice also stays within half a commit's bytes.
    const bytesPerCommit = this.#d.limits.bytes / 2;
    const pending = [...notices];
    let next = 0;
    for (let first = true; first || next < writes.length || pending.length; first = false) {
      const op = this.#d.kv.atomic();
      const counts = new AnalyticsWrites();
      let rows = 0;
      let bytes = 0;
      while (next < writes.length && rows + counts.mutations < rowRoom) {
        const size = JSON.stringify(writes[next]!.row).length + 200;
        if (rows > 0 && bytes + size > bytesPerCommit) break;
        bytes += size;
        // One row's counters (at most ~180 keys, shared ones far fewer) may overrun rowRoom
        // into the quarter kept for notices; the notices then wait for the next commit.
        const { ulid, destinationId, row, context } = writes[next]!;
        if (context) countRowChange(counts, wsId, { ulid, destinationId, after: row, ...context });
        op.set(deliveryKey(wsId, ulid, destinationId), row, { expireIn: DELIVERY_ROW_TTL_MS });
        rows++;
        next++;
      }
      counts.addTo(op);
      let mutations = rows + counts.mutations;
      if (first) {
        for (const { message, delayMs } of queued) {
          this.#d.queue.enqueueIn(op, message, { delayMs });
        }
        mutations += queued.length;
      }
      const base = mutations;
      while (pending.length) {
        const cost = noticeMutations(pending[0]!.hooks.length);
        if (mutations + cost > room && mutations > base) break;
        const notice = pending.shift()!;
        this.#d.notices?.addTo(op, wsId, notice.hooks, notice.notice);
        mutations += cost;
      }
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot record ${writes.length} delivery rows`);
      counts.committed();
    }
  }
}

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
 * first commit (so a retry is queued only if its rows are written) and the webhook notices
 * that report them riding along while they fit.
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
    // Rows take three quarters of a commit; the rest is for the notices that report them.
    const rowsPerCommit = Math.max(1, Math.floor(room * 0.75) - queued.length);
    // Rows carry their attempt history: a slice also stays within half a commit's bytes.
    const bytesPerCommit = this.#d.limits.bytes / 2;
    const pending = [...notices];
    for (let i = 0, end = 0; i < Math.max(1, writes.length) || pending.length; i = end) {
      const op = this.#d.kv.atomic();
      let bytes = 0;
      end = i;
      while (end < writes.length && end - i < rowsPerCommit) {
        const size = JSON.stringify(writes[end]!.row).length + 200;
        if (end > i && bytes + size > bytesPerCommit) break;
        bytes += size;
        end++;
      }
      if (end === i) end = i + 1;
      const slice = writes.slice(i, end);
      for (const { ulid, destinationId, row } of slice) {
        op.set(deliveryKey(wsId, ulid, destinationId), row, { expireIn: DELIVERY_ROW_TTL_MS });
      }
      let mutations = slice.length;
      if (i === 0) {
        for (const { message, delayMs } of queued) {
          this.#d.queue.enqueueIn(op, message, { delayMs });
        }
        mutations += queued.length;
      }
      const base = mutations;
      while (pending.length) {
        const cost = noticeMutations(pending[0]!.hooks.length);
        if (mutations + cost > room && mutations > base) break;
        const next = pending.shift()!;
        this.#d.notices?.addTo(op, wsId, next.hooks, next.notice);
        mutations += cost;
      }
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot record ${writes.length} delivery rows`);
    }
  }
}

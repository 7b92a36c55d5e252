import type { DeliverMessage } from "../queue/mod.ts";

/**
 * How long attempts wait to be sent together, and the most events sent together: 50 ms
 * halves the requests of 20 ms at ~5k events/s (fan-outs of 100 events), for ~15 ms more latency.
 */
const COALESCE_MS = 50;
const COALESCE_MAX_EVENTS = 1_000;

/** Sends one combined attempt; resolves with the ids left unsent because the deadline passed. */
export type SendBatch = (message: DeliverMessage, deadline?: number) => Promise<string[]>;

interface Waiter {
  ids: readonly string[];
  resolve: (unsent: string[]) => void;
  reject: (error: unknown) => void;
}

interface PendingBatch {
  message: DeliverMessage;
  waiters: Waiter[];
  /** No request starts after this (epoch ms): first attempts made by fan-out. */
  deadline?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Combines deliver messages for the same destination and attempt that arrive within
 * COALESCE_MS (commit groups hold ≤ 100 events; platforms take up to their batch limit):
 * each message resolves, or rejects, with the combined send.
 */
export class Coalescer {
  readonly #send: SendBatch;
  readonly #batches = new Map<string, PendingBatch>();

  constructor(send: SendBatch) {
    this.#send = send;
  }

  /** Adds a message to the batch it is sent with; `deadline` marks fan-out's first attempts. */
  join(message: DeliverMessage, deadline?: number): Promise<string[]> {
    const key = [
      message.workspace_id,
      message.destination_id,
      message.attempt,
      !!message.replay,
      deadline === undefined ? "queued" : "inline",
    ].join("|");
    let batch = this.#batches.get(key);
    if (!batch) {
      const fresh: PendingBatch = { message: { ...message, ids: [] }, waiters: [], deadline };
      fresh.timer = setTimeout(() => this.#flush(key, fresh), COALESCE_MS);
      this.#batches.set(key, fresh);
      batch = fresh;
    }
    batch.message.ids.push(...message.ids);
    if (message.names) batch.message.names = { ...batch.message.names, ...message.names };
    if (deadline !== undefined) batch.deadline = Math.min(batch.deadline ?? deadline, deadline);
    const done = new Promise<string[]>((resolve, reject) =>
      batch.waiters.push({ ids: message.ids, resolve, reject })
    );
    if (batch.message.ids.length >= COALESCE_MAX_EVENTS) this.#flush(key, batch);
    return done;
  }

  #flush(key: string, batch: PendingBatch): void {
    if (this.#batches.get(key) !== batch) return;
    this.#batches.delete(key);
    clearTimeout(batch.timer);
    batch.message.ids = [...new Set(batch.message.ids)];
    this.#send(batch.message, batch.deadline).then(
      (unsent) => {
        const left = new Set(unsent);
        batch.waiters.forEach((w) => w.resolve(w.ids.filter((id) => left.has(id))));
      },
      (error) => batch.waiters.forEach((w) => w.reject(error)),
    );
  }
}

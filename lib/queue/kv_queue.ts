import type { EnqueueOptions, MessageHandler, QueueMessage, QueuePort } from "./types.ts";

/** Retries of a message whose handler threw; later steps come from the handler itself. */
const BACKOFF_MS = [1_000, 5_000, 30_000, 120_000, 600_000];

/** The embedded default: Deno KV's own queue (`enqueue` / `listenQueue`), one process per KV file. */
export class KvQueue implements QueuePort {
  readonly kind = "kv-queue";
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  enqueueIn(op: Deno.AtomicOperation, message: QueueMessage, options: EnqueueOptions = {}): void {
    op.enqueue(message, { delay: options.delayMs, backoffSchedule: BACKOFF_MS });
  }

  async enqueue(message: QueueMessage, options: EnqueueOptions = {}): Promise<void> {
    await this.#kv.enqueue(message, { delay: options.delayMs, backoffSchedule: BACKOFF_MS });
  }

  listen(handler: MessageHandler): Promise<void> {
    return this.#kv.listenQueue((message) => handler(message as QueueMessage));
  }

  /** Resolves at once: Deno's queue listener stops only when the KV handle closes. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

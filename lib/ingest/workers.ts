import { errorText, log } from "../log.ts";
import type { Sealer } from "../crypto.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { inputPath, parseEvent, type RequestContext } from "./event_input.ts";
import { type SealedEvent, sealEvent } from "../event_store.ts";
import type { FieldError } from "../../core/field_error.ts";

/** One input parsed, enriched and sealed, or what is wrong with it. */
export type PreparedEvent =
  | { ok: true; event: SluiceEvent; sealed: SealedEvent }
  | { ok: false; event_id?: string; errors: FieldError[] };

/**
 * Parses, enriches and seals native-shaped inputs. `pathPrefix` names where each input sat
 * in the body (`events` → `events.0.event_name`).
 */
export function prepareEvents(
  inputs: readonly unknown[],
  ctx: RequestContext,
  sealer: Sealer,
  pathPrefix?: string,
): PreparedEvent[] {
  return inputs.map((input, i) => {
    const parsed = parseEvent(input, ctx, inputPath(pathPrefix, i));
    if (!parsed.ok) return parsed;
    return { ok: true, event: parsed.event, sealed: sealEvent(parsed.json, sealer) };
  });
}

/** What the main thread asks a worker (`_ingest_worker.ts`). */
export type WorkerRequest =
  | { kind: "init"; masterSecret: string }
  | {
    kind: "prepare";
    id: number;
    inputs: readonly unknown[];
    ctx: RequestContext;
    pathPrefix?: string;
  };

/** A worker's answer: it is ready (after init), or the outcome of one prepare request. */
export type WorkerAnswer =
  | { ready: true }
  | { id: number; prepared: PreparedEvent[] }
  | { id: number; error: string };

interface Pending {
  resolve: (prepared: PreparedEvent[]) => void;
  reject: (error: Error) => void;
}

/**
 * Worker threads (Web Workers) that prepare batches, round robin: parsing and sealing take
 * most of ingest's time on the main thread, which also runs the commits and delivery. The
 * workers start with the first batch offered; until they have loaded, batches are prepared
 * in place.
 */
export class IngestWorkers {
  readonly #masterSecret: string;
  readonly #size: number;
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #ready = 0;
  #started = false;
  #nextId = 0;
  #next = 0;

  /** Workers that seal with keys derived from `masterSecret`; `size` of them at most. */
  constructor(masterSecret: string, size: number) {
    this.#masterSecret = masterSecret;
    this.#size = Math.max(1, size);
  }

  /**
   * Prepares inputs on a worker (see {@link prepareEvents}); undefined while no worker is
   * ready, so the caller prepares them itself.
   */
  prepare(
    inputs: readonly unknown[],
    ctx: RequestContext,
    pathPrefix?: string,
  ): Promise<PreparedEvent[]> | undefined {
    if (!this.#started) this.#start();
    if (this.#ready < this.#workers.length || this.#workers.length === 0) return undefined;
    const worker = this.#workers[this.#next++ % this.#workers.length]!;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ kind: "prepare", id, inputs, ctx, pathPrefix } satisfies WorkerRequest);
    });
  }

  /** Stops the workers for good (later batches are prepared in place); pending batches fail. */
  close(reason = new Error("Cannot prepare events: workers are closed")): void {
    this.#started = true;
    for (const worker of this.#workers.splice(0)) worker.terminate();
    this.#ready = 0;
    this.#failAll(reason);
  }

  #start(): void {
    this.#started = true;
    try {
      for (let i = 0; i < this.#size; i++) {
        const worker = new Worker(new URL("./_worker.ts", import.meta.url), {
          type: "module",
        });
        worker.onmessage = (message: MessageEvent<WorkerAnswer>) => {
          if ("ready" in message.data) this.#ready++;
          else this.#settle(message.data);
        };
        worker.onerror = (event) => {
          event.preventDefault();
          // A dead worker would leave its batches unanswered: stop them all, prepare in place.
          this.close(new Error(`Ingest worker failed: ${event.message}`));
        };
        worker.postMessage(
          { kind: "init", masterSecret: this.#masterSecret } satisfies WorkerRequest,
        );
        this.#workers.push(worker);
      }
    } catch (error) {
      // A runtime without Web Workers: every batch is prepared in place.
      log.warn("Ingest workers unavailable; batches are prepared in place", {
        error: errorText(error),
      });
      this.close();
    }
  }

  #settle(answer: Exclude<WorkerAnswer, { ready: true }>): void {
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    if ("error" in answer) pending.reject(new Error(`Cannot prepare events: ${answer.error}`));
    else pending.resolve(answer.prepared);
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

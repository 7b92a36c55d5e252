import type { Sealer } from "../crypto.ts";
import type { EventLoader } from "../delivery/event_loader.ts";
import type { CommitItem, GroupCommitter } from "./group_commit.ts";
import type { FieldError } from "../../core/field_error.ts";
import type { RequestContext } from "./event_input.ts";
import { type IngestWorkers, prepareEvents } from "./workers.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { Workspace } from "../workspaces.ts";

/** What became of one event in a request. */
export interface IngestResult {
  event_id?: string;
  status: "accepted" | "duplicate" | "rejected";
  errors?: FieldError[];
}

/** A workspace is over its events-per-minute limit; nothing of the request was stored. */
export class RateLimitedError extends Error {
  /** Seconds until the limit lets the request through. */
  readonly retryAfterSeconds: number;

  constructor(limitPerMinute: number, retryAfterSeconds: number) {
    super(`Workspace rate limit of ${limitPerMinute} events per minute reached`);
    this.name = "RateLimitedError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What an {@link Ingestor} works with. */
export interface IngestorDeps {
  committer: GroupCommitter;
  sealer: Sealer;
  limiter: RateLimiter;
  /** Handed each accepted event, for the delivery that follows. */
  stored?: EventLoader;
  /** Prepare batches of at least `WORKER_BATCH_MIN` events off the main thread. */
  workers?: IngestWorkers;
}

/** Smaller batches are prepared in place: a worker's round trip would cost more than it saves. */
const WORKER_BATCH_MIN = 32;

/**
 * The ingest pipeline after authentication: admit (rate limit), parse and enrich each
 * event, seal its user data, and group-commit the valid ones. Answers per event.
 */
export class Ingestor {
  readonly #d: IngestorDeps;

  constructor(deps: IngestorDeps) {
    this.#d = deps;
  }

  /**
   * Ingests native-shaped inputs. `pathPrefix` names where each input sat in the body
   * (`events` → `events.0.event_name`). Throws RateLimitedError when over the workspace limit.
   */
  async ingest(
    workspace: Workspace,
    inputs: readonly unknown[],
    ctx: RequestContext,
    pathPrefix?: string,
  ): Promise<IngestResult[]> {
    const decision = this.#d.limiter.take(
      `ws:${workspace.id}`,
      inputs.length,
      workspace.settings.rate_limit_per_minute,
    );
    if (!decision.ok) {
      throw new RateLimitedError(
        workspace.settings.rate_limit_per_minute,
        decision.retryAfterSeconds,
      );
    }
    const { workers, committer, stored } = this.#d;
    const offloaded = inputs.length >= WORKER_BATCH_MIN
      ? workers?.prepare(inputs, ctx, pathPrefix)
      : undefined;
    // A worker that fails (it crashed, or workers closed) leaves the batch to this thread.
    const prepared = (offloaded && await offloaded.catch(() => undefined)) ??
      prepareEvents(inputs, ctx, this.#d.sealer, pathPrefix);
    const results: IngestResult[] = new Array(inputs.length);
    const items: CommitItem[] = [];
    const positions: number[] = [];
    const dedupWindowMs = workspace.settings.dedup_window_seconds * 1000;
    const retentionMs = workspace.settings.retention_days * 86_400_000;
    prepared.forEach((one, i) => {
      if (!one.ok) {
        results[i] = { event_id: one.event_id, status: "rejected", errors: one.errors };
        return;
      }
      items.push({ event: one.event, sealed: one.sealed, dedupWindowMs, retentionMs });
      positions.push(i);
    });
    const rejected = inputs.length - items.length;
    if (rejected > 0) committer.count(workspace.id, "rejected", "", rejected);
    if (items.length === 0) return results;
    const outcomes = await committer.submit(items);
    outcomes.forEach((outcome, j) => {
      const { event } = items[j]!;
      results[positions[j]!] = { event_id: event.event_id, status: outcome };
      if (outcome === "accepted") stored?.keep(event);
    });
    return results;
  }
}

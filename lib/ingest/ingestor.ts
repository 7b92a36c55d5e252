import { errorText, log } from "../log.ts";
import type { Sealer } from "../crypto.ts";
import type { EventLoader } from "../delivery/event_loader.ts";
import type { CommitItem, GroupCommitter } from "./group_commit.ts";
import type { FieldError } from "../../core/field_error.ts";
import { inputPath, isBrowserDialect, RejectedInput, type RequestContext } from "./event_input.ts";
import type { IdentityGraph } from "../identity/graph.ts";
import { type IngestWorkers, type PreparedEvent, prepareEvents } from "./workers.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { Workspace } from "../workspaces.ts";
import { FAMILY } from "../analytics/counters.ts";
import { EXAMPLE_TTL_MS } from "../analytics/examples.ts";
import { rejectionExample } from "../analytics/ingest_counts.ts";

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

/**
 * A batch holds more events than the workspace accepts in a minute: no wait would let it
 * through, so it is refused as too large rather than rate limited. Nothing was stored.
 */
export class BatchOverLimitError extends Error {
  /** Where the batch sat in the body (`events`, `batch`). */
  readonly field: string;
  /** Events in the batch. */
  readonly size: number;
  readonly limitPerMinute: number;

  constructor(field: string, size: number, limitPerMinute: number) {
    super(
      `The batch holds ${size} events, more than the workspace's rate limit of ${limitPerMinute} events per minute (settings.rate_limit_per_minute); send smaller batches`,
    );
    this.name = "BatchOverLimitError";
    this.field = field;
    this.size = size;
    this.limitPerMinute = limitPerMinute;
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
  /** Browser events feed it (in their commit); server events are enriched from it. */
  identity?: IdentityGraph;
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
   * Ingests native-shaped inputs (or {@link RejectedInput}s, answered rejected).
   * `pathPrefix` names where each input sat in the body (`events` → `events.0.event_name`).
   * Throws RateLimitedError when over the workspace limit, BatchOverLimitError when the
   * batch could never fit in it.
   */
  async ingest(
    workspace: Workspace,
    inputs: readonly unknown[],
    ctx: RequestContext,
    pathPrefix?: string,
  ): Promise<IngestResult[]> {
    this.#admit(workspace, inputs.length, pathPrefix);
    const prepared = await this.#prepare(
      inputs,
      await this.#withIdentities(ctx, inputs),
      pathPrefix,
    );
    const results: IngestResult[] = new Array(inputs.length);
    const items: CommitItem[] = [];
    const positions: number[] = [];
    const dedupWindowMs = workspace.settings.dedup_window_seconds * 1000;
    const retentionMs = workspace.settings.retention_days * 86_400_000;
    const { committer, stored } = this.#d;
    prepared.forEach((one, i) => {
      const input = inputs[i];
      if (input instanceof RejectedInput) {
        results[i] = rejectedResult(input, inputPath(pathPrefix, i));
        return;
      }
      if (!one.ok) {
        results[i] = { event_id: one.event_id, status: "rejected", errors: one.errors };
        return;
      }
      items.push({ event: one.event, sealed: one.sealed, dedupWindowMs, retentionMs });
      positions.push(i);
    });
    const rejected = inputs.length - items.length;
    if (rejected > 0) {
      committer.count(workspace.id, "rejected", "", rejected);
      this.#countRejectedFields(workspace.id, results);
    }
    if (items.length === 0) return results;
    if (isBrowserDialect(ctx.dialect)) await this.#addIdentityWrites(workspace.id, items);
    const outcomes = await committer.submit(items);
    outcomes.forEach((outcome, j) => {
      const { event } = items[j]!;
      results[positions[j]!] = { event_id: event.event_id, status: outcome };
      if (outcome === "accepted") stored?.keep(event);
    });
    return results;
  }

  /** Counts each rejected event under its first bad field, and keeps that field's latest example. */
  #countRejectedFields(wsId: string, results: readonly (IngestResult | undefined)[]): void {
    const now = Date.now();
    for (const result of results) {
      const error = result?.status === "rejected" ? result.errors?.[0] : undefined;
      if (!error) continue;
      const { key, field, example } = rejectionExample(wsId, result?.event_id, error, now);
      this.#d.committer.count(wsId, FAMILY.rejectedFields, field);
      this.#d.committer.note(key, example, EXAMPLE_TTL_MS);
    }
  }

  /** Takes `count` events from the workspace's per-minute budget, or throws. */
  #admit(workspace: Workspace, count: number, pathPrefix: string | undefined): void {
    const limit = workspace.settings.rate_limit_per_minute;
    if (count > limit) throw new BatchOverLimitError(pathPrefix ?? "events", count, limit);
    const decision = this.#d.limiter.take(`ws:${workspace.id}`, count, limit);
    if (!decision.ok) throw new RateLimitedError(limit, decision.retryAfterSeconds);
  }

  /** A server request's context with the identity hints its events' people have, if any. */
  async #withIdentities(ctx: RequestContext, inputs: readonly unknown[]): Promise<RequestContext> {
    const { identity } = this.#d;
    if (!identity || isBrowserDialect(ctx.dialect)) return ctx;
    try {
      const identities = await identity.hintsFor(ctx.workspaceId, inputs);
      return identities ? { ...ctx, identities } : ctx;
    } catch (error) {
      // Enrichment is a bonus; the events are stored without it.
      log.warn("Identity lookup failed; storing events unenriched", {
        trace_id: ctx.traceId,
        error: errorText(error),
      });
      return ctx;
    }
  }

  /** Browser events' identity graph writes, to ride in their commit. */
  async #addIdentityWrites(wsId: string, items: CommitItem[]): Promise<void> {
    const { identity } = this.#d;
    if (!identity) return;
    const anonIds = items.flatMap(({ event }) => event.user_data.anonymous_id ?? []);
    const links = await identity.linksOf(wsId, anonIds).catch((error) => {
      // The snapshots are still written; only the link to a known person is missed.
      log.warn("Identity link lookup failed", { workspace_id: wsId, error: errorText(error) });
      return undefined;
    });
    for (const item of items) {
      const { event, retentionMs } = item;
      const anonId = event.user_data.anonymous_id;
      const linked = anonId ? links?.get(anonId) : undefined;
      const writes = identity.writesFor(event, linked, retentionMs);
      if (writes.length) item.sideWrites = writes;
    }
  }

  /** Parses, enriches and seals the inputs, on a worker for large batches. */
  async #prepare(
    inputs: readonly unknown[],
    ctx: RequestContext,
    pathPrefix: string | undefined,
  ): Promise<PreparedEvent[]> {
    // Rejected inputs are answered from the original list; a null stands in for each.
    const parseable = inputs.map((input) => input instanceof RejectedInput ? null : input);
    const offloaded = parseable.length >= WORKER_BATCH_MIN
      ? this.#d.workers?.prepare(parseable, ctx, pathPrefix)
      : undefined;
    // A worker that fails (it crashed, or workers closed) leaves the batch to this thread.
    return (offloaded && await offloaded.catch(() => undefined)) ??
      prepareEvents(parseable, ctx, this.#d.sealer, pathPrefix);
  }
}

function rejectedResult(input: RejectedInput, path: string): IngestResult {
  return {
    event_id: input.event_id,
    status: "rejected",
    errors: input.errors.map((e) => ({ ...e, path: [path, e.path].filter(Boolean).join(".") })),
  };
}

import type { Sealer } from "./crypto.ts";
import type { EventLoader } from "./delivery/event_loader.ts";
import type { CommitItem, GroupCommitter } from "./group_commit.ts";
import { type FieldError, HttpError } from "./http_error.ts";
import { parseEvent, type RequestContext } from "./event_input.ts";
import { sealEvent } from "./event_store.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { Workspace } from "./workspaces.ts";

/** What became of one event in a request. */
export interface IngestResult {
  event_id?: string;
  status: "accepted" | "duplicate" | "rejected";
  errors?: FieldError[];
}

/**
 * The ingest pipeline after authentication: admit (rate limit), parse and enrich each
 * event, seal its user data, and group-commit the valid ones. Answers per event.
 */
export class Ingestor {
  readonly #committer: GroupCommitter;
  readonly #sealer: Sealer;
  readonly #limiter: RateLimiter;
  readonly #stored?: EventLoader;

  /** `stored`, when given, is handed each accepted event for the delivery that follows. */
  constructor(
    committer: GroupCommitter,
    sealer: Sealer,
    limiter: RateLimiter,
    stored?: EventLoader,
  ) {
    this.#committer = committer;
    this.#sealer = sealer;
    this.#limiter = limiter;
    this.#stored = stored;
  }

  /**
   * Ingests native-shaped inputs. `pathPrefix` names where each input sat in the body
   * (`events` → `events.0.event_name`). Throws HttpError 429 when over the workspace limit.
   */
  async ingest(
    workspace: Workspace,
    inputs: readonly unknown[],
    ctx: RequestContext,
    pathPrefix?: string,
  ): Promise<IngestResult[]> {
    const decision = this.#limiter.take(
      `ws:${workspace.id}`,
      inputs.length,
      workspace.settings.rate_limit_per_minute,
    );
    if (!decision.ok) {
      throw new HttpError(
        429,
        `Workspace rate limit of ${workspace.settings.rate_limit_per_minute} events per minute reached`,
        { headers: { "retry-after": String(decision.retryAfterSeconds) } },
      );
    }
    const results: IngestResult[] = new Array(inputs.length);
    const items: CommitItem[] = [];
    const positions: number[] = [];
    const dedupWindowMs = workspace.settings.dedup_window_seconds * 1000;
    const retentionMs = workspace.settings.retention_days * 86_400_000;
    for (let i = 0; i < inputs.length; i++) {
      const parsed = parseEvent(
        inputs[i],
        ctx,
        pathPrefix === undefined ? "" : `${pathPrefix}.${i}`,
      );
      if (!parsed.ok) {
        results[i] = { event_id: parsed.event_id, status: "rejected", errors: parsed.errors };
        continue;
      }
      items.push({
        event: parsed.event,
        sealed: sealEvent(parsed.json, this.#sealer),
        dedupWindowMs,
        retentionMs,
      });
      positions.push(i);
    }
    const rejected = inputs.length - items.length;
    if (rejected > 0) this.#committer.count(workspace.id, "rejected", "", rejected);
    if (items.length === 0) return results;
    const outcomes = await this.#committer.submit(items);
    outcomes.forEach((outcome, j) => {
      const { event } = items[j]!;
      results[positions[j]!] = { event_id: event.event_id, status: outcome };
      if (outcome === "accepted") this.#stored?.keep(event);
    });
    return results;
  }
}

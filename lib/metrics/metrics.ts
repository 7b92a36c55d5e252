/**
 * Prometheus metrics of one Sluice process (`GET /metrics`), on prom-client. Every label value
 * comes from a small fixed set (a route pattern, an HTTP status, a destination type, an
 * outcome): never an event, workspace or destination id, nor a URL. Counting is an in-memory
 * increment; what needs KV (the kv-outbox depth) is read only when the metrics are scraped.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Latency buckets, seconds: from a quick KV commit to a platform's timeout. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Delay buckets, seconds: from an instant fan-out to a backlog of hours. */
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];
/** Group sizes: one event to a full commit of 100 (SQLite's check limit). */
const GROUP_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200];

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A gauge read when the metrics are scraped (the queue depth). */
export interface ScrapeProbe {
  /** Sets the probe's gauges; called once per scrape. */
  collect(): Promise<void>;
}

/**
 * One process's metrics: the handles instrumented code increments, in a registry of its own
 * (so several runtimes in one test process count apart).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #probes: ScrapeProbe[] = [];

  /** HTTP requests answered, by route pattern (not the raw path) and status. */
  readonly httpRequests = this.#counter(
    "sluice_http_requests_total",
    "HTTP requests answered, by method, route pattern and status",
    ["method", "route", "status"],
  );
  /** Ingest requests answered, by route and status. */
  readonly ingestRequests = this.#counter(
    "sluice_ingest_requests_total",
    "Ingest requests answered, by route pattern and status",
    ["route", "status"],
  );
  /** Events in ingest requests, by route and what became of each. */
  readonly ingestEvents = this.#counter(
    "sluice_ingest_events_total",
    "Events received, by route pattern and status (accepted, duplicate, rejected)",
    ["route", "status"],
  );
  /** How long ingest requests took, until the answer. */
  readonly ingestDuration = this.#histogram(
    "sluice_ingest_request_duration_seconds",
    "Time to answer an ingest request, by route pattern",
    ["route"],
    LATENCY_BUCKETS,
  );
  /** Events dropped because the browser's user agent is a bot. */
  readonly botDropped = this.#counter(
    "sluice_ingest_bot_dropped_events_total",
    "Browser events dropped because the user agent is a bot",
    [],
  );
  /** Requests refused by a rate limit, by the limit's scope. */
  readonly rateLimited = this.#counter(
    "sluice_rate_limit_rejections_total",
    "Requests refused by a rate limit, by scope (ws: a workspace's events per minute, ip: a browser client)",
    ["scope"],
  );
  /** Events per group commit. */
  readonly commitSize = this.#histogram(
    "sluice_group_commit_events",
    "Events written by one group commit",
    [],
    GROUP_SIZE_BUCKETS,
  );
  /** How long a group commit took. */
  readonly commitDuration = this.#histogram(
    "sluice_group_commit_duration_seconds",
    "Time of one group commit (the atomic KV write)",
    [],
    LATENCY_BUCKETS,
  );
  /** KV commits that threw or that Sluice could not land, by where. */
  readonly kvCommitFailures = this.#counter(
    "sluice_kv_commit_failures_total",
    "KV commits that failed (threw, or were refused where no conflict was expected), by site",
    ["site"],
  );
  /** Queue messages handled by this process, by type and outcome. */
  readonly queueHandled = this.#counter(
    "sluice_queue_messages_handled_total",
    "Queue messages handled, by type (ingested, deliver, check, webhook) and outcome (ok, error)",
    ["type", "outcome"],
  );
  /** Queue handlers running now. */
  readonly queueInFlight = this.#gauge(
    "sluice_queue_handlers_in_flight",
    "Queue messages being handled by this process now",
    [],
  );
  /** Time from an event's commit to its fan-out. */
  readonly fanOutLag = this.#histogram(
    "sluice_fanout_lag_seconds",
    "Time from an event's commit to its fan-out (how far the queue is behind)",
    [],
    LAG_BUCKETS,
  );
  /** Messages waiting in the kv-outbox, by state. */
  readonly queueDepth = this.#gauge(
    "sluice_queue_depth",
    "kv-outbox messages, by state (due, scheduled, leased); read from KV at scrape time",
    ["state"],
  );
  /** How long the oldest due kv-outbox message has waited. */
  readonly queueOldestAge = this.#gauge(
    "sluice_queue_oldest_due_age_seconds",
    "How long the oldest due kv-outbox message has been waiting since it came due",
    [],
  );
  /** kv-outbox messages given up on. */
  readonly queueDead = this.#gauge(
    "sluice_queue_dead_letters",
    "kv-outbox messages whose handler failed on every attempt (kept 7 days)",
    [],
  );
  /** Events settled by a delivery attempt, by destination type and outcome. */
  readonly deliveries = this.#counter(
    "sluice_deliveries_total",
    "Events settled by a delivery attempt, by destination type and outcome (delivered, accepted, retrying, failed, skipped)",
    ["type", "outcome"],
  );
  /** Events sent again after a failed attempt. */
  readonly deliveryRetries = this.#counter(
    "sluice_delivery_retries_total",
    "Events in delivery attempts after the first, by destination type",
    ["type"],
  );
  /** How long one request to a platform took. */
  readonly deliveryDuration = this.#histogram(
    "sluice_delivery_duration_seconds",
    "Time of one request to a platform, by destination type",
    ["type"],
    LATENCY_BUCKETS,
  );
  /** Webhook attempts, by outcome. */
  readonly webhookAttempts = this.#counter(
    "sluice_webhook_attempts_total",
    "Webhook send attempts, by outcome (delivered, retrying, failed)",
    ["outcome"],
  );
  /** How long one webhook request took. */
  readonly webhookDuration = this.#histogram(
    "sluice_webhook_duration_seconds",
    "Time of one webhook request",
    [],
    LATENCY_BUCKETS,
  );
  /** Erasure requests and what they removed. */
  readonly erasures = this.#counter(
    "sluice_erasure_requests_total",
    "Erasure requests completed",
    [],
  );

  /** Adds a gauge source read at each scrape. */
  addProbe(probe: ScrapeProbe): void {
    this.#probes.push(probe);
  }

  /** The exposition text; probes that fail leave their gauges as they were. */
  async render(): Promise<string> {
    await Promise.allSettled(this.#probes.map((probe) => probe.collect()));
    return await this.registry.metrics();
  }

  #counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  #histogram<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}

/** Seconds since `startMs` (a `performance.now()` reading). */
export function secondsSince(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

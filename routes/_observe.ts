import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { randomHexId } from "../lib/crypto.ts";
import { log, type LogLevel, logs } from "../lib/log.ts";
import { secondsSince } from "../lib/metrics/metrics.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { AppEnv } from "./_env.ts";

/** Methods counted by name; anything else is "other" (a label must not take any value sent). */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Paths that receive events (any method but GET /v1/events, which reads them). */
const INGEST_PATHS = new Set([
  "/v1/browser/events",
  "/collect",
  "/collect/hook",
  "/v1/batch",
  "/v1/track",
  "/v1/identify",
  "/v1/page",
  "/v1/screen",
  "/v1/group",
  "/v1/alias",
  "/v1/import",
]);

/** Probes scraped every few seconds: their lines are debug, not info. */
const PROBE_ROUTES = new Set(["/healthz", "/metrics"]);

/** Whether a request sends events, so a failure must tell the sender to retry. */
export function isIngestRequest(method: string, path: string): boolean {
  return (method === "POST" && path === "/v1/events") || INGEST_PATHS.has(path) ||
    path.startsWith("/ingest/");
}

/**
 * The route pattern that answered (`/v1/events/:event_id`), never the raw path: it is what
 * logs and metrics name, so ids and typos sent by clients cannot grow the label set.
 */
export function routePattern(c: Context<AppEnv>): string {
  const handler = matchedRoutes(c).findLast((route) => route.method !== "ALL");
  return handler?.path ?? "unmatched";
}

/**
 * Gives each request its trace id, then, once it is answered, writes its log line (method,
 * route pattern, status, duration, trace id, workspace id) and counts it: every request by
 * method, route and status; ingest requests also by latency and by what became of their events.
 */
export function observeRequests(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async function observeRequest(c, next) {
    const started = performance.now();
    c.set("traceId", randomHexId());
    await next();
    const seconds = secondsSince(started);
    const route = routePattern(c);
    const status = String(c.res.status);
    const method = METHODS.has(c.req.method) ? c.req.method : "other";
    const { metrics } = rt;
    metrics.httpRequests.inc({ method, route, status });
    if (isIngestRequest(c.req.method, c.req.path)) {
      metrics.ingestRequests.inc({ route, status });
      metrics.ingestDuration.observe({ route }, seconds);
      const counts = c.get("ingested");
      if (counts) {
        for (const [outcome, n] of Object.entries(counts)) {
          if (n > 0) metrics.ingestEvents.inc({ route, status: outcome }, n);
        }
      }
    }
    const level: LogLevel = PROBE_ROUTES.has(route) ? "debug" : "info";
    if (!logs(level)) return;
    log[level]("request", {
      method,
      route,
      status: c.res.status,
      duration_ms: Math.round(seconds * 1e4) / 10,
      trace_id: c.get("traceId"),
      workspace_id: c.get("workspace")?.id,
    });
  };
}

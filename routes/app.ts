import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorText, log } from "../lib/log.ts";
import { httpErrorOf, problemOf, problemResponse } from "./_http_error.ts";
import { validationProblem } from "./_request.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { App, AppEnv } from "./_env.ts";
import { analyticsRoutes } from "./api/analytics.ts";
import { apiKeyRoutes } from "./api/api_keys.ts";
import { auditRoutes } from "./api/audit.ts";
import { deliveryRequestRoutes } from "./api/delivery_requests.ts";
import { browserRoutes } from "./ingest/browser.ts";
import { deliveryRoutes } from "./api/deliveries.ts";
import { pixelRoutes } from "./ingest/pixel.ts";
import { erasureRoutes } from "./api/erasure.ts";
import { eventRoutes } from "./api/events.ts";
import { healthRoutes } from "./api/health.ts";
import { metricsRoutes } from "./api/metrics.ts";
import { isIngestRequest, observeRequests, routePattern } from "./_observe.ts";
import { conversionHookRoutes } from "./ingest/conversion_hook.ts";
import { nativeIngestRoutes } from "./ingest/native.ts";
import { outboxRoutes } from "./api/outbox.ts";
import { segmentRoutes } from "./ingest/segment.ts";
import { sourceIngestRoutes } from "./ingest/sources.ts";
import { sourceRoutes } from "./api/sources.ts";
import { platformRoutes } from "./api/platforms.ts";
import { ruleRoutes } from "./api/rules.ts";
import { webhookRoutes } from "./api/webhooks.ts";
import { workspaceRoutes } from "./api/workspaces.ts";
import { dashboardRoutes } from "./dashboard/_app.ts";
import { auditApiChanges } from "./_audit.ts";

/** Builds the HTTP application on a runtime. */
export function createApp(rt: Runtime): App {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationProblem });
  app.use(observeRequests(rt));
  app.use(auditApiChanges(rt));
  // After the answer is ready: where isolates live only while they serve requests, requests
  // drain the kv-outbox a little each (bounded; one drain at a time per process).
  app.use(async function drainOutboxAfterRequest(_c, next) {
    await next();
    rt.drainAfterRequest();
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key (sk_…) or, for POST /v1/workspaces, the root token",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "basic", {
    type: "http",
    scheme: "basic",
    description: "Segment style: the ingest key as user name, empty password",
  });

  const deps = { app, rt };
  nativeIngestRoutes(deps);
  browserRoutes(deps);
  conversionHookRoutes(deps);
  pixelRoutes(deps);
  segmentRoutes(deps);
  sourceIngestRoutes(deps);
  // Management sub-apps inherit the validation hook and onError; mounting merges their
  // OpenAPI entries into this app's document.
  for (
    const routes of [
      healthRoutes,
      metricsRoutes,
      workspaceRoutes,
      apiKeyRoutes,
      eventRoutes,
      deliveryRoutes,
      erasureRoutes,
      platformRoutes,
      ruleRoutes,
      webhookRoutes,
      sourceRoutes,
      auditRoutes,
      deliveryRequestRoutes,
      outboxRoutes,
      analyticsRoutes,
    ]
  ) {
    app.route("/", routes(rt));
  }

  app.route("/", dashboardRoutes(rt));

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Sluice",
      version: "0.1.0",
      description: "Server-side conversion tracking gateway. Errors are RFC 7807 problem+json.",
    },
  });

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return problemResponse(
        problemOf(405, `${c.req.method} is not allowed on ${c.req.path}`),
        { allow: allowed.join(", ") },
      );
    }
    return problemResponse(problemOf(404, `No route for ${c.req.method} ${c.req.path}`));
  });

  app.onError((error, c) => {
    const known = httpErrorOf(error);
    if (known) return problemResponse(known.toProblem(), known.headers);
    if (error instanceof HTTPException) {
      return problemResponse(problemOf(error.status, error.message || "Request refused"));
    }
    return unexpectedErrorResponse(c, error);
  });
  return app;
}

/** Seconds a sender waits before retrying an ingest request that failed inside Sluice. */
const INGEST_RETRY_AFTER_S = 5;

/**
 * Answers an error nothing mapped: logs it with the method, the route pattern (no path, query
 * or body) and the trace id; ingest requests get 503 + Retry-After so senders retry (the
 * event was not stored), every other request 500 quoting the trace id.
 */
function unexpectedErrorResponse(c: Context<AppEnv>, error: unknown): Response {
  const traceId = c.get("traceId");
  log.error("Unhandled error", {
    method: c.req.method,
    route: routePattern(c),
    trace_id: traceId,
    workspace_id: c.get("workspace")?.id,
    error: errorText(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  if (isIngestRequest(c.req.method, c.req.path)) {
    return problemResponse(
      problemOf(503, `The event could not be stored; retry it (trace ${traceId})`),
      { "retry-after": String(INGEST_RETRY_AFTER_S) },
    );
  }
  return problemResponse(
    problemOf(500, `The request failed inside Sluice; quote trace ${traceId} when reporting it`),
  );
}

function allowedMethods(app: App, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    const pattern = new RegExp("^" + route.path.replace(/:[^/]+/g, "[^/]+") + "/?$");
    if (pattern.test(path)) methods.add(route.method);
  }
  return [...methods];
}

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../../lib/crypto.ts";
import { METRICS_CONTENT_TYPE } from "../../lib/metrics/metrics.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { bearerToken } from "../_auth.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { problems } from "../_schemas.ts";

/** Requires `Authorization: Bearer $SLUICE_METRICS_TOKEN` when the token is set. */
function requireMetricsToken(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async function metricsToken(c, next) {
    const expected = rt.config.metricsToken;
    if (expected) {
      const given = bearerToken(c.req.header("authorization"));
      if (!given) {
        throw new HttpError(401, "Send the metrics token: Authorization: Bearer <token>", {
          headers: { "www-authenticate": 'Bearer realm="metrics"' },
        });
      }
      if (!constantTimeEqual(given, expected)) {
        throw new HttpError(401, "The metrics token is invalid", {
          headers: { "www-authenticate": 'Bearer realm="metrics"' },
        });
      }
    }
    await next();
  };
}

/** `GET /metrics`: this process's metrics in the Prometheus text format. */
export function metricsRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const route = createRoute({
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    tags: ["Operations"],
    summary: "Prometheus metrics of this process",
    description:
      "The Prometheus text exposition format. When SLUICE_METRICS_TOKEN is set, send it as `Authorization: Bearer <token>`. Counters are per process: sum them across instances. See docs/operations.md for every metric.",
    // No `security`: the token is optional, set per instance (the description says so).
    middleware: [requireMetricsToken(rt)],
    responses: {
      200: {
        description: "Metrics in the Prometheus text format (version 0.0.4)",
        content: { "text/plain": { schema: z.string() } },
      },
      ...problems(401),
    },
  });
  return new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
    return c.text(await rt.metrics.render(), 200, { "content-type": METRICS_CONTENT_TYPE });
  });
}

import { z } from "@hono/zod-openapi";
import type { RouteDeps } from "../_env.ts";
import { jsonResponse } from "../_schemas.ts";

const healthSchema = z.object({ status: z.enum(["ok", "degraded"]), kv: z.string() });

/** `GET /healthz`: the process answers and KV can be read. */
export function healthRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/healthz",
    tags: ["Operations"],
    summary: "Liveness and KV reachability",
    responses: {
      200: jsonResponse("Healthy", healthSchema),
      503: jsonResponse("KV unreachable", healthSchema),
    },
  });
  app.get("/healthz", async (c) => {
    try {
      await rt.kv.get(["healthz"]);
      return c.json({ status: "ok", kv: "ok" });
    } catch (error) {
      return c.json({ status: "degraded", kv: (error as Error).message }, 503);
    }
  });
}

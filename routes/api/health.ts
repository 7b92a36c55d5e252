import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { publicRoute } from "../_route.ts";
import { jsonResponse } from "../_schemas.ts";

const healthSchema = z.object({ status: z.enum(["ok", "degraded"]), kv: z.string() })
  .openapi("Health");

const getHealth = publicRoute({
  method: "get",
  path: "/healthz",
  operationId: "getHealth",
  tags: ["Operations"],
  summary: "Liveness and KV reachability",
  responses: {
    200: jsonResponse("Healthy", healthSchema),
    503: jsonResponse("KV unreachable", healthSchema),
  },
});

/** `GET /healthz`: the process answers and KV can be read. */
export function healthRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>().openapi(getHealth, async (c) => {
    try {
      await rt.kv.get(["healthz"]);
      return c.json({ status: "ok", kv: "ok" } as const, 200);
    } catch (error) {
      return c.json({ status: "degraded", kv: (error as Error).message } as const, 503);
    }
  });
}

import { z } from "@hono/zod-openapi";
import { HttpError } from "../_http_error.ts";
import { ruleInputSchema } from "../../lib/delivery/rules.ts";
import { requireKey } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody } from "../_request.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const ruleBodySchema = ruleInputSchema.openapi("RuleInput", {
  example: {
    name: "Purchases over 100 to Meta only, renamed",
    priority: 10,
    match: { event_names: ["purchase"], value_min: 100 },
    action: { type: "send", destinations: ["dst_…"] },
  },
});
const ruleSchema = z.record(z.string(), z.unknown()).openapi("Rule");

/**
 * `/v1/rules`: routing rules. Match on event name, source, value range and property
 * equality; actions send to chosen destinations, rename for a destination, or drop.
 */
export function ruleRoutes({ app, rt }: RouteDeps): void {
  const admin = requireKey(rt, "admin");
  const read = requireKey(rt, "read");
  const tags = ["Rules"];
  const security = [{ bearer: [] }];
  const idParam = { params: z.object({ id: z.string() }) };

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/rules",
    tags,
    security,
    summary: "List routing rules in the order they run",
    responses: {
      200: jsonResponse("Rules", z.object({ data: z.array(ruleSchema) })),
      ...problems(401, 403),
    },
  });
  app.get(
    "/v1/rules",
    read,
    async (c) => c.json({ data: await rt.rules.list(c.get("workspace").id) }),
  );

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/rules",
    tags,
    security,
    summary: "Create a routing rule",
    request: { body: jsonBody(ruleBodySchema) },
    responses: { 201: jsonResponse("Created", ruleSchema), ...problems(400, 401, 403) },
  });
  app.post("/v1/rules", admin, async (c) => {
    const input = await parseJsonBody(c, ruleInputSchema);
    return c.json(await rt.rules.create(c.get("workspace").id, input), 201);
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/rules/{id}",
    tags,
    security,
    summary: "One routing rule",
    request: idParam,
    responses: { 200: jsonResponse("Rule", ruleSchema), ...problems(401, 403, 404) },
  });
  app.get("/v1/rules/:id", read, async (c) => {
    const rule = await rt.rules.get(c.get("workspace").id, c.req.param("id"));
    if (!rule) throw new HttpError(404, `No rule "${c.req.param("id").slice(0, 64)}"`);
    return c.json(rule);
  });

  app.openAPIRegistry.registerPath({
    method: "put",
    path: "/v1/rules/{id}",
    tags,
    security,
    summary: "Replace a routing rule",
    request: { ...idParam, body: jsonBody(ruleBodySchema) },
    responses: { 200: jsonResponse("Replaced", ruleSchema), ...problems(400, 401, 403, 404) },
  });
  app.put("/v1/rules/:id", admin, async (c) => {
    const input = await parseJsonBody(c, ruleInputSchema);
    const rule = await rt.rules.replace(c.get("workspace").id, c.req.param("id"), input);
    if (!rule) throw new HttpError(404, `No rule "${c.req.param("id").slice(0, 64)}"`);
    return c.json(rule);
  });

  app.openAPIRegistry.registerPath({
    method: "delete",
    path: "/v1/rules/{id}",
    tags,
    security,
    summary: "Delete a routing rule",
    request: idParam,
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  });
  app.delete("/v1/rules/:id", admin, async (c) => {
    const deleted = await rt.rules.delete(c.get("workspace").id, c.req.param("id"));
    if (!deleted) throw new HttpError(404, `No rule "${c.req.param("id").slice(0, 64)}"`);
    return c.body(null, 204);
  });
}

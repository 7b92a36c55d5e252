import { OpenAPIHono, z } from "@hono/zod-openapi";
import { routingRuleSchema, ruleInputSchema } from "../../lib/delivery/rules.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems } from "../_schemas.ts";

const ruleBodySchema = ruleInputSchema.openapi("RuleInput", {
  example: {
    name: "Purchases over 100 to Meta only, renamed",
    priority: 10,
    match: { event_names: ["purchase"], value_min: 100 },
    action: { type: "send", destinations: ["dst_…"] },
  },
});

const ruleParams = z.object({ id: pathId() });
const tags: [string] = ["Rules"];

function noRule(id: string): HttpError {
  return new HttpError(404, `No rule "${id}" in this workspace`);
}

/**
 * `/v1/rules`: routing rules. Match on event name, source, value range and property
 * equality; actions send to chosen destinations, rename for a destination, or drop.
 */
export function ruleRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/rules",
      operationId: "listRules",
      scope: "read",
      tags,
      summary: "List routing rules in the order they run",
      request: {},
      responses: { 200: jsonResponse("Rules", z.object({ data: z.array(routingRuleSchema) })) },
    }),
    async (c) => c.json({ data: await rt.rules.list(c.get("workspace").id) }, 200),
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/rules",
      operationId: "createRule",
      scope: "admin",
      tags,
      summary: "Create a routing rule",
      request: { body: jsonBody(ruleBodySchema) },
      responses: { 201: jsonResponse("Created", routingRuleSchema), ...problems(400, 413, 415) },
    }),
    async (c) => c.json(await rt.rules.create(c.get("workspace").id, c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/rules/{id}",
      operationId: "getRule",
      scope: "read",
      tags,
      summary: "One routing rule",
      request: { params: ruleParams },
      responses: { 200: jsonResponse("Rule", routingRuleSchema), ...problems(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const rule = await rt.rules.get(c.get("workspace").id, id);
      if (!rule) throw noRule(id);
      return c.json(rule, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "put",
      path: "/v1/rules/{id}",
      operationId: "replaceRule",
      scope: "admin",
      tags,
      summary: "Replace a routing rule",
      request: { params: ruleParams, body: jsonBody(ruleBodySchema) },
      responses: {
        200: jsonResponse("Replaced", routingRuleSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const rule = await rt.rules.replace(c.get("workspace").id, id, c.req.valid("json"));
      if (!rule) throw noRule(id);
      return c.json(rule, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "delete",
      path: "/v1/rules/{id}",
      operationId: "deleteRule",
      scope: "admin",
      tags,
      summary: "Delete a routing rule",
      request: { params: ruleParams },
      responses: { 204: { description: "Deleted" }, ...problems(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await rt.rules.delete(c.get("workspace").id, id))) throw noRule(id);
      return c.body(null, 204);
    },
  );
  return app;
}

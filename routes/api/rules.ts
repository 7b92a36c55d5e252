import { OpenAPIHono, z } from "@hono/zod-openapi";
import { previewRule, rulePreviewSchema } from "../../lib/delivery/rule_preview.ts";
import { type RoutingRule, routingRuleSchema, ruleInputSchema } from "../../lib/delivery/rules.ts";
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

const previewQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(5_000).default(1_000).openapi({
    description: "How many of the newest events to try the rule on",
  }),
  rule_id: pathId().optional().openapi({
    description: "Preview an edit: the body replaces this saved rule instead of being added",
  }),
});

const tags: [string] = ["Rules"];

function noRule(id: string): HttpError {
  return new HttpError(404, `No rule "${id}" in this workspace`);
}

/** The saved rule a preview replaces; 404 naming `rule_id` when there is none. */
async function savedRule(rt: Runtime, wsId: string, id: string): Promise<RoutingRule> {
  const rule = await rt.rules.get(wsId, id);
  if (!rule) {
    throw new HttpError(404, `No rule "${id}" in this workspace`, {
      errors: [{ path: "rule_id", message: "names no rule of this workspace" }],
    });
  }
  return rule;
}

/**
 * `/v1/rules`: routing rules. Match on event name, source, value range and property
 * equality; actions send to chosen destinations, rename for a destination, or drop.
 * `POST /v1/rules/preview` tries an unsaved rule on the newest events.
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
      method: "post",
      path: "/v1/rules/preview",
      operationId: "previewRule",
      scope: "read",
      tags,
      summary: "What a rule would change, tried on the newest events; nothing is saved",
      description: "Routes each of the newest `limit` events with the saved rules and with " +
        "the rule added (or, with `rule_id`, in place of that rule), under the platforms' " +
        "current settings and health, and counts per platform the events sent and renamed " +
        "either way.",
      request: { query: previewQuerySchema, body: jsonBody(ruleBodySchema) },
      responses: {
        200: jsonResponse("What would change", rulePreviewSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const { limit, rule_id } = c.req.valid("query");
      const wsId = c.get("workspace").id;
      const replaces = rule_id === undefined ? undefined : await savedRule(rt, wsId, rule_id);
      const [{ data: events }, destinations, rules] = await Promise.all([
        rt.events.list(wsId, { limit }),
        rt.destinations.list(wsId),
        rt.rules.list(wsId),
      ]);
      return c.json(previewRule(events, destinations, rules, c.req.valid("json"), replaces), 200);
    },
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

import { z } from "@hono/zod-openapi";
import { connectorFor, PLATFORM_TYPES, type PlatformType } from "../../connectors/mod.ts";
import type { Connector } from "../../connectors/types.ts";
import {
  type Destination,
  publicDestination,
  SECRET_MASK,
} from "../../lib/delivery/destinations.ts";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { checkSettings } from "../../lib/delivery/destination_settings.ts";
import { requireKey } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody } from "../_request.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const createSchema = z.object({
  type: z.enum(PLATFORM_TYPES),
  name: z.string().trim().min(1).max(100),
  config: z.record(z.string(), z.unknown()).default({}),
  enabled: z.boolean().default(true),
}).strict().openapi("CreatePlatform", {
  example: {
    type: "meta",
    name: "Meta pixel",
    config: { pixel_id: "1234567890", access_token: "EAAB…", test_event_code: "TEST123" },
    enabled: true,
  },
});

const updateSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  enabled: z.boolean().optional(),
}).strict().openapi("UpdatePlatform");

const platformSchema = z.object({
  id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  name: z.string(),
  enabled: z.boolean(),
  config: z.record(z.string(), z.unknown()).openapi({ description: "Secrets masked" }),
  health: z.object({ status: z.enum(["healthy", "unhealthy"]), reason: z.string().optional() }),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Platform");

function connectorOf(type: PlatformType): Connector {
  const connector = connectorFor(type);
  if (!connector) {
    throw new HttpError(422, `Destination type "${type}" is not available yet in this version`);
  }
  return connector;
}

/** Validates settings with the connector's schema and every URL with the SSRF guard. */
async function validSettings(
  rt: Runtime,
  connector: Connector,
  settings: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const checked = await checkSettings(connector, settings, rt.urlGuard);
  if (checked.ok) return checked.settings;
  const first = checked.errors[0]!;
  const detail = checked.problem === "refused"
    ? `${first.path} is not allowed: ${first.message}`
    : `Invalid ${connector.label} settings`;
  throw new HttpError(400, detail, { errors: checked.errors });
}

async function destinationOr404(rt: Runtime, wsId: string, id: string): Promise<Destination> {
  const destination = await rt.destinations.get(wsId, id);
  if (!destination) throw new HttpError(404, `No platform "${id.slice(0, 64)}" in this workspace`);
  return destination;
}

/** `/v1/platforms`: destinations CRUD and a live test send. */
export function platformRoutes({ app, rt }: RouteDeps): void {
  const admin = requireKey(rt, "admin");
  const read = requireKey(rt, "read");
  const tags = ["Platforms"];
  const security = [{ bearer: [] }];

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/platforms",
    tags,
    security,
    summary: "Connect a platform; secrets are encrypted at rest and never returned",
    request: { body: jsonBody(createSchema) },
    responses: {
      201: jsonResponse(
        "Created; `generated_secrets` (e.g. a webhook's signing secret) appears only here",
        platformSchema.extend({ generated_secrets: z.record(z.string(), z.string()).optional() }),
      ),
      ...problems(400, 401, 403, 422),
    },
  });
  app.post("/v1/platforms", admin, async (c) => {
    const input = await parseJsonBody(c, createSchema);
    const connector = connectorOf(input.type);
    const settings = await validSettings(rt, connector, input.config);
    const destination = await rt.destinations.create(c.get("workspace").id, {
      type: input.type,
      name: input.name,
      enabled: input.enabled,
      settings,
      secretFields: connector.secretFields,
    });
    // Secrets Sluice generated (a webhook's signing secret) are shown here, once.
    const generated = Object.fromEntries(
      connector.secretFields.filter((f) =>
        input.config[f] === undefined && settings[f] !== undefined
      )
        .map((f) => [f, settings[f]]),
    );
    return c.json({
      ...publicDestination(destination),
      ...(Object.keys(generated).length ? { generated_secrets: generated } : {}),
    }, 201);
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/platforms",
    tags,
    security,
    summary: "List connected platforms (secrets masked)",
    responses: {
      200: jsonResponse("Platforms", z.object({ data: z.array(platformSchema) })),
      ...problems(401, 403),
    },
  });
  app.get("/v1/platforms", read, async (c) => {
    const list = await rt.destinations.list(c.get("workspace").id);
    return c.json({ data: list.map(publicDestination) });
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/platforms/{id}",
    tags,
    security,
    summary: "One platform (secrets masked)",
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: jsonResponse("Platform", platformSchema), ...problems(401, 403, 404) },
  });
  app.get("/v1/platforms/:id", read, async (c) => {
    const destination = await destinationOr404(rt, c.get("workspace").id, c.req.param("id"));
    return c.json(publicDestination(destination));
  });

  app.openAPIRegistry.registerPath({
    method: "patch",
    path: "/v1/platforms/{id}",
    tags,
    security,
    summary:
      `Change name, enabled or config; a secret left out or sent as "${SECRET_MASK}" is kept`,
    request: { params: z.object({ id: z.string() }), body: jsonBody(updateSchema) },
    responses: { 200: jsonResponse("Updated", platformSchema), ...problems(400, 401, 403, 404) },
  });
  app.patch("/v1/platforms/:id", admin, async (c) => {
    const wsId = c.get("workspace").id;
    const destination = await destinationOr404(rt, wsId, c.req.param("id"));
    const patch = await parseJsonBody(c, updateSchema);
    const connector = connectorOf(destination.type);
    let settings: Record<string, unknown> | undefined;
    if (patch.config) {
      const current = rt.destinations.settingsOf(destination);
      const given = Object.fromEntries(
        Object.entries(patch.config).filter(([, v]) => v !== SECRET_MASK),
      );
      settings = await validSettings(rt, connector, { ...current, ...given });
    }
    const updated = await rt.destinations.update(wsId, destination.id, {
      name: patch.name,
      enabled: patch.enabled,
      settings,
      secretFields: connector.secretFields,
    });
    return c.json(publicDestination(updated!));
  });

  app.openAPIRegistry.registerPath({
    method: "delete",
    path: "/v1/platforms/{id}",
    tags,
    security,
    summary: "Disconnect a platform",
    request: { params: z.object({ id: z.string() }) },
    responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
  });
  app.delete("/v1/platforms/:id", admin, async (c) => {
    const deleted = await rt.destinations.delete(c.get("workspace").id, c.req.param("id"));
    if (!deleted) throw new HttpError(404, `No platform "${c.req.param("id").slice(0, 64)}"`);
    return c.body(null, 204);
  });

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/platforms/{id}/test",
    tags,
    security,
    summary: "Send a synthetic event in the platform's test mode and answer with what it said",
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: jsonResponse(
        "The platform's answer",
        z.object({
          ok: z.boolean(),
          sent: z.boolean().openapi({ description: "Whether a request went to the platform" }),
          test_mode: z.string().nullable().openapi({
            description:
              "How the platform's test mode works; null when it has none (then nothing is sent)",
          }),
          classification: z.record(z.string(), z.unknown()),
          status: z.number().nullable(),
          response: z.string(),
          latency_ms: z.number(),
        }),
      ),
      ...problems(401, 403, 404, 422),
    },
  });
  app.post("/v1/platforms/:id/test", admin, async (c) => {
    const workspace = c.get("workspace");
    const destination = await destinationOr404(rt, workspace.id, c.req.param("id"));
    const connector = connectorOf(destination.type);
    const settings = connector.settings.safeParse(rt.destinations.settingsOf(destination));
    if (!settings.success) throw new HttpError(422, "The platform's stored settings are invalid");
    const result = await rt.engine.testDestination(destination);
    if (!result) {
      throw new HttpError(422, `Destination type "${destination.type}" has no connector`);
    }
    return c.json({ ...result, classification: result.outcome });
  });
}

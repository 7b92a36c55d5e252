import { OpenAPIHono, z } from "@hono/zod-openapi";
import { connectorFor, PLATFORM_TYPES, type PlatformType } from "../../connectors/mod.ts";
import type { Connector } from "../../connectors/types.ts";
import {
  type Destination,
  publicDestination,
  publicDestinationSchema,
  SECRET_MASK,
} from "../../lib/delivery/destinations.ts";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { checkSettings } from "../../lib/delivery/destination_settings.ts";
import type { AppEnv } from "../_env.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems } from "../_schemas.ts";

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

const createdSchema = publicDestinationSchema.extend({
  generated_secrets: z.record(z.string(), z.unknown()).optional().openapi({
    description: "Secrets Sluice generated (a webhook's signing secret), shown only here",
    example: { secret: "whsec_…" },
  }),
}).openapi("PlatformCreated");

const outcomeSchema = z.looseObject({
  kind: z.enum(["delivered", "accepted", "retry", "failed", "auth_failed"]),
  reason: z.string().optional(),
  detail: z.string().optional(),
  token: z.string().optional(),
  afterMs: z.number().optional(),
}).openapi({ description: "How Sluice reads the answer: what a real delivery would do" });

const testAnswerSchema = z.object({
  ok: z.boolean().openapi({
    description: "The check passed: the platform accepted the test event, or, where the " +
      "credentials are the whole test (`checked: credentials`), accepted them. False when " +
      "nothing was checked",
  }),
  sent: z.boolean().openapi({ description: "Whether the test event went to the platform" }),
  checked: z.enum(["event", "credentials", "nothing"]).openapi({
    description: "What the test checked: the test event; only the credentials (an OAuth " +
      "token request: the platform has no test mode, or refused the token before the event " +
      "could go); or nothing (no test mode and no credentials to check)",
  }),
  test_mode: z.string().nullable().openapi({
    description: "How the platform's test mode works; null when it has none (then no event is " +
      "sent)",
  }),
  outcome: outcomeSchema,
  classification: outcomeSchema,
  status: z.number().int().nullable().openapi({
    description: "HTTP status of the answer to the test event; null when it was not sent",
  }),
  response: z.string().openapi({ description: "The first 2 KiB of the answer body" }),
  latency_ms: z.number(),
}).openapi("PlatformTestResult");

const platformParams = z.object({ id: pathId() });
const tags: [string] = ["Platforms"];

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
export function platformRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/platforms",
      operationId: "createPlatform",
      scope: "admin",
      tags,
      summary: "Connect a platform; secrets are encrypted at rest and never returned",
      request: { body: jsonBody(createSchema) },
      responses: {
        201: jsonResponse(
          "Created; `generated_secrets` (e.g. a webhook's signing secret) appears only here",
          createdSchema,
        ),
        ...problems(400, 413, 415, 422),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
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
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/platforms",
      operationId: "listPlatforms",
      scope: "read",
      tags,
      summary: "List connected platforms (secrets masked)",
      request: {},
      responses: {
        200: jsonResponse("Platforms", z.object({ data: z.array(publicDestinationSchema) })),
      },
    }),
    async (c) => {
      const list = await rt.destinations.list(c.get("workspace").id);
      return c.json({ data: list.map(publicDestination) }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/platforms/{id}",
      operationId: "getPlatform",
      scope: "read",
      tags,
      summary: "One platform (secrets masked)",
      request: { params: platformParams },
      responses: { 200: jsonResponse("Platform", publicDestinationSchema), ...problems(404) },
    }),
    async (c) => {
      const destination = await destinationOr404(
        rt,
        c.get("workspace").id,
        c.req.valid("param").id,
      );
      return c.json(publicDestination(destination), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "patch",
      path: "/v1/platforms/{id}",
      operationId: "updatePlatform",
      scope: "admin",
      tags,
      summary:
        `Change name, enabled or config; a secret left out or sent as "${SECRET_MASK}" is kept`,
      request: { params: platformParams, body: jsonBody(updateSchema) },
      responses: {
        200: jsonResponse("Updated", publicDestinationSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const destination = await destinationOr404(rt, wsId, c.req.valid("param").id);
      const patch = c.req.valid("json");
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
      return c.json(publicDestination(updated!), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "delete",
      path: "/v1/platforms/{id}",
      operationId: "deletePlatform",
      scope: "admin",
      tags,
      summary: "Disconnect a platform",
      request: { params: platformParams },
      responses: { 204: { description: "Deleted" }, ...problems(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const deleted = await rt.destinations.delete(c.get("workspace").id, id);
      if (!deleted) throw new HttpError(404, `No platform "${id}"`);
      return c.body(null, 204);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/platforms/{id}/test",
      operationId: "testPlatform",
      scope: "admin",
      tags,
      summary: "Send a synthetic event in the platform's test mode and answer with what it said",
      description: "A synthetic purchase goes to the platform in its test mode, after a fresh " +
        "OAuth token where the platform uses one. A platform without a test mode gets no " +
        "event (it would count as a real conversion): where it has OAuth credentials, the " +
        "token request is the whole test (`checked: credentials`, `ok` when they were " +
        "accepted, outcome `delivered` with a detail saying so); otherwise nothing is checked " +
        "and `ok` is false. `ok` is true only when what was checked passed.",
      request: { params: platformParams },
      responses: {
        200: jsonResponse("The platform's answer", testAnswerSchema),
        ...problems(404, 422),
      },
    }),
    async (c) => {
      const workspace = c.get("workspace");
      const destination = await destinationOr404(rt, workspace.id, c.req.valid("param").id);
      const connector = connectorOf(destination.type);
      const settings = connector.settings.safeParse(rt.destinations.settingsOf(destination));
      if (!settings.success) throw new HttpError(422, "The platform's stored settings are invalid");
      const result = await rt.engine.testDestination(destination);
      if (!result) {
        throw new HttpError(422, `Destination type "${destination.type}" has no connector`);
      }
      return c.json({ ...result, classification: result.outcome }, 200);
    },
  );
  return app;
}

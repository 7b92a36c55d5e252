import { OpenAPIHono, z } from "@hono/zod-openapi";
import { firstEventAt, pixelScriptUrl, pixelSnippet } from "../../lib/pixel_install.ts";
import type { Runtime } from "../../lib/runtime.ts";
import {
  normalizeOrigin,
  type WorkspaceCreated,
  workspaceSchema,
  workspaceSettingsSchema,
} from "../../lib/workspaces.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const originSchema = z.string().max(256).refine((v) => {
  try {
    normalizeOrigin(v);
    return true;
  } catch {
    return false;
  }
}, "must be an http(s) origin such as https://shop.example");

/** Settings a create or a change may give: any of them, each within its bounds. */
const settingsInputSchema = workspaceSettingsSchema.partial().strict()
  .openapi("WorkspaceSettingsInput");

/** Body of `POST /v1/workspaces`. */
export const createWorkspaceSchema = z.object({
  name: z.string().trim().min(1).max(100),
  allowed_origins: z.array(originSchema).max(50).optional(),
  settings: settingsInputSchema.optional(),
}).strict().openapi("CreateWorkspace", {
  example: { name: "Shop", allowed_origins: ["https://shop.example"] },
});

const updateWorkspaceSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  allowed_origins: z.array(originSchema).max(50).optional(),
  settings: settingsInputSchema.optional(),
}).strict().openapi("UpdateWorkspace");

const createdSchema = z.object({
  id: z.string(),
  name: z.string(),
  public_id: z.string(),
  ingest_key: z.string().openapi({ description: "Shown only here" }),
  admin_key: z.string().openapi({ description: "Shown only here" }),
  allowed_origins: z.array(z.string()),
}).openapi("WorkspaceCreated");

/** The answer to a created workspace (API.md), also printed by the CLI. */
export function workspaceCreatedJson(
  { workspace, ingestKey, adminKey }: WorkspaceCreated,
): z.output<typeof createdSchema> {
  return {
    id: workspace.id,
    name: workspace.name,
    public_id: workspace.public_id,
    ingest_key: ingestKey.secret,
    admin_key: adminKey.secret,
    allowed_origins: workspace.allowed_origins,
  };
}

const installSchema = z.object({
  public_id: z.string(),
  script_url: z.string().openapi({ example: "https://sluice.example/v1/pixel.js" }),
  snippet: z.string().openapi({
    description: "Paste into every page's <head>",
    example:
      '<script async src="https://sluice.example/v1/pixel.js" data-public-id="pk_…"></script>',
  }),
  first_event_at: z.string().nullable().openapi({
    description: "When the oldest event still stored arrived (ISO 8601); null until one has",
  }),
}).openapi("PixelInstall");

const tags: [string] = ["Workspaces"];

/** `POST /v1/workspaces`, `GET` and `PATCH /v1/workspace`, `GET /v1/workspace/install`. */
export function workspaceRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/workspaces",
      operationId: "createWorkspace",
      scope: "root",
      tags,
      summary: "Create a workspace (root token); its keys are shown only in this answer",
      request: { body: jsonBody(createWorkspaceSchema) },
      responses: { 201: jsonResponse("Created", createdSchema), ...problems(400, 413, 415) },
    }),
    async (c) => {
      const created = await rt.workspaces.create(c.req.valid("json"));
      return c.json(workspaceCreatedJson(created), 201);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/workspace",
      operationId: "getWorkspace",
      scope: "read",
      tags,
      summary: "The workspace of the calling key",
      request: {},
      responses: { 200: jsonResponse("The workspace", workspaceSchema) },
    }),
    (c) => c.json(c.get("workspace"), 200),
  );

  app.openapi(
    apiRoute(rt, {
      method: "patch",
      path: "/v1/workspace",
      operationId: "updateWorkspace",
      scope: "admin",
      tags,
      summary:
        "Change the name, allowed origins or settings (dedup window, retention, rate limits)",
      request: { body: jsonBody(updateWorkspaceSchema) },
      responses: {
        200: jsonResponse("Updated", workspaceSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const updated = await rt.workspaces.update(c.get("workspace").id, c.req.valid("json"));
      if (!updated) throw new HttpError(404, "The calling key's workspace no longer exists");
      return c.json(updated, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/workspace/install",
      operationId: "getPixelInstall",
      scope: "read",
      tags,
      summary: "The browser pixel's install snippet, and when the first event arrived",
      description: "The script URL is on SLUICE_PUBLIC_URL, else on the origin this request " +
        "came to.",
      request: {},
      responses: { 200: jsonResponse("The snippet", installSchema) },
    }),
    async (c) => {
      const workspace = c.get("workspace");
      const origin = rt.config.publicUrl ?? new URL(c.req.url).origin;
      const first = await firstEventAt(rt.kv, workspace.id);
      return c.json({
        public_id: workspace.public_id,
        script_url: pixelScriptUrl(origin),
        snippet: pixelSnippet(origin, workspace.public_id),
        first_event_at: first === null ? null : new Date(first).toISOString(),
      }, 200);
    },
  );
  return app;
}

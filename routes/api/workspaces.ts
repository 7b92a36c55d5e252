import { z } from "@hono/zod-openapi";
import { normalizeOrigin, type WorkspaceCreated } from "../../lib/workspaces.ts";
import { requireKey, requireRootToken } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody } from "../_request.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const originSchema = z.string().max(256).refine((v) => {
  try {
    normalizeOrigin(v);
    return true;
  } catch {
    return false;
  }
}, "must be an http(s) origin such as https://shop.example");

const settingsSchema = z.object({
  dedup_window_seconds: z.number().int().min(60).max(30 * 86_400),
  retention_days: z.number().int().min(1).max(3650),
  rate_limit_per_minute: z.number().int().min(1).max(100_000_000),
  browser_rate_limit_per_minute: z.number().int().min(1).max(10_000_000),
}).partial().strict().openapi("WorkspaceSettings");

/** Body of `POST /v1/workspaces`. */
export const createWorkspaceSchema = z.object({
  name: z.string().trim().min(1).max(100),
  allowed_origins: z.array(originSchema).max(50).optional(),
  settings: settingsSchema.optional(),
}).strict().openapi("CreateWorkspace", {
  example: { name: "Shop", allowed_origins: ["https://shop.example"] },
});

const updateWorkspaceSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  allowed_origins: z.array(originSchema).max(50).optional(),
  settings: settingsSchema.optional(),
}).strict().openapi("UpdateWorkspace");

const workspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  public_id: z.string(),
  allowed_origins: z.array(z.string()),
  settings: settingsSchema,
  created_at: z.string(),
}).openapi("Workspace");

const createdSchema = z.object({
  id: z.string(),
  name: z.string(),
  public_id: z.string(),
  ingest_key: z.string().openapi({ description: "Shown only here" }),
  admin_key: z.string().openapi({ description: "Shown only here" }),
  allowed_origins: z.array(z.string()),
}).openapi("WorkspaceCreated");

/** The answer to a created workspace (API.md), also printed by the CLI. */
export function workspaceCreatedJson({ workspace, ingestKey, adminKey }: WorkspaceCreated) {
  return {
    id: workspace.id,
    name: workspace.name,
    public_id: workspace.public_id,
    ingest_key: ingestKey.secret,
    admin_key: adminKey.secret,
    allowed_origins: workspace.allowed_origins,
  };
}

/** `POST /v1/workspaces`, `GET` and `PATCH /v1/workspace`. */
export function workspaceRoutes({ app, rt }: RouteDeps): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/workspaces",
    tags: ["Workspaces"],
    summary: "Create a workspace (root token); its keys are shown only in this answer",
    security: [{ bearer: [] }],
    request: { body: jsonBody(createWorkspaceSchema) },
    responses: {
      201: jsonResponse("Created", createdSchema),
      ...problems(400, 401, 403, 413, 415),
    },
  });
  app.post("/v1/workspaces", requireRootToken(rt), async (c) => {
    const input = await parseJsonBody(c, createWorkspaceSchema);
    const created = await rt.workspaces.create(input);
    return c.json(workspaceCreatedJson(created), 201);
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/workspace",
    tags: ["Workspaces"],
    summary: "The workspace of the calling key",
    security: [{ bearer: [] }],
    responses: { 200: jsonResponse("The workspace", workspaceSchema), ...problems(401, 403) },
  });
  app.get("/v1/workspace", requireKey(rt, "read"), (c) => c.json(c.get("workspace")));

  app.openAPIRegistry.registerPath({
    method: "patch",
    path: "/v1/workspace",
    tags: ["Workspaces"],
    summary: "Change the name, allowed origins or settings (dedup window, retention, rate limits)",
    security: [{ bearer: [] }],
    request: { body: jsonBody(updateWorkspaceSchema) },
    responses: { 200: jsonResponse("Updated", workspaceSchema), ...problems(400, 401, 403) },
  });
  app.patch("/v1/workspace", requireKey(rt, "admin"), async (c) => {
    const patch = await parseJsonBody(c, updateWorkspaceSchema);
    const updated = await rt.workspaces.update(c.get("workspace").id, patch);
    return c.json(updated!);
  });
}

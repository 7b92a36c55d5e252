import { z } from "@hono/zod-openapi";
import { SCOPES } from "../../lib/auth/api_keys.ts";
import { HttpError } from "../_http_error.ts";
import { requireKey } from "../_auth.ts";
import type { RouteDeps } from "../_env.ts";
import { parseJsonBody } from "../_request.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  prefix: z.string().openapi({ description: "First characters of the secret" }),
  created_at: z.string(),
}).openapi("ApiKey");

const createApiKeySchema = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1),
}).strict().openapi("CreateApiKey", { example: { name: "Checkout server", scopes: ["ingest"] } });

/** `/v1/api-keys`: list (no secrets), create (secret once), revoke. */
export function apiKeyRoutes({ app, rt }: RouteDeps): void {
  const admin = requireKey(rt, "admin");
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/api-keys",
    tags: ["API keys"],
    summary: "List the workspace's keys (never their secrets)",
    security: [{ bearer: [] }],
    responses: {
      200: jsonResponse("Keys", z.object({ data: z.array(apiKeySchema) })),
      ...problems(401, 403),
    },
  });
  app.get("/v1/api-keys", admin, async (c) => {
    const keys = await rt.apiKeys.list(c.get("workspace").id);
    return c.json({ data: keys.map(({ workspace_id: _, ...key }) => key) });
  });

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/api-keys",
    tags: ["API keys"],
    summary: "Create a key; its secret is shown only in this answer",
    security: [{ bearer: [] }],
    request: { body: jsonBody(createApiKeySchema) },
    responses: {
      201: jsonResponse("Created", apiKeySchema.extend({ secret: z.string() })),
      ...problems(400, 401, 403),
    },
  });
  app.post("/v1/api-keys", admin, async (c) => {
    const input = await parseJsonBody(c, createApiKeySchema);
    const { record, secret } = await rt.apiKeys.create(c.get("workspace").id, input);
    const { workspace_id: _, ...key } = record;
    return c.json({ ...key, secret }, 201);
  });

  app.openAPIRegistry.registerPath({
    method: "delete",
    path: "/v1/api-keys/{id}",
    tags: ["API keys"],
    summary: "Revoke a key; it stops working within seconds",
    security: [{ bearer: [] }],
    request: { params: z.object({ id: z.string() }) },
    responses: { 204: { description: "Revoked" }, ...problems(401, 403, 404) },
  });
  app.delete("/v1/api-keys/:id", admin, async (c) => {
    const revoked = await rt.apiKeys.revoke(c.get("workspace").id, c.req.param("id"));
    if (!revoked) {
      throw new HttpError(404, `No API key "${c.req.param("id").slice(0, 64)}" in this workspace`);
    }
    return c.body(null, 204);
  });
}

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  type ApiKeyRecord,
  apiKeySchema,
  LastAdminKeyError,
  SCOPES,
} from "../../lib/auth/api_keys.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems } from "../_schemas.ts";

const createApiKeySchema = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1),
}).strict().openapi("CreateApiKey", { example: { name: "Checkout server", scopes: ["ingest"] } });

const createdApiKeySchema = apiKeySchema.extend({
  secret: z.string().openapi({ description: "The key itself (sk_…), shown only here" }),
}).openapi("ApiKeyCreated");

const tags: [string] = ["API keys"];

/** A key as the API shows it: its workspace left out. */
function shownKey({ workspace_id: _, ...key }: ApiKeyRecord): z.output<typeof apiKeySchema> {
  return key;
}

/** Revoking the last admin key is well-formed but cannot be done: 422. */
function lastAdminIs422(error: unknown): never {
  if (error instanceof LastAdminKeyError) throw new HttpError(422, error.message);
  throw error;
}

/** `/v1/api-keys`: list (no secrets), create (secret once), revoke. */
export function apiKeyRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/api-keys",
      operationId: "listApiKeys",
      scope: "admin",
      tags,
      summary: "List the workspace's keys (never their secrets)",
      request: {},
      responses: { 200: jsonResponse("Keys", z.object({ data: z.array(apiKeySchema) })) },
    }),
    async (c) => {
      const keys = await rt.apiKeys.list(c.get("workspace").id);
      return c.json({ data: keys.map(shownKey) }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/api-keys",
      operationId: "createApiKey",
      scope: "admin",
      tags,
      summary: "Create a key; its secret is shown only in this answer",
      request: { body: jsonBody(createApiKeySchema) },
      responses: { 201: jsonResponse("Created", createdApiKeySchema), ...problems(400, 413, 415) },
    }),
    async (c) => {
      const { record, secret } = await rt.apiKeys.create(
        c.get("workspace").id,
        c.req.valid("json"),
      );
      return c.json({ ...shownKey(record), secret }, 201);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "delete",
      path: "/v1/api-keys/{id}",
      operationId: "revokeApiKey",
      scope: "admin",
      tags,
      summary: "Revoke a key; it stops working within seconds",
      description:
        "The workspace's last admin key cannot be revoked (422): create another admin key first.",
      request: { params: z.object({ id: pathId() }) },
      responses: { 204: { description: "Revoked" }, ...problems(404, 422) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const revoked = await rt.apiKeys.revoke(c.get("workspace").id, id).catch(lastAdminIs422);
      if (!revoked) throw new HttpError(404, `No API key "${id}" in this workspace`);
      return c.body(null, 204);
    },
  );
  return app;
}

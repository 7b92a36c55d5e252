import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  apiKeySchema,
  LastAdminKeyError,
  type ListedApiKey,
  SCOPES,
} from "../../lib/auth/api_keys.ts";
import { parseDuration } from "../../lib/duration.ts";
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

const rotatedApiKeySchema = createdApiKeySchema.extend({
  previous_expires_at: z.string().openapi({
    description: "Until when the replaced secret still works (now, when `overlap` is 0s)",
  }),
}).openapi("ApiKeyRotated");

/** Longest overlap a rotation may give the old secret. */
const MAX_OVERLAP_MS = 7 * 86_400_000;
/** The overlap when none is asked for. */
const DEFAULT_OVERLAP = "24h";

const rotateQuerySchema = z.object({
  overlap: z.string().default(DEFAULT_OVERLAP).transform((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
    if (ms > MAX_OVERLAP_MS) {
      ctx.addIssue({ code: "custom", message: `"${text}" is longer than 7d, the longest overlap` });
      return z.NEVER;
    }
    return ms;
  }).openapi({
    description:
      "How long the old secret keeps working: `0s` to `7d` (`30m`, `24h`, …), default 24h",
    example: "24h",
  }),
});

const tags: [string] = ["API keys"];

/** A key as the API shows it: its workspace left out, and an overlap only while it runs. */
function shownKey(
  { workspace_id: _, expires_at: __, previous_expires_at, ...key }: ListedApiKey,
): z.output<typeof apiKeySchema> {
  const running = previous_expires_at !== undefined && Date.parse(previous_expires_at) > Date.now();
  return running ? { ...key, previous_expires_at } : key;
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
      summary: "List the workspace's keys (never their secrets), with when each was last used",
      description:
        "`last_used_at` is when the key last authenticated a request (events, Segment, the conversion hook or this API). Uses are noted in memory and written at most every 5 minutes per key, so it may be up to 5 minutes behind; null when the key was never used.",
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
      return c.json({ ...shownKey({ ...record, last_used_at: null }), secret }, 201);
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

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/api-keys/{id}/rotate",
      operationId: "rotateApiKey",
      scope: "admin",
      tags,
      summary: "Give a key a new secret; the old one keeps working for the overlap",
      description:
        "The new secret is shown only in this answer. The old secret keeps working until `previous_expires_at` (`?overlap=`, default 24h, at most 7d; `0s` ends it at once); a secret replaced by an earlier rotation stops at once. The key keeps its id, name and scopes.",
      request: { params: z.object({ id: pathId() }), query: rotateQuerySchema },
      responses: { 200: jsonResponse("Rotated", rotatedApiKeySchema), ...problems(400, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { overlap } = c.req.valid("query");
      const wsId = c.get("workspace").id;
      const rotated = await rt.apiKeys.rotate(wsId, id, overlap);
      if (!rotated) throw new HttpError(404, `No API key "${id}" in this workspace`);
      const used = (await rt.apiKeys.usage.lastUsed(wsId, [id])).get(id);
      return c.json({
        ...shownKey({
          ...rotated.record,
          last_used_at: used === undefined ? null : new Date(used).toISOString(),
        }),
        secret: rotated.secret,
        previous_expires_at: new Date(rotated.previous_expires_at).toISOString(),
      }, 200);
    },
  );
  return app;
}

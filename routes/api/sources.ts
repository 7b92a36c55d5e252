import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Runtime } from "../../lib/runtime.ts";
import { SOURCE_TYPES, sourcePlatformFor } from "../../lib/sources/mod.ts";
import {
  publicSource,
  publicSourceSchema,
  type Source,
  SOURCE_ID_LENGTH,
} from "../../lib/sources/store.ts";
import type { AppEnv } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, pathId, problems } from "../_schemas.ts";

const name = z.string().trim().min(1).max(100);
const signingSecret = z.string().trim().min(8, "must be at least 8 characters").max(512)
  .openapi({
    description:
      "The secret the platform signs its webhooks with: Shopify's app client secret (or the one shown under Settings → Notifications → Webhooks), the WooCommerce webhook's Secret, Stripe's endpoint signing secret (whsec_…). Stored encrypted; never returned",
  });

const createSchema = z.object({
  type: z.enum(SOURCE_TYPES),
  name,
  signing_secret: signingSecret,
}).strict().superRefine((input, ctx) => {
  const problem = sourcePlatformFor(input.type)?.secretProblem(input.signing_secret);
  if (problem) ctx.addIssue({ code: "custom", path: ["signing_secret"], message: problem });
}).openapi("CreateSource", {
  example: { type: "shopify", name: "Shop", signing_secret: "a3f1…" },
});

const updateSchema = z.object({
  name: name.optional(),
  signing_secret: signingSecret.optional().openapi({
    description: "A new signing secret, replacing the stored one at once",
  }),
}).strict().openapi("UpdateSource");

const sourceParams = z.object({ id: pathId(SOURCE_ID_LENGTH) });
const tags: [string] = ["Sources"];

/** The URL Sluice is reached at: SLUICE_PUBLIC_URL, else the origin this request came to. */
function baseUrlOf(c: Context<AppEnv>, rt: Runtime): string {
  return rt.config.publicUrl ?? new URL(c.req.url).origin;
}

function noSource(id: string): HttpError {
  return new HttpError(404, `No source "${id}" in this workspace`);
}

async function sourceOr404(rt: Runtime, wsId: string, id: string): Promise<Source> {
  const source = await rt.sources.get(wsId, id);
  if (!source) throw noSource(id);
  return source;
}

/** `/v1/sources`: shop and payment platforms whose order webhooks become purchases. */
export function sourceRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/sources",
      operationId: "createSource",
      scope: "admin",
      tags,
      summary:
        "Connect a Shopify shop, WooCommerce store or Stripe account; answers the URL to give it",
      description:
        "The platform posts its order webhooks to `url`; each is verified with the platform's own signature under `signing_secret` (encrypted at rest, never returned) and paid orders become purchases whose dedup key is the order id.",
      request: { body: jsonBody(createSchema) },
      responses: {
        201: jsonResponse(
          "Created; paste `url` into the platform's webhook settings",
          publicSourceSchema,
        ),
        ...problems(400, 413, 415),
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const source = await rt.sources.create(c.get("workspace").id, {
        type: input.type,
        name: input.name,
        secret: input.signing_secret,
      });
      return c.json(publicSource(source, baseUrlOf(c, rt)), 201);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/sources",
      operationId: "listSources",
      scope: "read",
      tags,
      summary: "List sources (never with their signing secrets)",
      request: {},
      responses: {
        200: jsonResponse("Sources", z.object({ data: z.array(publicSourceSchema) })),
      },
    }),
    async (c) => {
      const base = baseUrlOf(c, rt);
      const list = await rt.sources.list(c.get("workspace").id);
      return c.json({ data: list.map((source) => publicSource(source, base)) }, 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/sources/{id}",
      operationId: "getSource",
      scope: "read",
      tags,
      summary: "One source",
      request: { params: sourceParams },
      responses: { 200: jsonResponse("Source", publicSourceSchema), ...problems(404) },
    }),
    async (c) => {
      const source = await sourceOr404(rt, c.get("workspace").id, c.req.valid("param").id);
      return c.json(publicSource(source, baseUrlOf(c, rt)), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "patch",
      path: "/v1/sources/{id}",
      operationId: "updateSource",
      scope: "admin",
      tags,
      summary: "Rename a source or replace its signing secret",
      request: { params: sourceParams, body: jsonBody(updateSchema) },
      responses: {
        200: jsonResponse("Updated", publicSourceSchema),
        ...problems(400, 404, 413, 415),
      },
    }),
    async (c) => {
      const wsId = c.get("workspace").id;
      const source = await sourceOr404(rt, wsId, c.req.valid("param").id);
      const patch = c.req.valid("json");
      const problem = patch.signing_secret === undefined
        ? undefined
        : sourcePlatformFor(source.type)?.secretProblem(patch.signing_secret);
      if (problem) {
        throw new HttpError(400, "The request body has invalid fields", {
          errors: [{ path: "signing_secret", message: problem }],
        });
      }
      const updated = await rt.sources.update(wsId, source.id, {
        name: patch.name,
        secret: patch.signing_secret,
      });
      if (!updated) throw noSource(source.id);
      return c.json(publicSource(updated, baseUrlOf(c, rt)), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      method: "delete",
      path: "/v1/sources/{id}",
      operationId: "deleteSource",
      scope: "admin",
      tags,
      summary: "Delete a source; its URL answers 404 from then on",
      request: { params: sourceParams },
      responses: { 204: { description: "Deleted" }, ...problems(404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await rt.sources.delete(c.get("workspace").id, id))) throw noSource(id);
      return c.body(null, 204);
    },
  );
  return app;
}

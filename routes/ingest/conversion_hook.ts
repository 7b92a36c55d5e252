import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { readBody } from "../_body.ts";
import {
  conversionHookSchema,
  conversionHookToNative,
} from "../../lib/ingest/dialects/conversion_hook.ts";
import { HttpError } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { authenticateSecret } from "../_auth.ts";
import { serverContext } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { ingestResponse, MANAGEMENT_BODY_LIMIT } from "../_request.ts";
import { contentEncodingHeader, retryingSenderResponses } from "./_openapi.ts";

const hookKeyQuery = z.object({
  k: z.string().openapi({ description: "The ingest key (sk_…)", example: "sk_…" }),
});

/**
 * `GET|POST /collect/hook?k=KEY`: one flat conversion from a CRM, form tool, shop or no-code
 * hook. The dedup key is `event_id`, else `order_id`; a repeat answers 200 `duplicate: true`.
 */
export function conversionHookRoutes({ app, rt }: RouteDeps): void {
  for (const method of ["get", "post"] as const) {
    app.openAPIRegistry.registerPath({
      method,
      path: "/collect/hook",
      operationId: method === "get" ? "ingestHookQuery" : "ingestHookBody",
      tags: ["Ingestion"],
      summary: method === "get"
        ? "Send one flat conversion as query parameters"
        : "Send one flat conversion as JSON or a form",
      description:
        "The ingest key goes in `k`. Known fields (event, value, currency, email, phoneNumber, firstName, lastName, order_id, …) are mapped; the rest is kept in properties. The dedup key is `event_id` or, without one, `order_id`, so a retried shop webhook is one purchase: a repeat within the dedup window answers 200 with `duplicate: true`.",
      request: method === "get"
        ? { query: conversionHookSchema.partial().extend(hookKeyQuery.shape) }
        : {
          query: hookKeyQuery,
          headers: contentEncodingHeader,
          body: {
            required: true,
            content: {
              "application/json": { schema: conversionHookSchema },
              "application/x-www-form-urlencoded": { schema: conversionHookSchema },
            },
          },
        },
      responses: retryingSenderResponses,
    });
  }
  app.get("/collect/hook", (c) => ingestConversionHook(c, rt, { ...c.req.query() }));
  app.post("/collect/hook", async (c) => {
    const body = await readBody(c.req.raw, { limit: MANAGEMENT_BODY_LIMIT, allowForm: true });
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new HttpError(400, "The request body must be one flat JSON object");
    }
    return ingestConversionHook(c, rt, { ...c.req.query(), ...body as Record<string, unknown> });
  });
}

async function ingestConversionHook(
  c: Context<AppEnv>,
  rt: Runtime,
  flat: Record<string, unknown>,
): Promise<Response> {
  const { workspace } = await authenticateSecret(rt, c.req.query("k"), "ingest");
  const results = await rt.ingestor.ingest(
    workspace,
    [conversionHookToNative(flat)],
    serverContext(c, workspace, "hook", "crm"),
  );
  return ingestResponse(c, results, { duplicateStatus: 200 });
}

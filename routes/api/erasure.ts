import { OpenAPIHono } from "@hono/zod-openapi";
import { erasureReportSchema } from "../../lib/erasure/audit.ts";
import { erasureRequestSchema } from "../../lib/erasure/person.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { apiRoute } from "../_route.ts";
import { jsonBody, jsonResponse, problems } from "../_schemas.ts";

/** `POST /v1/erasure`: the GDPR erasure of one person's data in the workspace. */
export function erasureRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>().openapi(
    apiRoute(rt, {
      method: "post",
      path: "/v1/erasure",
      operationId: "erasePerson",
      scope: "admin",
      tags: ["Operations"],
      summary: "Erase one person's events, deliveries and identity links",
      description:
        "Name the person by `email`, `phone` (E.164), `user_id` or `anonymous_id` (several are matched as one person). Every stored event of the workspace whose user data matches is removed with its event-id entry, hand-off record, delivery rows and webhook messages; identity links go through the registered hooks. Other people's data is untouched. The answer counts what was removed; an audit record keeps the identifiers only as salted hashes. The search reads every stored event of the workspace, so it takes seconds per hundred thousand events.",
      request: { body: jsonBody(erasureRequestSchema) },
      responses: {
        200: jsonResponse("What was removed", erasureReportSchema),
        ...problems(400, 413, 415),
      },
    }),
    async (c) => {
      const report = await rt.eraser.erase(c.get("workspace").id, c.req.valid("json"), {
        requestedBy: c.get("apiKey").id,
      });
      return c.json(report, 200);
    },
  );
}

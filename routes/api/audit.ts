import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Runtime } from "../../lib/runtime.ts";
import type { AppEnv } from "../_env.ts";
import { withCursor } from "../_request.ts";
import { apiRoute } from "../_route.ts";
import { jsonResponse, problems } from "../_schemas.ts";

const auditEntrySchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.object({
    kind: z.enum(["account", "api_key", "system"]),
    id: z.string().openapi({ description: "`acct_…` or `key_…`" }),
  }),
  action: z.string().openapi({ example: "platform.update" }),
  target: z.string().optional().openapi({ description: "The id of what changed" }),
  note: z.string().optional(),
}).openapi("AuditEntry");

const auditPageSchema = z.object({
  data: z.array(auditEntrySchema),
  next_cursor: z.string().nullable(),
}).openapi("AuditPage");

/** `GET /v1/audit`: who changed what in the workspace, newest first (the dashboard's audit page). */
export function auditRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    apiRoute(rt, {
      method: "get",
      path: "/v1/audit",
      operationId: "listAuditEntries",
      scope: "read",
      tags: ["Audit"],
      summary: "Who changed what (destinations, rules, keys, webhooks, members, replays)",
      description: "Entries name ids, never payloads, emails or secrets.",
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.string().max(500).optional(),
        }),
      },
      responses: { 200: jsonResponse("A page of entries", auditPageSchema), ...problems(400) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const page = await withCursor(() =>
        rt.audit.list(c.get("workspace").id, { limit: q.limit, cursor: q.cursor })
      );
      return c.json(page, 200);
    },
  );
  return app;
}

import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { isbot } from "isbot";
import { readBody } from "../_body.ts";
import { collectToNative } from "../../lib/ingest/dialects/collect.ts";
import { nativeEventSchema } from "../../core/event.ts";
import { HttpError, httpErrorOf } from "../_http_error.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { isOriginAllowed, type Workspace } from "../../lib/workspaces.ts";
import { browserContext, clientIpOf } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { eventsOf, INGEST_BODY_LIMIT, ingestResponse } from "../_request.ts";
import { ingestResponses, problems } from "../_schemas.ts";
import { contentEncodingHeader } from "./_openapi.ts";

const PREFLIGHT_MAX_AGE_S = "600";

const browserBodySchema = z.object({ public_id: z.string() }).and(
  z.union([nativeEventSchema, z.object({ events: z.array(nativeEventSchema).min(1).max(500) })]),
).openapi("BrowserEvents");

const collectBodySchema = z.object({
  public_id: z.string(),
  events: z.array(z.record(z.string(), z.unknown())).min(1).max(500),
}).openapi("CollectBatch", {
  example: {
    public_id: "pk_…",
    events: [{ event: "PageView", eventId: "pv-1", url: "https://shop.example/?fbclid=IwAR" }],
  },
});

/**
 * Browser ingestion: `POST /v1/browser/events` (native) and `POST /collect` (Trackrift-style
 * batch). Credential: the public id in the body and an `Origin` on the workspace's
 * allowlist. CORS is strict: only allowed origins are echoed, never `*`.
 */
export function browserRoutes({ app, rt }: RouteDeps): void {
  for (
    const [path, schema, summary] of [
      ["/v1/browser/events", browserBodySchema, "Send browser events (public id + allowed Origin)"],
      ["/collect", collectBodySchema, "Send a browser batch in the collect dialect"],
    ] as const
  ) {
    app.openAPIRegistry.registerPath({
      method: "post",
      path,
      operationId: path === "/collect" ? "ingestCollect" : "ingestBrowserEvents",
      tags: ["Ingestion"],
      summary,
      description:
        "Accepts application/json and text/plain (sendBeacon), compressed or not (Content-Encoding gzip, deflate or br; 512 KiB decoded). Events from bots are dropped quietly (202). Rate limited per workspace and per client IP. The client IP and user agent come from the connection (X-Forwarded-For only from trusted proxies); `client_ip` and `user_agent` in the body are ignored.",
      request: {
        headers: contentEncodingHeader,
        body: { required: true, content: { "application/json": { schema } } },
      },
      responses: ingestResponses,
    });
    app.openAPIRegistry.registerPath({
      method: "options",
      path,
      operationId: path === "/collect" ? "preflightCollect" : "preflightBrowserEvents",
      tags: ["Ingestion"],
      summary: "CORS preflight: allowed only for origins on some workspace's allowlist",
      responses: { 204: { description: "Allowed" }, ...problems(403) },
    });
    app.options(path, async (c) => {
      const origin = c.req.header("origin");
      if (!origin || !(await rt.workspaces.isOriginAllowedAnywhere(origin))) {
        throw new HttpError(403, `Origin "${(origin ?? "(none)").slice(0, 256)}" is not allowed`);
      }
      return c.body(null, 204, {
        ...corsHeaders(origin),
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": PREFLIGHT_MAX_AGE_S,
      });
    });
  }

  app.post("/v1/browser/events", (c) => ingestBrowser(c, rt, "browser"));
  app.post("/collect", (c) => ingestBrowser(c, rt, "collect"));
}

async function ingestBrowser(
  c: Context<AppEnv>,
  rt: Runtime,
  dialect: "browser" | "collect",
): Promise<Response> {
  const body = await readBody(c.req.raw, { limit: INGEST_BODY_LIMIT, allowTextPlain: true });
  const publicId = typeof body === "object" && body !== null
    ? (body as Record<string, unknown>).public_id
    : undefined;
  if (typeof publicId !== "string" || publicId === "") {
    throw new HttpError(401, "Send the workspace's public_id in the body", {
      errors: [{ path: "public_id", message: "is required" }],
    });
  }
  const workspace = await rt.workspaces.getByPublicId(publicId);
  if (!workspace) throw new HttpError(401, `Unknown public_id "${publicId.slice(0, 64)}"`);
  c.set("workspace", workspace);
  const origin = requireAllowedOrigin(c, workspace);
  const cors = corsHeaders(origin);

  const ip = clientIpOf(c, rt) ?? "unknown";
  const perIp = rt.rateLimiter.take(
    `ip:${workspace.id}:${ip}`,
    1,
    workspace.settings.browser_rate_limit_per_minute,
  );
  if (!perIp.ok) {
    throw new HttpError(429, "Too many requests from this client", {
      headers: { ...cors, "retry-after": String(perIp.retryAfterSeconds) },
    });
  }
  const { public_id: _, ...rest } = body as Record<string, unknown>;
  const { batch, events } = eventsOf(rest);
  if (dialect === "collect" && !batch) {
    throw new HttpError(400, '"events" is required', {
      errors: [{ path: "events", message: "must be an array of events" }],
    });
  }
  const userAgent = c.req.header("user-agent") ?? "";
  if (isbot(userAgent)) {
    rt.committer.count(workspace.id, "bot_dropped", "", events.length);
    rt.metrics.botDropped.inc(events.length);
    return c.json({ success: true, dropped: events.length, reason: "bot" }, 202, cors);
  }
  const inputs = dialect === "collect" ? events.map(collectToNative) : events;
  try {
    const results = await rt.ingestor.ingest(
      workspace,
      inputs,
      browserContext(c, rt, workspace, dialect),
      batch ? "events" : undefined,
    );
    return ingestResponse(c, results, { batch, headers: cors });
  } catch (error) {
    const known = httpErrorOf(error);
    if (!known) throw error;
    throw new HttpError(known.status, known.message, {
      errors: known.errors,
      headers: { ...known.headers, ...cors },
    });
  }
}

function requireAllowedOrigin(c: Context<AppEnv>, workspace: Workspace): string {
  const origin = c.req.header("origin");
  if (!origin) throw new HttpError(403, "Browser endpoints need an Origin header");
  if (!isOriginAllowed(workspace.allowed_origins, origin)) {
    throw new HttpError(403, `Origin "${origin.slice(0, 256)}" is not allowed for this workspace`);
  }
  return origin;
}

function corsHeaders(origin: string): Record<string, string> {
  return { "access-control-allow-origin": origin, vary: "Origin" };
}

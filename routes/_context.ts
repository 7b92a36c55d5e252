import type { Context } from "hono";
import type { Dialect } from "../core/event.ts";
import type { RequestContext } from "../lib/ingest/event_input.ts";
import { parseCookieHeader } from "../lib/ingest/enrich.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { Workspace } from "../lib/workspaces.ts";
import type { AppEnv } from "./_env.ts";

/**
 * Context for events sent by a server: the request's IP and agent are not the user's. The
 * workspace is recorded on the request too, for its log line.
 */
export function serverContext(
  c: Context<AppEnv>,
  workspace: Workspace,
  dialect: Dialect,
  defaultSource = "server",
): RequestContext {
  c.set("workspace", workspace);
  return {
    workspaceId: workspace.id,
    dialect,
    receivedAt: Date.now(),
    traceId: c.get("traceId"),
    defaultSource,
  };
}

/** Context for events sent by the user's own browser: its IP, agent and cookies enrich them. */
export function browserContext(
  c: Context<AppEnv>,
  rt: Runtime,
  workspace: Workspace,
  dialect: Dialect,
): RequestContext {
  return {
    ...serverContext(c, workspace, dialect, "web"),
    clientIp: clientIpOf(c, rt),
    userAgent: c.req.header("user-agent"),
    cookies: parseCookieHeader(c.req.header("cookie")),
  };
}

/** The client IP, honouring forwarding headers only from trusted proxies. */
export function clientIpOf(c: Context<AppEnv>, rt: Runtime): string | undefined {
  return rt.clientIp.resolve(c.env?.remoteAddr?.hostname, c.req.raw.headers);
}

/**
 * The dashboard's guards: the session cookie, the CSRF check on every state-changing
 * request, and roles.
 *
 * CSRF: a request that is not GET or HEAD must carry the session's token, in the form field
 * `_csrf` or the `x-csrf-token` header, and its `Origin` (or, without one, its `Referer`)
 * must be this host. Sign-in, which has no session yet, is covered by the Origin check and
 * a double-submit cookie (login.tsx).
 *
 * Creating workspaces takes the instance-owner capability (`Account.instance_owner`: the
 * account bootstrapped from `SLUICE_ADMIN_EMAIL`), not a role in a workspace.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type Role, roleAllows } from "../../lib/auth/accounts.ts";
import { csrfMatches, SESSION_TTL_MS } from "../../lib/auth/sessions.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage } from "./_render.tsx";

/** The session cookie's name. */
export const SESSION_COOKIE = "sluice_session";

/** Whether the request came over https (directly, or as a proxy says). */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}

/** Sets the session cookie: HttpOnly, SameSite=Lax, Secure on https. */
export function setSessionCookie(c: Context, id: string): void {
  setCookie(c, SESSION_COOKIE, id, {
    httpOnly: true,
    secure: isHttps(c),
    sameSite: "Lax",
    path: "/",
    maxAge: SESSION_TTL_MS / 1000,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: isHttps(c) });
}

/** Whether the request's Origin (or Referer) is this host; a request with neither passes. */
export function sameOrigin(c: Context): boolean {
  const given = c.req.header("origin") ?? c.req.header("referer");
  if (!given || given === "null") return given === undefined;
  const host = c.req.header("x-forwarded-host")?.split(",")[0]?.trim() ?? c.req.header("host") ??
    new URL(c.req.url).host;
  try {
    return new URL(given).host === host;
  } catch {
    return false;
  }
}

/**
 * Requires a signed-in account: loads the session, the account, the workspaces it may open
 * and the one shown. A page without one redirects to /login; anything else answers 401.
 * An account with no workspace is refused, unless `allowNoWorkspace` (creating the first
 * one): then `workspaces` is empty and `workspace` and `role` are not set.
 */
export function requireSession(
  rt: Runtime,
  options: { allowNoWorkspace?: boolean } = {},
): MiddlewareHandler<DashboardEnv> {
  return async function dashboardSession(c, next) {
    const id = getCookie(c, SESSION_COOKIE);
    const session = await rt.sessions.get(id);
    const account = session ? await rt.accounts.get(session.account_id) : null;
    if (!id || !session || !account) {
      const accept = c.req.header("accept") ?? "";
      if (c.req.method === "GET" && !/json|event-stream/.test(accept)) {
        const next = c.req.path + (new URL(c.req.url).search ?? "");
        return c.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
      }
      return errorPage(c, 401, "Sign in first", "Your session has ended. Sign in again.");
    }
    const workspaces = await rt.accounts.workspacesOf(account);
    const shown = workspaces.find((w) => w.workspace.id === session.workspace_id) ??
      workspaces[0];
    if (!shown && !options.allowNoWorkspace) {
      return account.instance_owner
        ? errorPage(
          c,
          403,
          "No workspace yet",
          'No workspace exists yet. Create the first one here (or with `deno task sluice workspace create --name "My shop"`, or POST /v1/workspaces with the root token).',
          {},
          { href: "/workspaces/new", label: "Create a workspace" },
        )
        : errorPage(
          c,
          403,
          "No workspace yet",
          "This account belongs to no workspace. Ask an owner for an invitation.",
        );
    }
    c.set("session", session);
    c.set("sessionId", id);
    c.set("account", account);
    c.set("workspaces", workspaces);
    if (shown) {
      c.set("workspace", shown.workspace);
      c.set("role", shown.role);
    }
    await next();
  };
}

/** Refuses a state-changing request without the session's CSRF token or from another origin. */
export function requireCsrf(): MiddlewareHandler<DashboardEnv> {
  return async function csrfGuard(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    if (!sameOrigin(c)) {
      return errorPage(c, 403, "Refused", "This request came from another site.");
    }
    let token = c.req.header("x-csrf-token");
    if (!token && /form/.test(c.req.header("content-type") ?? "")) {
      const field = (await c.req.parseBody())["_csrf"];
      token = typeof field === "string" ? field : undefined;
    }
    if (!csrfMatches(c.get("session"), token)) {
      return errorPage(
        c,
        403,
        "Refused",
        "The form was missing its security token or it has expired. Reload the page and try again.",
      );
    }
    await next();
  };
}

/** Requires the instance-owner capability (the account bootstrapped from SLUICE_ADMIN_EMAIL). */
export function requireInstanceOwner(): MiddlewareHandler<DashboardEnv> {
  return async function instanceOwnerGuard(c, next) {
    if (!c.get("account").instance_owner) {
      return errorPage(
        c,
        403,
        "Not allowed",
        "Only the instance owner creates workspaces. Ask whoever runs this Sluice.",
      );
    }
    await next();
  };
}

/** Requires at least `role` in the workspace shown. */
export function requireRole(role: Role): MiddlewareHandler<DashboardEnv> {
  return async function roleGuard(c, next) {
    if (!roleAllows(c.get("role"), role)) {
      return errorPage(c, 403, "Not allowed", `This needs the ${role} role in this workspace.`);
    }
    await next();
  };
}

import type { MiddlewareHandler } from "hono";
import { hasScope, type Scope } from "../lib/auth/api_keys.ts";
import { constantTimeEqual } from "../lib/crypto.ts";
import { HttpError } from "./_http_error.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { AppEnv } from "./_env.ts";

/** The secret of `Authorization: Bearer <secret>`, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** The user name of `Authorization: Basic …` (Segment sends its write key there). */
export function basicUser(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  try {
    return atob(match[1]!).split(":")[0];
  } catch {
    return undefined;
  }
}

/** Resolves a secret to its workspace, or answers 401/403. */
export async function authenticateSecret(
  rt: Runtime,
  secret: string | undefined,
  scope: Scope,
) {
  if (!secret) throw new HttpError(401, "Send an API key: Authorization: Bearer sk_…");
  const key = await rt.apiKeys.authenticate(secret);
  if (!key) throw new HttpError(401, "The API key is invalid or revoked");
  if (!hasScope(key, scope)) {
    throw new HttpError(403, `The API key lacks the "${scope}" scope`);
  }
  const workspace = await rt.workspaces.get(key.workspace_id);
  if (!workspace) throw new HttpError(401, "The API key's workspace no longer exists");
  return { key, workspace };
}

/** Requires a Bearer API key with `scope`; sets `workspace` and `apiKey`. */
export function requireKey(rt: Runtime, scope: Scope): MiddlewareHandler<AppEnv> {
  return async function requireApiKey(c, next) {
    const { key, workspace } = await authenticateSecret(
      rt,
      bearerToken(c.req.header("authorization")),
      scope,
    );
    c.set("apiKey", key);
    c.set("workspace", workspace);
    await next();
  };
}

/** Requires the instance root token (`SLUICE_ROOT_TOKEN`). */
export function requireRootToken(rt: Runtime): MiddlewareHandler<AppEnv> {
  return async function requireRoot(c, next) {
    const expected = rt.config.rootToken;
    if (!expected) {
      throw new HttpError(
        403,
        "SLUICE_ROOT_TOKEN is not set on this instance; create workspaces with `deno task sluice workspace create`",
      );
    }
    const given = bearerToken(c.req.header("authorization"));
    if (!given) throw new HttpError(401, "Send the root token: Authorization: Bearer <token>");
    if (!constantTimeEqual(given, expected)) throw new HttpError(401, "The root token is invalid");
    await next();
  };
}

import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Scope } from "../lib/auth/api_keys.ts";
import type { Runtime } from "../lib/runtime.ts";
import { requireKey, requireRootToken } from "./_auth.ts";
import type { AppEnv } from "./_env.ts";
import { readJsonBody } from "./_request.ts";
import { problemAnswer } from "./_schemas.ts";

/** Who may call a management route: an API key with this scope, or the instance root token. */
export type RouteScope = Scope | "root";

/** What a route may validate: path parameters, query and JSON body. */
export type RouteRequest = NonNullable<RouteConfig["request"]>;

/** A route's answers by status. */
export type RouteResponses = RouteConfig["responses"];

/** Everything one route declares, once: its OpenAPI entry, its validation and its answers. */
export interface RouteSpec<P extends string, Req extends RouteRequest, Res extends RouteResponses> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: `/v1/rules/{id}`. */
  path: P;
  /** camelCase and unique: the name generated clients give the call. */
  operationId: string;
  tags: [string, ...string[]];
  summary: string;
  description?: string;
  /** What is validated before the handler runs; `{}` when nothing is. */
  request: Req;
  responses: Res;
}

/** A management route: what every route declares, plus who may call it. */
export interface ApiRouteSpec<
  P extends string,
  Req extends RouteRequest,
  Res extends RouteResponses,
> extends RouteSpec<P, Req, Res> {
  scope: RouteScope;
}

/** Every management route answers a missing or wrong credential with these. */
const ACCESS_PROBLEMS = { 401: problemAnswer(401), 403: problemAnswer(403) };

/**
 * Declares a management route for `app.openapi(route, handler)`: its parameters, query and
 * JSON body are validated (failures answer through the app's `validationProblem` hook), its
 * `scope` is required before anything else runs, and the OpenAPI entry carries the
 * security requirement and the 401/403 problems.
 */
export function apiRoute<
  const P extends string,
  const Req extends RouteRequest,
  const Res extends RouteResponses,
>(rt: Runtime, spec: ApiRouteSpec<P, Req, Res>) {
  const { scope, ...route } = spec;
  const middleware: MiddlewareHandler<AppEnv>[] = [
    scope === "root" ? requireRootToken(rt) : requireKey(rt, scope),
  ];
  if (spec.request.body) middleware.push(readJsonBody);
  return createRoute({
    ...route,
    responses: { ...spec.responses, ...ACCESS_PROBLEMS },
    security: [{ bearer: [] }],
    middleware,
  });
}

/** Declares a route anyone may call (no credential), such as the health check. */
export function publicRoute<
  const P extends string,
  const Res extends RouteResponses,
>(spec: Omit<RouteSpec<P, RouteRequest, Res>, "request">) {
  return createRoute(spec);
}

import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiKeyRecord } from "../lib/auth/api_keys.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { Workspace } from "../lib/workspaces.ts";

/** Shared request state, declared once. */
export interface AppEnv {
  Bindings: { remoteAddr?: Deno.NetAddr };
  Variables: {
    workspace: Workspace;
    apiKey: ApiKeyRecord;
    traceId: string;
  };
}

/** The application type every route module registers on. */
export type App = OpenAPIHono<AppEnv>;

/** What route modules receive. */
export interface RouteDeps {
  app: App;
  rt: Runtime;
}

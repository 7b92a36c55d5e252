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
    /** What became of the events of an ingest request, for its metrics. */
    ingested: IngestCounts;
  };
}

/** Events of one ingest request by what became of them. */
export interface IngestCounts {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** The application type every route module registers on. */
export type App = OpenAPIHono<AppEnv>;

/** What route modules receive. */
export interface RouteDeps {
  app: App;
  rt: Runtime;
}

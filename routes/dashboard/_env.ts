import type { Hono } from "hono";
import type { Account, Role, WorkspaceAccess } from "../../lib/auth/accounts.ts";
import type { Session } from "../../lib/auth/sessions.ts";
import type { Workspace } from "../../lib/workspaces.ts";
import type { AppEnv } from "../_env.ts";

/** Request state of a signed-in dashboard page, declared once. */
export interface DashboardEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & {
    account: Account;
    session: Session;
    /** The cookie value (the session's id). */
    sessionId: string;
    /** Every workspace the account may open. */
    workspaces: WorkspaceAccess[];
    /** The one shown. */
    workspace: Workspace;
    role: Role;
  };
}

/** A dashboard page module's app. */
export type DashboardApp = Hono<DashboardEnv>;

/**
 * The dashboard: server-rendered pages (one module per page) with islands, at `/`.
 * Every page but sign-in and invitations needs a session; every state-changing request
 * passes the CSRF guard (_session.ts).
 *
 * @module
 */
import { Hono } from "hono";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage } from "./_render.tsx";
import { requireCsrf, requireSession } from "./_session.ts";
import { auditRoutes } from "./audit.tsx";
import { destinationsRoutes } from "./destinations.tsx";
import { eventRoutes } from "./event.tsx";
import { eventsRoutes } from "./events.tsx";
import { failuresRoutes } from "./failures.tsx";
import { inviteRoutes } from "./invite.tsx";
import { keysRoutes } from "./keys.tsx";
import { liveRoutes } from "./live.tsx";
import { errorText, log } from "../../lib/log.ts";
import { loginRoutes } from "./login.tsx";
import { peopleRoutes } from "./people.tsx";
import { settingsRoutes } from "./settings.tsx";
import { overviewRoutes } from "./overview.tsx";
import { qualityRoutes } from "./quality.tsx";
import { rulesRoutes } from "./rules.tsx";
import { webhooksRoutes } from "./webhooks.tsx";
import { workspacesRoutes } from "./workspaces.tsx";
import { staticRoutes } from "./static.ts";

/** Paths of signed-in pages (the session guard runs only on these). */
const PAGE_PATHS = [
  "/",
  "/events",
  "/search",
  "/live",
  "/people",
  "/audit",
  "/failures",
  "/quality",
  "/destinations",
  "/settings",
  "/rules",
  "/webhooks",
  "/keys",
];

/** Builds the dashboard's routes. */
export function dashboardRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.route("/", staticRoutes());
  app.route("/", loginRoutes(rt));
  app.route("/", inviteRoutes(rt));
  app.route("/", workspacesRoutes(rt));
  for (const path of PAGE_PATHS) {
    app.use(path, requireSession(rt), requireCsrf());
    if (path !== "/") app.use(`${path}/*`, requireSession(rt), requireCsrf());
  }
  app.route("/", overviewRoutes(rt));
  app.route("/", eventsRoutes(rt));
  app.route("/", eventRoutes(rt));
  app.route("/", liveRoutes(rt));
  app.route("/", peopleRoutes(rt));
  app.route("/", auditRoutes(rt));
  app.route("/", failuresRoutes(rt));
  app.route("/", qualityRoutes(rt));
  app.route("/", destinationsRoutes(rt));
  app.route("/", settingsRoutes(rt));
  app.route("/", rulesRoutes(rt));
  app.route("/", webhooksRoutes(rt));
  app.route("/", keysRoutes(rt));
  app.onError((error, c) => {
    log.error("Dashboard error", {
      method: c.req.method,
      path: c.req.path,
      error: errorText(error),
    });
    return errorPage(c, 500, "Something went wrong", "The page failed to load. Try again.");
  });
  return app;
}

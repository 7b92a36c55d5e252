/** The overview: per destination, how deliveries went, and banners for what needs attention. */
import { Hono } from "hono";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

/** `GET /`. */
export function overviewRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.get("/", async (c) => {
    const destinations = await rt.destinations.list(c.get("workspace").id);
    return page(
      c,
      "Overview",
      <p>{destinations.length} destination(s) connected.</p>,
    );
  });
  return app;
}

/** The dashboard's static files: built islands (immutable, content-hashed) and the stylesheet. */
import { Hono } from "hono";
import type { DashboardEnv } from "./_env.ts";
import { pageAssets, STYLESHEET } from "./_assets.ts";

const BUILD_DIR = new URL("../../static/build/", import.meta.url);
const IMMUTABLE = "public, max-age=31536000, immutable";

/** `GET /static/build/:file` and `GET /static/dashboard.css`. */
export function staticRoutes(): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  app.get("/static/build/:file", async (c) => {
    const file = c.req.param("file");
    const manifest = (await pageAssets()).islands;
    // Only files the build listed: no path is read from the request.
    if (!manifest?.files.includes(file)) return c.notFound();
    const body = await Deno.readFile(new URL(file, BUILD_DIR));
    return c.body(body, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": IMMUTABLE,
      "x-content-type-options": "nosniff",
    });
  });

  app.get("/static/dashboard.css", async (c) => {
    const versioned = c.req.query("v") !== undefined &&
      (await pageAssets()).stylesheet.endsWith(`?v=${c.req.query("v")}`);
    return c.body(await Deno.readTextFile(STYLESHEET), 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": versioned ? IMMUTABLE : "no-cache",
    });
  });

  return app;
}

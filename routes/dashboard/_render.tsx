import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ComponentChildren, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { Assets } from "../../components/island.tsx";
import { type Chrome, Document, Layout } from "../../components/layout.tsx";
import type { DashboardEnv } from "./_env.ts";
import { pageAssets } from "./_assets.ts";

/** Headers every dashboard page carries: no caching of private pages, no framing, a CSP. */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
};

/** Renders a whole document as the response (with any cookies the handler set). */
export async function renderDocument(
  c: Context,
  tree: VNode,
  status = 200,
  headers: Record<string, string> = {},
): Promise<Response> {
  const assets = await pageAssets();
  const html = "<!doctype html>" +
    renderToString(<Assets.Provider value={assets}>{tree}</Assets.Provider>);
  return c.body(html, status as ContentfulStatusCode, { ...PAGE_HEADERS, ...headers });
}

/** The header state of a signed-in page, from the request. */
export function chromeOf(c: Context<DashboardEnv>, query?: string): Chrome {
  const workspace = c.get("workspace");
  return {
    email: c.get("account").email,
    role: c.get("role"),
    csrf: c.get("session").csrf,
    workspace: { id: workspace.id, name: workspace.name },
    workspaces: c.get("workspaces").map((w) => ({
      id: w.workspace.id,
      name: w.workspace.name,
      role: w.role,
    })),
    canCreateWorkspace: c.get("account").instance_owner,
    query,
  };
}

/** Renders a signed-in page inside the layout. */
export function page(
  c: Context<DashboardEnv>,
  title: string,
  children: ComponentChildren,
  options: { status?: number; query?: string } = {},
): Promise<Response> {
  return renderDocument(
    c,
    <Layout title={title} path={c.req.path} chrome={chromeOf(c, options.query)}>
      {children}
    </Layout>,
    options.status,
  );
}

/** A page that says what went wrong and where to go next. */
export function errorPage(
  c: Context,
  status: number,
  title: string,
  message: string,
  headers: Record<string, string> = {},
  back: { href: string; label: string } = { href: "/", label: "Back to the dashboard" },
): Promise<Response> {
  return renderDocument(
    c,
    <Document title={title}>
      <main id="main" class="narrow">
        <h1>{title}</h1>
        <p role="alert">{message}</p>
        <p>
          <a href={back.href}>{back.label}</a>
        </p>
      </main>
    </Document>,
    status,
    headers,
  );
}

import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { CLICK_ID_PARAMS, type ClickIdName } from "../../core/event.ts";
import { sha256Hex } from "../../core/digest.ts";
import { browserIdsFromCookies, parseCookieHeader } from "../../lib/ingest/enrich.ts";
import {
  ANON_ID_COOKIE,
  FBC_MAX_AGE_S,
  fbcFor,
  isAnonId,
  LONG_COOKIE_MAX_AGE_S,
  newAnonId,
  newFbp,
} from "../../lib/identity/browser_cookies.ts";
import type { BrowserSnapshot, PersonKeys } from "../../lib/identity/snapshot.ts";
import type { LinkClaims } from "../../lib/identity/link_tokens.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { isOriginAllowed, type Workspace } from "../../lib/workspaces.ts";
import { clientIpOf } from "../_context.ts";
import type { AppEnv, RouteDeps } from "../_env.ts";
import { HttpError } from "../_http_error.ts";
import { jsonResponse, problems } from "../_schemas.ts";

/** The built pixel (static/pixel/build.ts), served as it was committed. */
const PIXEL_FILE = new URL("../../static/pixel/build/pixel.js", import.meta.url);
/** Browsers and CDNs may keep the scripts 5 minutes; the ETag makes the revalidation cheap. */
const SCRIPT_CACHE = "public, max-age=300";
/** Landing parameters (click ids, UTM) kept for a visitor, server-set and HttpOnly. */
const SOURCE_COOKIE = "sluice_src";
const UTM_PARTS = ["source", "medium", "campaign", "term", "content"] as const;
const CLICK_IDS: ReadonlySet<string> = new Set(CLICK_ID_PARAMS);

/** A static script with what revalidation and compression need. */
interface Script {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  etag: string;
}

function scriptOf(body: Uint8Array<ArrayBuffer>): Script {
  const digest = createHash("sha256").update(body).digest("hex").slice(0, 32);
  // Weak: the same validator stands for the identity and gzip encodings (RFC 9110 §8.8.1).
  return { body, gzip: new Uint8Array(gzipSync(body, { level: 9 })), etag: `W/"${digest}"` };
}

let pixelScript: Promise<Script> | undefined;

/** The pixel, read once per process. */
function loadPixel(): Promise<Script> {
  pixelScript ??= Deno.readFile(PIXEL_FILE).then(scriptOf).catch((error) => {
    pixelScript = undefined;
    throw error;
  });
  return pixelScript;
}

/**
 * Answers a script: 304 when If-None-Match names its ETag, gzip when the client accepts
 * it. Cacheable by anyone for 5 minutes.
 */
function serveScript(c: Context<AppEnv>, script: Script): Response {
  const headers: Record<string, string> = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": SCRIPT_CACHE,
    etag: script.etag,
    vary: "Accept-Encoding",
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "cross-origin",
  };
  const validators = (c.req.header("if-none-match") ?? "").split(",").map((v) =>
    v.trim().replace(/^W\//, "")
  );
  if (validators.includes(script.etag.slice(2)) || validators.includes("*")) {
    return c.body(null, 304, headers);
  }
  if (/\bgzip\b(?!;\s*q=0(\.0+)?\b)/i.test(c.req.header("accept-encoding") ?? "")) {
    return c.body(script.gzip, 200, { ...headers, "content-encoding": "gzip" });
  }
  return c.body(script.body, 200, headers);
}

/** The tag-manager loader: the snippet's stub, then the pixel's script tag. */
function loaderScript(publicId: string, consentRequired: boolean, fallbackSrc: string): string {
  return `(function(w,d){w.sluice=w.sluice||function(){(w.sluice.q=w.sluice.q||[]).push(arguments)};` +
    `var s=d.createElement("script"),c=d.currentScript;s.async=true;` +
    `s.src=new URL("pixel.js",c&&c.src||${JSON.stringify(fallbackSrc)}).href;` +
    `s.setAttribute("data-public-id",${JSON.stringify(publicId)});` +
    (consentRequired ? `s.setAttribute("data-consent","required");` : "") +
    `d.head.appendChild(s)})(window,document);\n`;
}

/** Attributes of a cookie Sluice sets. */
interface CookieOptions {
  maxAge: number;
  httpOnly: boolean;
  secure: boolean;
  domain?: string;
}

/** A Set-Cookie value: always Path=/ and SameSite=Lax (RFC 6265bis). */
function setCookie(name: string, value: string, o: CookieOptions): string {
  return `${name}=${value}; Path=/; Max-Age=${o.maxAge}; SameSite=Lax` +
    (o.domain ? `; Domain=${o.domain}` : "") + (o.secure ? "; Secure" : "") +
    (o.httpOnly ? "; HttpOnly" : "");
}

const IP_HOST = /^[\d.]+$|:/;

/**
 * The domain two hosts share (`t.shop.example` and `www.shop.example` → `shop.example`),
 * for cookies both should see; undefined when they are the same host, an IP, or share
 * fewer than two labels.
 */
export function sharedCookieDomain(host: string, pageHost: string): string | undefined {
  if (host === pageHost || IP_HOST.test(host) || IP_HOST.test(pageHost)) return undefined;
  const a = host.toLowerCase().split(".").reverse();
  const b = pageHost.toLowerCase().split(".").reverse();
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
  return shared >= 2 ? a.slice(0, shared).reverse().join(".") : undefined;
}

/** The request's page origin, when a browser sent one. */
function originOf(c: Context<AppEnv>): string | undefined {
  const origin = c.req.header("origin");
  return origin && origin !== "null" ? origin : undefined;
}

/**
 * CORS for credentialed requests from an allowed origin (RFC 6454 origins, exact echo);
 * 403 for an origin the workspace does not allow. No Origin (a navigation): no headers.
 */
function credentialedCors(c: Context<AppEnv>, workspace: Workspace): Record<string, string> {
  const origin = originOf(c);
  if (!origin) return {};
  if (!isOriginAllowed(workspace.allowed_origins, origin)) {
    throw new HttpError(403, `Origin "${origin.slice(0, 256)}" is not allowed for this workspace`);
  }
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-credentials": "true",
    vary: "Origin",
  };
}

function isSecure(c: Context<AppEnv>): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

/** Takes one request from the client IP's budget on the workspace's browser endpoints. */
function admitBrowser(
  c: Context<AppEnv>,
  rt: Runtime,
  workspace: Workspace,
  cors: Record<string, string>,
): void {
  const ip = clientIpOf(c, rt) ?? "unknown";
  const decision = rt.rateLimiter.take(
    `ip:${workspace.id}:${ip}`,
    1,
    workspace.settings.browser_rate_limit_per_minute,
  );
  if (!decision.ok) {
    throw new HttpError(429, "Too many requests from this client", {
      headers: { ...cors, "retry-after": String(decision.retryAfterSeconds) },
    });
  }
}

/** Landing parameters kept in `sluice_src`: click ids and `utm_*`. */
function readSource(value: string | undefined): Map<string, string> {
  return new Map(value ? new URLSearchParams(value) : []);
}

const bootstrapQuery = z.object({
  id: z.string().max(64).optional().openapi({
    description: "The workspace's public id; without it only the anonymous id cookie is set",
  }),
  aid: z.string().max(64).optional().openapi({
    description: "The anonymous id the pixel kept, used when the cookie is missing",
  }),
  ads: z.enum(["0", "1"]).optional().openapi({
    description:
      "1: ad_user_data consent is granted, so Meta's fbp/fbc and click ids may be kept and returned",
  }),
  reset: z.enum(["0", "1"]).optional().openapi({
    description: "1: start a new anonymous id (sluice('reset'))",
  }),
  _uid: z.string().max(2048).optional().openapi({
    description: "A magic-link token from the landing URL (see GET /m); links this browser",
  }),
  fbclid: z.string().optional().openapi({
    description:
      "A click id of the landing URL; likewise gclid, gbraid, wbraid, ttclid, sccid, epik, rdt_cid, msclkid, li_fat_id, twclid and utm_source … utm_content",
  }),
}).openapi("BootstrapQuery");

const bootstrapAnswer = z.object({
  anonymous_id: z.string(),
  browser_ids: z.object({ fbp: z.string().optional(), fbc: z.string().optional() }).optional(),
  click_ids: z.record(z.string(), z.string()).optional().openapi({
    description: "Click ids kept for this visitor, by parameter name",
  }),
  utm: z.object(Object.fromEntries(UTM_PARTS.map((p) => [p, z.string().optional()])))
    .optional().openapi({ description: "The campaign of the last landing that had one" }),
  linked: z.boolean().optional().openapi({
    description: "Whether a magic-link token (`_uid`) linked this browser to its user",
  }),
}).openapi("Bootstrap");

const linkQuery = z.object({
  _uid: z.string().max(2048).openapi({ description: "The magic-link token" }),
  to: z.string().max(4096).optional().openapi({
    description: "Where to go next: an absolute URL on one of the workspace's allowed origins",
  }),
  aid: z.string().max(64).optional().openapi({
    description: "The anonymous id, for a browser that sends no cookie (cross-site set-ups)",
  }),
}).openapi("MagicLinkQuery");

/**
 * The browser pixel and identity endpoints (docs/pixel.md): `GET /v1/pixel.js`,
 * `GET /v1/u.js` (tag-manager loader), `GET /bootstrap` (server-set first-party cookies)
 * and `GET`/`POST /m` (magic links).
 */
export function pixelRoutes({ app, rt }: RouteDeps): void {
  const scriptResponses = {
    200: {
      description: "The script (gzip when accepted); public, max-age=300, with an ETag",
      content: { "text/javascript": { schema: z.string() } },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)" },
  };
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/pixel.js",
    operationId: "getPixel",
    tags: ["Browser"],
    summary: "The browser pixel (≤ 2 KB gzipped); configure it with data-public-id",
    responses: scriptResponses,
  });
  app.get("/v1/pixel.js", async (c) => serveScript(c, await loadPixel()));

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/u.js",
    operationId: "getPixelLoader",
    tags: ["Browser"],
    summary: "A loader for tag managers: defines the sluice() stub and loads the pixel",
    request: {
      query: z.object({
        id: z.string().openapi({ description: "The workspace's public id" }),
        consent: z.enum(["required"]).optional().openapi({
          description: 'Adds data-consent="required" to the pixel',
        }),
      }),
    },
    responses: { ...scriptResponses, ...problems(400, 404) },
  });
  app.get("/v1/u.js", async (c) => {
    const publicId = c.req.query("id");
    const consent = c.req.query("consent");
    if (!publicId) {
      throw new HttpError(400, "Name the workspace: /v1/u.js?id=PUBLIC_ID", {
        errors: [{ path: "id", message: "is required" }],
      });
    }
    if (consent !== undefined && consent !== "required") {
      throw new HttpError(400, `consent may only be "required", not "${consent.slice(0, 32)}"`, {
        errors: [{ path: "consent", message: 'must be "required"' }],
      });
    }
    if (!await rt.workspaces.getByPublicId(publicId)) {
      throw new HttpError(404, `No workspace has the public id "${publicId.slice(0, 64)}"`);
    }
    const fallback = new URL("/v1/u.js", c.req.url).href;
    const body = new TextEncoder().encode(
      loaderScript(publicId, consent === "required", fallback),
    );
    return serveScript(c, scriptOf(body));
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/bootstrap",
    operationId: "bootstrapVisitor",
    tags: ["Browser"],
    summary: "Set the visitor's first-party cookies (server-set) and answer its ids",
    description:
      "Sets `sluice_aid` (the anonymous id: HttpOnly, 400 days) and, with `ads=1`, `_fbp` (400 days) and `_fbc` (90 days) in Meta's formats when missing, and `sluice_src` (click ids and UTM of landing URLs: HttpOnly, 90 days). All SameSite=Lax, Secure over https. Called by the pixel with credentials from an allowed origin, which may read the answer (CORS with credentials).",
    request: { query: bootstrapQuery },
    responses: {
      200: jsonResponse("The visitor's ids; Set-Cookie headers carry the cookies", bootstrapAnswer),
      ...problems(401, 403, 429),
    },
  });
  app.get("/bootstrap", (c) => bootstrap(c, rt));

  for (const method of ["get", "post"] as const) {
    app.openAPIRegistry.registerPath({
      method,
      path: "/m",
      operationId: method === "get" ? "openMagicLink" : "postMagicLink",
      tags: ["Browser"],
      summary: method === "get"
        ? "Magic link: link this browser to the token's user, then redirect"
        : "Magic link from a page (fetch with credentials): link this browser to the token's user",
      description:
        "The token is minted by the customer's server (docs/pixel.md, `deno task sluice token mint`). The browser's anonymous id (the sluice_aid cookie, or `aid`) is linked to the user, so that user's server events gain this browser's identifiers. With `to` on an allowed origin of the token's workspace: 302 there; without: 204. A `to` elsewhere is refused (no open redirect).",
      request: { query: linkQuery },
      responses: {
        204: { description: "Linked (or nothing to link: no anonymous id yet)" },
        302: { description: "Linked; redirected to `to`" },
        ...problems(400, 401, 403, 429),
      },
    });
  }
  app.get("/m", (c) => magicLink(c, rt));
  app.post("/m", (c) => magicLink(c, rt));
}

/** What /bootstrap works out for a visitor. */
interface Visitor {
  anonId: string;
  fbp?: string;
  fbc?: string;
  source: Map<string, string>;
}

async function bootstrap(c: Context<AppEnv>, rt: Runtime): Promise<Response> {
  const query = c.req.query();
  const publicId = query.id;
  const workspace = publicId ? await rt.workspaces.getByPublicId(publicId) : undefined;
  if (publicId && !workspace) {
    throw new HttpError(401, `Unknown public id "${publicId.slice(0, 64)}"`);
  }
  const cors = workspace ? credentialedCors(c, workspace) : {};
  if (workspace) admitBrowser(c, rt, workspace, cors);
  const ads = query.ads === "1";
  const cookies = parseCookieHeader(c.req.header("cookie"));
  const now = Date.now();
  const reset = query.reset === "1";
  const given = cookies.get(ANON_ID_COOKIE);
  const anonId = reset
    ? newAnonId()
    : isAnonId(given)
    ? given
    : isAnonId(query.aid)
    ? query.aid
    : newAnonId();
  const stored = workspace && ads && !reset
    ? await rt.identity.snapshot(workspace.id, anonId)
    : undefined;
  const visitor = visitorOf(query, cookies, { anonId, ads, reset, now, stored });

  const secure = isSecure(c);
  const pageHost = originOf(c) ? new URL(originOf(c)!).hostname : undefined;
  const domain = pageHost ? sharedCookieDomain(new URL(c.req.url).hostname, pageHost) : undefined;
  const long = { maxAge: LONG_COOKIE_MAX_AGE_S, secure };
  c.header("set-cookie", setCookie(ANON_ID_COOKIE, anonId, { ...long, httpOnly: true }), {
    append: true,
  });
  if (visitor.fbp && visitor.fbp !== cookies.get("_fbp")) {
    c.header("set-cookie", setCookie("_fbp", visitor.fbp, { ...long, httpOnly: false, domain }), {
      append: true,
    });
  }
  if (visitor.fbc && visitor.fbc !== cookies.get("_fbc")) {
    const options = { maxAge: FBC_MAX_AGE_S, secure, httpOnly: false, domain };
    c.header("set-cookie", setCookie("_fbc", visitor.fbc, options), { append: true });
  }
  const source = new URLSearchParams([...visitor.source]).toString();
  if (source !== (cookies.get(SOURCE_COOKIE) ?? "")) {
    const options = { maxAge: source ? FBC_MAX_AGE_S : 0, secure, httpOnly: true };
    c.header("set-cookie", setCookie(SOURCE_COOKIE, encodeURIComponent(source), options), {
      append: true,
    });
  }

  const answer: z.infer<typeof bootstrapAnswer> = { anonymous_id: anonId };
  if (visitor.fbp || visitor.fbc) answer.browser_ids = { fbp: visitor.fbp, fbc: visitor.fbc };
  const clickIds = Object.fromEntries([...visitor.source].filter(([k]) => CLICK_IDS.has(k)));
  if (Object.keys(clickIds).length) answer.click_ids = clickIds;
  const utm = Object.fromEntries(
    [...visitor.source].filter(([k]) => k.startsWith("utm_")).map(([k, v]) => [k.slice(4), v]),
  );
  if (Object.keys(utm).length) answer.utm = utm;
  if (workspace && ads && query._uid) {
    const check = rt.linkTokens.verify(query._uid);
    answer.linked = check.ok && check.claims.ws === workspace.id;
    if (check.ok && answer.linked) {
      await linkToUser(rt, workspace, check.claims, anonId, snapshotOfRequest(c, rt, visitor, now));
    }
  }
  return c.json(answer, 200, { ...cors, "cache-control": "no-store" });
}

/**
 * The visitor's ids after this landing: Meta's fbp (kept, else built once) and fbc (kept
 * while the fbclid is the same), and the landing parameters, newest first; without ad
 * consent, only the campaign.
 */
function visitorOf(
  query: Record<string, string>,
  cookies: Map<string, string>,
  o: { anonId: string; ads: boolean; reset: boolean; now: number; stored?: BrowserSnapshot },
): Visitor {
  const source = o.reset ? new Map<string, string>() : readSource(cookies.get(SOURCE_COOKIE));
  const landing = Object.entries(query).map(([k, v]): [string, string] => [k.toLowerCase(), v])
    .filter(([k, v]) => v && (CLICK_IDS.has(k) || UTM_PARTS.some((p) => k === `utm_${p}`)));
  // A landing with a campaign replaces the whole previous campaign (last touch).
  if (landing.some(([k]) => k.startsWith("utm_"))) {
    for (const key of [...source.keys()]) if (key.startsWith("utm_")) source.delete(key);
  }
  if (!o.ads) {
    // Without ad consent no click id is kept, not even one an earlier visit left.
    for (const key of [...source.keys()]) if (CLICK_IDS.has(key)) source.delete(key);
    for (const [k, v] of landing) if (k.startsWith("utm_")) source.set(k, v.slice(0, 256));
    return { anonId: o.anonId, source };
  }
  // Click ids the identity graph kept fill in for a lost cookie; this landing's win.
  for (const [k, v] of Object.entries(o.stored?.click_ids ?? {})) {
    if (!source.has(k)) source.set(k, v);
  }
  for (const [k, v] of landing) source.set(k, v.slice(0, 256));
  const fbclid = landing.find(([k]) => k === "fbclid")?.[1];
  return {
    anonId: o.anonId,
    source,
    fbp: cookies.get("_fbp") || o.stored?.browser_ids?.fbp || newFbp(o.now),
    fbc: fbcFor(cookies.get("_fbc") || o.stored?.browser_ids?.fbc, fbclid, o.now),
  };
}

/** What a request shows of its browser: Meta's and other platform cookies, click ids, IP, agent. */
function snapshotOfRequest(
  c: Context<AppEnv>,
  rt: Runtime,
  visitor: Visitor | undefined,
  now: number,
): BrowserSnapshot {
  const cookies = parseCookieHeader(c.req.header("cookie"));
  const browserIds = browserIdsFromCookies(cookies);
  if (visitor?.fbp) browserIds.fbp = visitor.fbp;
  if (visitor?.fbc) browserIds.fbc = visitor.fbc;
  const source = visitor?.source ?? readSource(cookies.get(SOURCE_COOKIE));
  const clickIds: Partial<Record<ClickIdName, string>> = {};
  for (const name of CLICK_ID_PARAMS) {
    const value = source.get(name);
    if (value) clickIds[name] = value;
  }
  const snapshot: BrowserSnapshot = { at: now };
  if (Object.keys(browserIds).length) snapshot.browser_ids = browserIds;
  if (Object.keys(clickIds).length) snapshot.click_ids = clickIds;
  const ip = clientIpOf(c, rt);
  if (ip) snapshot.client_ip = ip;
  const agent = c.req.header("user-agent");
  if (agent) snapshot.user_agent = agent.slice(0, 1024);
  return snapshot;
}

/** Links a browser to the user a verified magic-link token names. */
async function linkToUser(
  rt: Runtime,
  workspace: Workspace,
  claims: LinkClaims,
  anonId: string,
  fresh: BrowserSnapshot,
): Promise<void> {
  const person: PersonKeys = { uid: sha256Hex(claims.uid) };
  if (claims.em) person.em = claims.em;
  const retentionMs = workspace.settings.retention_days * 86_400_000;
  await rt.identity.link(workspace.id, anonId, person, fresh, retentionMs);
}

async function magicLink(c: Context<AppEnv>, rt: Runtime): Promise<Response> {
  const token = c.req.query("_uid");
  if (!token) {
    throw new HttpError(400, "Send the magic-link token as _uid", {
      errors: [{ path: "_uid", message: "is required" }],
    });
  }
  const check = rt.linkTokens.verify(token.slice(0, 2048));
  if (!check.ok) throw new HttpError(401, `The link token ${check.reason}`);
  const workspace = await rt.workspaces.get(check.claims.ws);
  if (!workspace) throw new HttpError(401, "The link token names a workspace that does not exist");
  const cors = c.req.method === "POST" ? credentialedCors(c, workspace) : {};
  const to = c.req.query("to");
  const target = to === undefined ? undefined : redirectTarget(workspace, to);
  admitBrowser(c, rt, workspace, cors);
  const cookie = parseCookieHeader(c.req.header("cookie")).get(ANON_ID_COOKIE);
  const given = c.req.query("aid");
  // Only a browser that already has an anonymous id (the pixel made one, under consent) is linked.
  const anonId = isAnonId(cookie) ? cookie : isAnonId(given) ? given : undefined;
  if (anonId) {
    const fresh = snapshotOfRequest(c, rt, undefined, Date.now());
    await linkToUser(rt, workspace, check.claims, anonId, fresh);
  }
  const headers = { ...cors, "cache-control": "no-store", "referrer-policy": "no-referrer" };
  if (target) return c.body(null, 302, { ...headers, location: target });
  return c.body(null, 204, headers);
}

/** `to` when it is an absolute http(s) URL on one of the workspace's allowed origins; else 400. */
function redirectTarget(workspace: Workspace, to: string): string {
  let url: URL | undefined;
  try {
    url = new URL(to);
  } catch {
    url = undefined;
  }
  if (
    !url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username ||
    !isOriginAllowed(workspace.allowed_origins, url.origin)
  ) {
    throw new HttpError(400, `"to" must be a URL on one of the workspace's allowed origins`, {
      errors: [{ path: "to", message: "is not on an allowed origin" }],
    });
  }
  return url.href;
}

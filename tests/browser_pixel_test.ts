/**
 * The pixel in a real browser: headless Chromium (Debian's package, driven by
 * playwright-core) loads pages from a second loopback origin that embed the snippet, and
 * the test reads back, through `GET /v1/events` with a read key, exactly what the real
 * server stored: page views across SPA navigations, a purchase, identify, consent denied
 * then granted, fbclid → fbc, offline then online, a magic link, and server purchases
 * enriched with the browser's identifiers.
 *
 * Skipped, with a notice, where /usr/bin/chromium is missing (`apt-get install -y chromium`).
 */
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "./_deps.ts";
import { SpawnedServer } from "./_server.ts";
import { eventually, pause } from "./_wait.ts";
import type { EventJson as StoredJson } from "./_http.ts";

/** A stored event with the fields these tests read. */
type EventJson = StoredJson & { consent?: Record<string, string>; utm?: Record<string, string> };

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.log(
    `browser_pixel_test: ${CHROMIUM} not found, skipping the real-browser tests (apt-get install -y chromium)`,
  );
}

const ROOT_TOKEN = "browser-test-root-token-0123456789";
const SECRET = "browser-test-secret-0123456789abcdef";
/** A desktop Chrome agent: HeadlessChrome's own is a bot to isbot, and bots' events are dropped. */
const USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface Keys {
  publicId: string;
  ingestKey: string;
  readKey: string;
  wsId: string;
}

async function json(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

async function createWorkspace(base: string, origin: string): Promise<Keys> {
  const created = await json(
    await fetch(`${base}/v1/workspaces`, {
      method: "POST",
      headers: { authorization: `Bearer ${ROOT_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Browser shop", allowed_origins: [origin] }),
    }),
    201,
  );
  const key = await json(
    await fetch(`${base}/v1/api-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.admin_key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Reader", scopes: ["read"] }),
    }),
    201,
  );
  return {
    publicId: String(created.public_id),
    ingestKey: String(created.ingest_key),
    readKey: String(key.secret),
    wsId: String(created.id),
  };
}

/** Every stored event, oldest first. */
async function storedEvents(base: string, readKey: string): Promise<EventJson[]> {
  const body = await json(
    await fetch(`${base}/v1/events?limit=200`, { headers: { authorization: `Bearer ${readKey}` } }),
    200,
  );
  const data = body.data as EventJson[];
  return data.sort((a, b) => a.id < b.id ? -1 : 1);
}

/** The site: any path answers a page with the snippet; `?consent=required` waits for consent. */
function serveSite(sluiceBase: string, publicId: () => string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/favicon.ico") return new Response(null, { status: 404 });
    const consent = url.searchParams.get("consent") === "required"
      ? ' data-consent="required"'
      : "";
    const html = `<!doctype html><html><head><title>Shop ${url.pathname}</title>
<script>window.sluice = window.sluice || function(){(sluice.q=sluice.q||[]).push(arguments)};
sluice('track', 'view_content', {value: 5, currency: 'EUR'});</script>
<script async src="${sluiceBase}/v1/pixel.js" data-public-id="${publicId()}"${consent}></script>
</head><body><h1>Shop</h1></body></html>`;
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
}

/** Waits until the events of one anonymous id satisfy `ready`, and returns them. */
function eventsOf(
  base: string,
  readKey: string,
  select: (e: EventJson) => boolean,
  ready: (events: EventJson[]) => boolean,
  what: string,
): Promise<EventJson[]> {
  return eventually(what, async () => {
    const events = (await storedEvents(base, readKey)).filter(select);
    return ready(events) ? events : undefined;
  }, 15_000);
}

async function sluiceCall(page: Page, ...args: unknown[]): Promise<void> {
  await page.evaluate((a) => {
    const g = globalThis as unknown as { sluice: (...x: unknown[]) => void };
    g.sluice(...a);
  }, args);
}

async function launch(dir: string): Promise<BrowserContext> {
  // The agent is a flag, not Playwright's per-page override, which beacons sent while a page
  // unloads do not get (they would then come from a bot, whose events are dropped).
  return await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--user-agent=${USER_AGENT}`],
  });
}

Deno.test({
  name:
    "pixel in Chromium: page views, SPA navigations, purchase, identify, fbc, offline, enrichment",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "sluice-browser-" });
    await using server = new SpawnedServer(`${dir}/sluice.kv`, {
      SLUICE_ROOT_TOKEN: ROOT_TOKEN,
      SLUICE_SECRET: SECRET,
    });
    await server.ready();
    let publicId = "";
    const site = serveSite(server.base, () => publicId);
    const siteOrigin = `http://127.0.0.1:${site.addr.port}`;
    const keys = await createWorkspace(server.base, siteOrigin);
    publicId = keys.publicId;
    const context = await launch(`${dir}/profile`);
    const requests: string[] = [];
    context.on("request", (r) => {
      if (r.url().startsWith(server.base)) {
        requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
      }
    });
    try {
      const page = await context.newPage();
      let anonId = "";
      let fbc = "";
      let fbp = "";

      await t.step("landing with fbclid, SPA navigations, purchase and identify", async () => {
        await page.goto(`${siteOrigin}/?fbclid=IwAR_Browser-Test&utm_source=news&utm_medium=email`);
        await page.waitForFunction(() =>
          (globalThis as unknown as { sluice?: { loaded?: boolean } }).sluice?.loaded === true
        );
        await page.evaluate(
          `document.title = "Product 1"; history.pushState({}, "", "/product/1")`,
        );
        await page.evaluate(`document.title = "Cart"; history.replaceState({}, "", "/cart")`);
        // A fragment alone is no new page.
        await page.evaluate(`history.pushState({}, "", "/cart#summary")`);
        await sluiceCall(page, "track", "purchase", {
          event_id: "order-1001",
          value: 49.9,
          currency: "EUR",
          order_id: "1001",
        });
        await sluiceCall(page, "identify", { user_id: "u-42", email: "Ada@Example.com" });
        const events = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.source === "web",
          (list) => list.length >= 6,
          "six browser events",
        );
        await pause(1_500);
        const settled = (await storedEvents(server.base, keys.readKey)).filter((e) =>
          e.source === "web"
        );
        assert.equal(settled.length, 6, JSON.stringify(settled.map((e) => e.event_name)));
        assert.deepEqual(events.map((e) => e.event_name), [
          "page_view",
          "view_content",
          "page_view",
          "page_view",
          "purchase",
          "identify",
        ]);
        const [landing, queued, product, cart, purchase, identify] = events as [
          EventJson,
          EventJson,
          EventJson,
          EventJson,
          EventJson,
          EventJson,
        ];
        assert.equal(
          landing.page?.url,
          `${siteOrigin}/?fbclid=IwAR_Browser-Test&utm_source=news&utm_medium=email`,
        );
        assert.equal(landing.page?.title, "Shop /");
        assert.equal(product.page?.url, `${siteOrigin}/product/1`);
        assert.equal(product.page?.title, "Product 1");
        assert.equal(product.page?.referrer, landing.page?.url);
        assert.equal(cart.page?.url, `${siteOrigin}/cart`);
        assert.equal(cart.page?.referrer, product.page?.url);
        // The stub's call, made before the pixel loaded, was kept.
        assert.equal(queued.value, 5);
        assert.equal(purchase.event_id, "order-1001");
        assert.equal(purchase.value, 49.9);
        assert.equal(purchase.order_id, "1001");
        assert.equal(identify.user_data.customer_id, "u-42");
        assert.equal(identify.user_data.email, "Ada@Example.com");
        anonId = landing.user_data.anonymous_id ?? "";
        assert.match(anonId, /^[a-f0-9]{32}$/);
        fbc = landing.user_data.browser_ids?.fbc ?? "";
        fbp = landing.user_data.browser_ids?.fbp ?? "";
        assert.match(fbc, /^fb\.1\.\d{13}\.IwAR_Browser-Test$/);
        assert.match(fbp, /^fb\.1\.\d{13}\.\d+$/);
        for (const e of events) {
          assert.equal(e.user_data.anonymous_id, anonId, e.event_name);
          assert.equal(e.user_data.browser_ids?.fbc, fbc, e.event_name);
          assert.equal(e.user_data.browser_ids?.fbp, fbp, e.event_name);
          assert.equal(e.user_data.click_ids?.fbclid, "IwAR_Browser-Test", e.event_name);
          assert.deepEqual(e.consent, {
            ad_user_data: "granted",
            ad_personalization: "granted",
            analytics_storage: "granted",
          });
          assert.deepEqual(e.utm, { source: "news", medium: "email" }, e.event_name);
          assert.equal(e.user_data.user_agent, USER_AGENT);
          assert.equal(e.user_data.client_ip, "127.0.0.1");
        }
        // Server-set cookies: the anonymous id HttpOnly, Meta's ids readable.
        const cookies = await context.cookies(server.base);
        const byName = new Map(cookies.map((c) => [c.name, c]));
        assert.equal(byName.get("sluice_aid")?.value, anonId);
        assert.equal(byName.get("sluice_aid")?.httpOnly, true);
        assert.equal(byName.get("sluice_aid")?.sameSite, "Lax");
        assert.equal(byName.get("_fbp")?.value, fbp);
        assert.equal(byName.get("_fbc")?.value, fbc);
        assert.equal(byName.get("_fbc")?.httpOnly, false);
        assert.equal(byName.get("sluice_src")?.httpOnly, true);
      });

      await t.step("a server purchase gains the browser's fbp, fbc, IP and agent", async () => {
        const res = await fetch(`${server.base}/v1/events`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${keys.ingestKey}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({
            event_id: "server-order-1001",
            event_name: "purchase",
            value: 49.9,
            currency: "EUR",
            user_data: { email: " ada@example.com " },
          }),
        });
        await json(res, 202);
        const [server1] = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.event_id === "server-order-1001",
          (list) => list.length === 1,
          "the server purchase",
        );
        assert.equal(server1?.user_data.browser_ids?.fbp, fbp);
        assert.equal(server1?.user_data.browser_ids?.fbc, fbc);
        assert.equal(server1?.user_data.click_ids?.fbclid, "IwAR_Browser-Test");
        assert.equal(server1?.user_data.client_ip, "127.0.0.1");
        assert.equal(server1?.user_data.user_agent, USER_AGENT);
        assert.equal(server1?.user_data.anonymous_id, anonId);
      });

      await t.step("offline, events wait; online, they are sent once", async () => {
        await context.setOffline(true);
        await sluiceCall(page, "track", "add_to_cart", { event_id: "offline-1", value: 3 });
        await pause(2_500);
        assert.equal(
          (await storedEvents(server.base, keys.readKey)).some((e) => e.event_id === "offline-1"),
          false,
        );
        await context.setOffline(false);
        await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.event_id === "offline-1",
          (list) => list.length === 1,
          "the event sent once back online",
        );
        await pause(1_500);
        const copies = (await storedEvents(server.base, keys.readKey)).filter((e) =>
          e.event_id === "offline-1"
        );
        assert.equal(copies.length, 1);
        assert.equal(copies[0]?.user_data.anonymous_id, anonId);
      });

      await t.step("events still queued when the page is left go by beacon", async () => {
        await sluiceCall(page, "track", "lead", { event_id: "on-exit-1" });
        await page.goto(`${siteOrigin}/next`);
        await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.event_id === "on-exit-1",
          (list) => list.length === 1,
          "the event flushed on pagehide",
        );
        // The next page keeps the anonymous id (the server-set cookie) and the landing's fbc.
        const next = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.page?.url === `${siteOrigin}/next` && e.event_name === "page_view",
          (list) => list.length === 1,
          "the next page's view",
        );
        assert.equal(next[0]?.user_data.anonymous_id, anonId);
        assert.equal(next[0]?.user_data.browser_ids?.fbc, fbc);
        assert.equal(next[0]?.user_data.customer_id, "u-42");
      });

      await t.step("a magic link links the browser to a user", async () => {
        const minted = await new Deno.Command(Deno.execPath(), {
          args: [
            "task",
            "--quiet",
            "sluice",
            "token",
            "mint",
            "--workspace",
            keys.wsId,
            "--user",
            "u-77",
          ],
          env: { SLUICE_KV: `${dir}/sluice.kv`, SLUICE_SECRET: SECRET },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const out = new TextDecoder().decode(minted.stdout);
        assert.ok(minted.success, new TextDecoder().decode(minted.stderr));
        const { token } = JSON.parse(out) as { token: string };
        await page.goto(`${siteOrigin}/welcome?_uid=${encodeURIComponent(token)}`);
        // The token left the address bar before the page view was taken.
        const welcome = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.page?.url?.startsWith(`${siteOrigin}/welcome`) === true,
          (list) => list.length >= 1,
          "the welcome page view",
        );
        assert.equal(welcome[0]?.page?.url, `${siteOrigin}/welcome`);
        assert.equal(page.url(), `${siteOrigin}/welcome`);
        await json(
          await fetch(`${server.base}/v1/events`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${keys.ingestKey}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({
              event_id: "server-u77",
              event_name: "purchase",
              user_data: { customer_id: "u-77", fbc: "fb.1.1.server-sent" },
            }),
          }),
          202,
        );
        const [enriched] = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.event_id === "server-u77",
          (list) => list.length === 1,
          "the linked user's server purchase",
        );
        assert.equal(enriched?.user_data.anonymous_id, anonId);
        assert.equal(enriched?.user_data.browser_ids?.fbp, fbp);
        // What the server sent is never replaced.
        assert.equal(enriched?.user_data.browser_ids?.fbc, "fb.1.1.server-sent");
      });

      await t.step("no event is stored twice", async () => {
        const all = await storedEvents(server.base, keys.readKey);
        const ids = all.map((e) => e.event_id);
        assert.equal(new Set(ids).size, ids.length);
        assert.ok(requests.includes("GET /bootstrap"));
      });
    } finally {
      await context.close();
      await site.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "pixel in Chromium: with data-consent=required nothing leaves before consent",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "sluice-browser-" });
    await using server = new SpawnedServer(`${dir}/sluice.kv`, {
      SLUICE_ROOT_TOKEN: ROOT_TOKEN,
      SLUICE_SECRET: SECRET,
    });
    await server.ready();
    let publicId = "";
    const site = serveSite(server.base, () => publicId);
    const siteOrigin = `http://127.0.0.1:${site.addr.port}`;
    const keys = await createWorkspace(server.base, siteOrigin);
    publicId = keys.publicId;
    const context = await launch(`${dir}/profile`);
    const requests: string[] = [];
    context.on("request", (r) => {
      const url = new URL(r.url());
      if (r.url().startsWith(server.base) && url.pathname !== "/v1/pixel.js") {
        requests.push(`${r.method()} ${url.pathname}`);
      }
    });
    try {
      const page = await context.newPage();
      const loaded = () =>
        page.waitForFunction(() =>
          (globalThis as unknown as { sluice?: { loaded?: boolean } }).sluice?.loaded === true
        );

      await t.step("denied: nothing is sent or stored, the buffer is dropped", async () => {
        await page.goto(`${siteOrigin}/?consent=required&gclid=Cj0-denied`);
        await loaded();
        await sluiceCall(page, "track", "add_to_cart", { event_id: "before-denial" });
        await pause(1_500);
        assert.deepEqual(requests, []);
        await sluiceCall(page, "consent", { ad_user_data: "denied", analytics_storage: "denied" });
        await sluiceCall(page, "track", "add_to_cart", { event_id: "after-denial" });
        await pause(1_500);
        assert.deepEqual(requests, []);
        assert.deepEqual(await context.cookies(server.base), []);
        assert.deepEqual(await storedEvents(server.base, keys.readKey), []);
        // Granted later in the same page: only what happens from then on is sent.
        await sluiceCall(page, "consent", { ad_user_data: true, analytics_storage: true });
        await sluiceCall(page, "track", "lead", { event_id: "after-grant" });
        const events = await eventsOf(
          server.base,
          keys.readKey,
          () => true,
          (list) => list.length >= 1,
          "the event after the grant",
        );
        await pause(1_500);
        assert.deepEqual(
          (await storedEvents(server.base, keys.readKey)).map((e) => e.event_id),
          ["after-grant"],
        );
        assert.equal(events[0]?.consent?.ad_user_data, "granted");
      });

      await t.step("granted: the buffered events leave with the decision", async () => {
        await page.goto(`${siteOrigin}/second?consent=required&ttclid=tt-1`);
        await loaded();
        await sluiceCall(page, "track", "add_to_cart", { event_id: "buffered-1", value: 7 });
        const before = requests.length;
        await pause(1_500);
        assert.equal(requests.length, before, "nothing before consent");
        await sluiceCall(page, "consent", {
          ad_user_data: "granted",
          ad_personalization: "denied",
          analytics_storage: "granted",
        });
        const events = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.page?.url?.startsWith(`${siteOrigin}/second`) === true,
          (list) => list.length >= 3,
          "the three buffered events",
        );
        await pause(1_500);
        const second = (await storedEvents(server.base, keys.readKey)).filter((e) =>
          e.page?.url?.startsWith(`${siteOrigin}/second`) === true
        );
        assert.deepEqual(second.map((e) => e.event_name), [
          "page_view",
          "view_content",
          "add_to_cart",
        ]);
        for (const e of events) {
          assert.deepEqual(e.consent, {
            ad_user_data: "granted",
            ad_personalization: "denied",
            analytics_storage: "granted",
          });
          assert.equal(e.user_data.click_ids?.ttclid, "tt-1");
          assert.match(e.user_data.browser_ids?.fbp ?? "", /^fb\.1\./);
        }
      });

      await t.step("analytics only: events go without ad identifiers", async () => {
        await page.goto(`${siteOrigin}/third?consent=required&gclid=Cj0-analytics`);
        await loaded();
        await sluiceCall(page, "consent", { ad_user_data: "denied", analytics_storage: "granted" });
        const events = await eventsOf(
          server.base,
          keys.readKey,
          (e) => e.page?.url?.startsWith(`${siteOrigin}/third`) === true,
          (list) => list.length >= 2,
          "the analytics-only events",
        );
        for (const e of events) {
          assert.equal(e.user_data.browser_ids, undefined);
          assert.equal(e.user_data.click_ids, undefined);
          assert.equal(e.consent?.ad_user_data, "denied");
          assert.match(e.user_data.anonymous_id ?? "", /^[a-f0-9]{32}$/);
        }
      });
    } finally {
      await context.close();
      await site.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * The failures, destinations and settings pages in a real browser (Debian's Chromium,
 * headless, through playwright-core): a failure group and a bulk retry's dry run and confirm,
 * connecting a destination with a bad then a good form, the platform test, the settings form
 * and the install snippet's first-event check; axe-core on every page in light and dark (no
 * serious or critical violation); screenshots at 1280 and 390 px in
 * tests/artifacts/screenshots/ (git-ignored). Skipped, with a notice, without /usr/bin/chromium.
 */
import assert from "node:assert/strict";
import AxeBuilder from "@axe-core/playwright";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { mockPlatform } from "./_mock_platform.ts";
import { SpawnedServer } from "./_server.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = new URL("./artifacts/screenshots/", import.meta.url);
const ROOT_TOKEN = "browser-test-root-token-0123456789";
const OWNER = { email: "owner@example.com", password: "correct-horse-battery" };
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium) {
  console.warn(
    `dashboard_setup_browser_test: ${CHROMIUM} is missing, so the browser tests are skipped`,
  );
}

/** A fresh headless Chromium profile; closing it removes the profile. */
async function browser(): Promise<BrowserContext & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-chromium-" });
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
  return Object.assign(context, {
    [Symbol.asyncDispose]: async () => {
      await context.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  });
}

/** No serious or critical axe-core violation on the page as it stands. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `accessibility of ${what}`,
  );
}

/** Screenshots at desktop (1280) and phone (390) width, full page. */
async function screenshots(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: new URL(`${name}-desktop.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: new URL(`${name}-phone.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Checks the page for accessibility in light and dark themes and takes its screenshots. */
async function review(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await page.emulateMedia({ colorScheme: "dark" });
  await expectAccessible(page, `${name} (dark)`);
  await screenshots(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: "light" });
  await screenshots(page, name);
}

async function api(base: string, path: string, key: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function signIn(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

Deno.test({
  name:
    "dashboard setup pages: failures and bulk retry, destinations, settings and the first event",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let fail = true;
    await using mock = mockPlatform(() =>
      fail
        ? Response.json({ error: { message: "Invalid parameter", code: 100 } }, { status: 400 })
        : Response.json({ events_received: 1, messages: [], fbtrace_id: "SetupTrace" })
    );
    const dir = await Deno.makeTempDir({ prefix: "sluice-dash-setup-" });
    await using server = new SpawnedServer(`${dir}/sluice.kv`, {
      SLUICE_ROOT_TOKEN: ROOT_TOKEN,
      SLUICE_SECRET: "browser-test-secret-0123456789abcdef",
      SLUICE_ADMIN_EMAIL: OWNER.email,
      SLUICE_ADMIN_PASSWORD: OWNER.password,
      SLUICE_ALLOW_PRIVATE_URLS: "1",
      SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms",
    }, { name: "the dashboard server" });
    await server.ready();
    const base = server.base;
    const ws = await api(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });
    const meta = await api(base, "/v1/platforms", ws.admin_key, {
      type: "meta",
      name: "Meta pixel",
      config: {
        pixel_id: "1234567890",
        access_token: "EAABbrowsertestsecret",
        test_event_code: "TEST42",
        endpoint: mock.url,
      },
    });

    await using owner = await browser();
    const page = await owner.newPage();
    await signIn(page, base, OWNER.email, OWNER.password);
    await page.waitForURL(`${base}/`);

    // Settings first, while no event has arrived: the island flips when one does.
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByText("Waiting for your first event").waitFor();
    await review(page, "settings");
    for (let i = 0; i < 3; i++) {
      await api(base, "/v1/events", ws.ingest_key, {
        event_name: "purchase",
        order_id: `ORD-F${i}`,
        value: 10,
        currency: "EUR",
        user_data: { email: `buyer${i}@example.com` },
      });
    }
    await page.getByText("First event received at").waitFor({ timeout: 10_000 });
    await page.getByLabel("Allowed origins, one per line").fill(
      "https://shop.example\nhttps://*.shop.example/oops",
    );
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("must be an origin only").waitFor();
    await review(page, "settings-invalid");
    await page.getByLabel("Allowed origins, one per line").fill(
      "https://shop.example\nhttps://*.shop.example",
    );
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Settings saved.").waitFor();

    // Failures: one group of three; a dry run, then the confirm.
    await page.getByRole("link", { name: "Failures" }).click();
    for (let i = 0; i < 50; i++) {
      if (await page.getByText("Invalid parameter").count()) break;
      await new Promise((r) => setTimeout(r, 300));
      await page.reload();
    }
    await page.getByText("Invalid parameter").first().waitFor();
    await review(page, "failures");
    await page.getByLabel("Destination", { exact: true }).last().selectOption(meta.id);
    await page.getByRole("button", { name: "Count matching deliveries" }).click();
    await page.getByText("3 deliveries match").waitFor();
    await review(page, "failures-dry-run");
    fail = false;
    await page.getByRole("button", { name: "Queue these 3" }).click();
    await page.getByText("3 deliveries are queued again").waitFor();

    // Destinations: the list, a bad form, then a good one, and the platform test.
    await page.getByRole("link", { name: "Destinations" }).click();
    await page.getByRole("heading", { name: "Meta pixel" }).waitFor();
    await review(page, "destinations");
    await page.getByRole("link", { name: "TikTok Events API" }).click();
    await page.getByLabel("pixel_code").fill("C4ABCDEFGHIJ1234567K");
    await page.getByLabel("endpoint (optional)").fill("not a url");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("The settings were not saved").waitFor();
    await review(page, "destination-new-invalid");
    await page.getByRole("link", { name: "All destinations" }).click();
    await page.getByRole("link", { name: "Meta pixel" }).click();
    await page.getByRole("button", { name: "Send the platform's test event" }).click();
    await page.getByText("Test sent: accepted").waitFor();
    assert.ok(!(await page.content()).includes("EAABbrowsertestsecret"), "secrets stay hidden");
    await review(page, "destination");
  },
});

/**
 * The management pages in a real browser (Debian's Chromium, headless, playwright-core): a
 * rule previewed then saved, a webhook registered (its secret shown once) and pinged, an API
 * key created and rotated, a keyboard-only walk through the rule editor; axe-core on every
 * page in light and dark (no serious or critical violation); screenshots at 1280 and 390 px
 * in tests/artifacts/screenshots/ (git-ignored). Skipped, with a notice, without
 * /usr/bin/chromium.
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
    `dashboard_manage_browser_test: ${CHROMIUM} is missing, so the browser tests are skipped`,
  );
}

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

async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `accessibility of ${what}`,
  );
}

async function screenshots(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: new URL(`${name}-desktop.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: new URL(`${name}-phone.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

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

Deno.test({
  name: "dashboard management: rules with a preview, webhooks, API keys; axe and screenshots",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using mock = mockPlatform(() => Response.json({ events_received: 1 }));
    await using receiver = mockPlatform(() => new Response("ok, got it"));
    const dir = await Deno.makeTempDir({ prefix: "sluice-manage-" });
    await using server = new SpawnedServer(`${dir}/sluice.kv`, {
      SLUICE_ROOT_TOKEN: ROOT_TOKEN,
      SLUICE_SECRET: "browser-test-secret-0123456789abcdef",
      SLUICE_ADMIN_EMAIL: OWNER.email,
      SLUICE_ADMIN_PASSWORD: OWNER.password,
      SLUICE_ALLOW_PRIVATE_URLS: "1",
    }, { name: "the dashboard server" });
    await server.ready();
    const base = server.base;
    const ws = await api(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });
    for (const name of ["Meta pixel", "Meta (second pixel)"]) {
      await api(base, "/v1/platforms", ws.admin_key, {
        type: "meta",
        name,
        config: {
          pixel_id: "1234567890",
          access_token: "EAABbrowsertestsecret",
          endpoint: mock.url,
        },
      });
    }
    for (const [event_name, value] of [["purchase", 250], ["purchase", 12], ["lead", undefined]]) {
      await api(base, "/v1/events", ws.ingest_key, { event_name, value, currency: "EUR" });
    }

    await using owner = await browser();
    const page = await owner.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/`);

    // Rules: an empty list, then the editor; a refused form; a preview; save.
    await page.getByRole("link", { name: "Rules" }).click();
    await review(page, "rules-empty");
    await page.getByRole("link", { name: "New rule" }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Give the rule a name").waitFor();
    await review(page, "rule-refused");
    await page.getByLabel("Name", { exact: true }).fill("Big purchases to Meta only");
    await page.getByLabel("Priority (lower runs first)").fill("10");
    await page.getByLabel("Event names").fill("purchase");
    await page.getByLabel("Value at least").fill("100");
    await page.getByRole("checkbox", { name: "Meta pixel (meta)" }).check();
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: "Preview" }).waitFor();
    assert.match(
      await page.locator("#preview").innerText(),
      /Of the last 3 events, 1 would change/,
    );
    await review(page, "rule-preview");
    await page.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(`${base}/rules?done=created`);
    await page.getByRole("link", { name: "Big purchases to Meta only" }).waitFor();
    await review(page, "rules");

    // The editor by keyboard only: Tab reaches Name with a visible focus ring.
    await page.getByRole("link", { name: "Big purchases to Meta only" }).click();
    await page.getByLabel("Name", { exact: true }).focus();
    const ring = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle");
    assert.notEqual(ring, "none", "focused fields show a ring");
    await page.keyboard.press("Tab");
    assert.equal(
      await page.evaluate("document.activeElement?.getAttribute('name')"),
      "priority",
    );
    await page.getByRole("link", { name: "Delete this rule…" }).click();
    await review(page, "rule-delete");
    await page.getByRole("link", { name: "Keep it" }).click();

    // Webhooks: register (the secret once), ping, and the log.
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByLabel("Endpoint URL").fill(receiver.url);
    await page.getByLabel("Description (optional)").fill("CRM");
    await page.getByRole("button", { name: "Register webhook" }).click();
    await page.getByText("shown only this once").waitFor();
    const secret = await page.locator("code.secret").innerText();
    assert.match(secret, /^whsec_/);
    await review(page, "webhook-created");
    await page.getByRole("button", { name: "Send a test ping" }).click();
    await page.getByText("Test ping delivered (HTTP 200)").waitFor();
    assert.ok(!(await page.content()).includes(secret), "the secret is not shown again");
    await review(page, "webhook");
    await page.getByRole("link", { name: "All webhooks" }).click();
    await review(page, "webhooks");

    // API keys: create (the secret once) and rotate.
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Checkout server");
    await page.getByRole("checkbox", { name: /^read/ }).check();
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByText("shown only this once").waitFor();
    assert.match(await page.locator("code.secret").innerText(), /^sk_/);
    await review(page, "keys-created");
    await page.getByRole("button", { name: "Rotate Checkout server" }).click();
    await page.getByText("The old secret keeps working until").waitFor();
    await review(page, "keys-rotated");
    await page.getByRole("link", { name: "Revoke Default admin…" }).click();
    await page.getByRole("button", { name: "Revoke the key" }).click();
    await page.getByText("last admin key").waitFor();
    await review(page, "keys-refused");
  },
});

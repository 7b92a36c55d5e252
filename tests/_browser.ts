/**
 * Real-browser test helpers: Debian's Chromium driven by playwright-core, headless, with a
 * fresh profile per context; axe-core checks and screenshots at desktop and phone width.
 */
import assert from "node:assert/strict";
import { AxeBuilder, type BrowserContext, chromium, type Page } from "./_deps.ts";

/** Where Debian's chromium package installs the browser. */
export const CHROMIUM = "/usr/bin/chromium";
const SHOTS = new URL("./artifacts/screenshots/", import.meta.url);

/** Whether Chromium is installed; when it is not, says which tests are skipped. */
export async function chromiumFor(testFile: string): Promise<boolean> {
  const present = await Deno.stat(CHROMIUM).then(() => true, () => false);
  if (!present) {
    console.warn(`${testFile}: ${CHROMIUM} is missing, so its browser tests are skipped`);
  }
  return present;
}

/** A fresh headless Chromium profile; `await using` closes it and removes the profile. */
export async function headlessBrowser(): Promise<BrowserContext & AsyncDisposable> {
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
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `accessibility of ${what}`,
  );
}

/** Full-page screenshots at desktop (1280) and phone (390) width in tests/artifacts/screenshots/. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await settled(page);
  await page.screenshot({ path: new URL(`${name}-desktop.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await settled(page);
  await page.screenshot({ path: new URL(`${name}-phone.png`, SHOTS).pathname, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Two animation frames: resize observers (the chart's) have run after a viewport change. */
function settled(page: Page): Promise<void> {
  return page.evaluate(
    "new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))",
  );
}

/** Checks the page for accessibility in light and dark themes and takes its screenshots. */
export async function review(page: Page, name: string): Promise<void> {
  await expectAccessible(page, name);
  await page.emulateMedia({ colorScheme: "dark" });
  await expectAccessible(page, `${name} (dark)`);
  await screenshots(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: "light" });
  await screenshots(page, name);
}

/** Signs in through the sign-in form. */
export async function signIn(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** POSTs JSON with a Bearer key and answers the parsed body, asserting a 2xx. */
export async function postApi(base: string, path: string, key: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The root token of the servers the dashboard's browser tests start. */
export const ROOT_TOKEN = "browser-test-root-token-0123456789";
/** The instance owner those servers bootstrap from `SLUICE_ADMIN_EMAIL`/`SLUICE_ADMIN_PASSWORD`. */
export const OWNER = { email: "owner@example.com", password: "correct-horse-battery" };

/**
 * The environment of a dashboard server for a browser test: the root token, a fixed secret,
 * the bootstrapped {@link OWNER}, plus `extra` (private URLs for loopback mocks, fast retries).
 */
export function dashboardEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLUICE_ROOT_TOKEN: ROOT_TOKEN,
    SLUICE_SECRET: "browser-test-secret-0123456789abcdef",
    SLUICE_ADMIN_EMAIL: OWNER.email,
    SLUICE_ADMIN_PASSWORD: OWNER.password,
    ...extra,
  };
}

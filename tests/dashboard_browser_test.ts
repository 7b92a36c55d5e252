/**
 * The dashboard in a real browser (Debian's Chromium, headless, through playwright-core):
 * sign in, watch an event arrive live, search its order id, open it and read the request
 * Sluice sent and the mock platform's answer; a viewer who sees no PII; CSRF refused without
 * the token; sign-in throttled; axe-core on every page (no serious or critical violation).
 * Screenshots at 1280 and 390 px go to tests/artifacts/screenshots/ (git-ignored).
 * Skipped, with a notice, where /usr/bin/chromium is missing.
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
  console.warn(`dashboard_browser_test: ${CHROMIUM} is missing, so the browser tests are skipped`);
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
  name: "dashboard: sign in, live, search, the event's request and answer, viewer, CSRF, throttle",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using mock = mockPlatform(() =>
      Response.json({ events_received: 1, messages: [], fbtrace_id: "AxYzMockTrace" })
    );
    const dir = await Deno.makeTempDir({ prefix: "sluice-dash-" });
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
    await api(base, "/v1/platforms", ws.admin_key, {
      type: "meta",
      name: "Meta pixel",
      config: { pixel_id: "1234567890", access_token: "EAABbrowsertestsecret", endpoint: mock.url },
    });
    await api(base, "/v1/events", ws.ingest_key, {
      event_name: "page_view",
      source: "web",
      user_data: { email: "first.visitor@example.com" },
    });

    await using owner = await browser();
    const page = await owner.newPage();
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login\?next=/);
    await review(page, "login");
    await signIn(page, base, OWNER.email, OWNER.password);
    await page.waitForURL(`${base}/`);
    await page.getByRole("heading", { name: "Meta pixel" }).waitFor();
    await review(page, "overview");

    // Live: the event arrives while the page watches.
    await page.getByRole("link", { name: "Live" }).click();
    await page.getByText("Live: new events appear at the top").waitFor({ timeout: 10_000 });
    const sent = await api(base, "/v1/events", ws.ingest_key, {
      event_name: "purchase",
      order_id: "ORD-LIVE-1",
      value: 99.5,
      currency: "EUR",
      user_data: { email: "jane.doe@example.com", phone: "+4915112345678" },
    });
    const row = page.locator(`tr[data-event-id="${sent.event_id}"]`);
    await row.getByText("ORD-LIVE-1").waitFor({ timeout: 10_000 });
    await row.locator(".chip-delivered").waitFor({ timeout: 10_000 });
    await review(page, "live");

    // Pause holds new events back; resume shows them.
    await page.getByRole("button", { name: "Pause" }).click();
    await api(base, "/v1/events", ws.ingest_key, { event_name: "lead", order_id: "ORD-HELD" });
    await page.getByRole("button", { name: "Resume (1 new)" }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByText("ORD-HELD").count(), 0);
    await page.getByRole("button", { name: "Resume (1 new)" }).click();
    await page.getByText("ORD-HELD").waitFor();

    // Search the order id: the event opens, with the request sent and Meta's answer.
    await page.getByLabel("Search events").fill("ORD-LIVE-1");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(`${base}/events/${sent.event_id}`);
    await page.getByText("events_received=1 fbtrace_id=AxYzMockTrace").first().waitFor();
    const text = await page.locator("main").innerText();
    assert.match(
      text,
      /POST http:\/\/127\.0\.0\.1:\d+\/v\d+\.\d+\/1234567890\/events\?access_token=\*{8}/,
    );
    assert.ok(!text.includes("EAABbrowsertestsecret"), "the token is masked");
    await page.getByText("Answer body").first().click();
    assert.match(await page.locator("main").innerText(), /"fbtrace_id":"AxYzMockTrace"/);
    await page.getByText("This event's request (secrets masked)").click();
    assert.match(await page.locator("main").innerText(), /curl -X POST/);
    await owner.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await page.getByRole("button", { name: "Copy as cURL" }).click();
    await page.getByText("Copied").waitFor();
    assert.match(String(await page.evaluate("navigator.clipboard.readText()")), /^curl -X POST/);
    await review(page, "event");
    assert.equal(mock.received.length >= 1, true);

    // Replay goes through the same engine and is audited.
    await page.getByRole("button", { name: "Replay" }).click();
    await page.getByText("Replay queued").waitFor();
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByRole("link", { name: "purchase" }).first().waitFor();
    await review(page, "events");
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByText("event.replay").waitFor();
    await review(page, "audit");

    // CSRF: the same browser's cookie without the token is refused.
    const forged = await page.request.post(`${base}/people/invite`, {
      form: { email: "x@example.com", role: "owner" },
      headers: { origin: base },
    });
    assert.equal(forged.status(), 403);

    // A viewer, invited by the owner, sees statuses but no personal data.
    await page.getByRole("link", { name: "People" }).click();
    await page.getByLabel("Email", { exact: true }).fill("viewer@example.com");
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Create invitation link" }).click();
    const link = await page.locator(".notice code").innerText();
    await review(page, "people");

    await using guest = await browser();
    const viewer = await guest.newPage();
    await viewer.goto(link);
    await review(viewer, "invite");
    await viewer.getByLabel("Choose a password").fill("viewer-password-123");
    await viewer.getByRole("button", { name: "Accept and sign in" }).click();
    await viewer.waitForURL(`${base}/`);
    await viewer.goto(`${base}/events/${sent.event_id}`);
    await viewer.locator(".chip-delivered").first().waitFor();
    const seen = await viewer.content();
    for (const secret of ["jane.doe", "4915112345678", "curl -X", "Answer body", "Replay"]) {
      assert.ok(!seen.includes(secret), `the viewer does not see ${secret}`);
    }
    await review(viewer, "event-viewer");

    // Sign-in is throttled after five wrong passwords.
    await viewer.getByRole("button", { name: "Sign out" }).click();
    await viewer.waitForURL(/\/login/);
    for (let i = 0; i < 5; i++) {
      await signIn(viewer, base, "viewer@example.com", `wrong password ${i}`);
      await viewer.getByText("Wrong email or password.").waitFor();
    }
    await signIn(viewer, base, "viewer@example.com", "viewer-password-123");
    await viewer.getByText("Too many failed sign-ins").waitFor();
    await review(viewer, "throttled");
  },
});

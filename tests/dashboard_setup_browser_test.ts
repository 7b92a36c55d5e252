/**
 * The failures, destinations and settings pages in a real browser (Debian's Chromium,
 * headless, through playwright-core): a failure group and a bulk retry's dry run and confirm,
 * connecting a destination with a bad then a good form, the platform test, the settings form
 * and the install snippet's first-event check; axe-core on every page in light and dark (no
 * serious or critical violation); screenshots at 1280 and 390 px in
 * tests/artifacts/screenshots/ (git-ignored). Skipped, with a notice, without /usr/bin/chromium.
 */
import assert from "node:assert/strict";
import {
  chromiumFor,
  dashboardEnv,
  headlessBrowser,
  OWNER,
  postApi,
  review,
  ROOT_TOKEN,
  signIn,
} from "./_browser.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { SpawnedServer } from "./_server.ts";

const hasChromium = await chromiumFor("dashboard_setup_browser_test.ts");

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
    await using server = new SpawnedServer(
      `${dir}/sluice.kv`,
      dashboardEnv({ SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms" }),
      { name: "the dashboard server" },
    );
    await server.ready();
    const base = server.base;
    const ws = await postApi(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });
    const meta = await postApi(base, "/v1/platforms", ws.admin_key, {
      type: "meta",
      name: "Meta pixel",
      config: {
        pixel_id: "1234567890",
        access_token: "EAABbrowsertestsecret",
        test_event_code: "TEST42",
        endpoint: mock.url,
      },
    });

    await using owner = await headlessBrowser();
    const page = await owner.newPage();
    await signIn(page, base, OWNER.email, OWNER.password);
    await page.waitForURL(`${base}/`);

    // Settings first, while no event has arrived: the island flips when one does.
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByText("Waiting for your first event").waitFor();
    await review(page, "settings");
    for (let i = 0; i < 3; i++) {
      await postApi(base, "/v1/events", ws.ingest_key, {
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
    await page.getByText("Test event accepted").waitFor();
    assert.ok(!(await page.content()).includes("EAABbrowsertestsecret"), "secrets stay hidden");
    await review(page, "destination");
  },
});

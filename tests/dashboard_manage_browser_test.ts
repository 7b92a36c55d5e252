/**
 * The management pages in a real browser (Debian's Chromium, headless, playwright-core): a
 * rule previewed then saved, a webhook registered (its secret shown once) and pinged, an API
 * key created and rotated, a keyboard-only walk through the rule editor; axe-core on every
 * page in light and dark (no serious or critical violation); screenshots at 1280 and 390 px
 * in tests/artifacts/screenshots/ (git-ignored). Skipped, with a notice, without
 * /usr/bin/chromium.
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
} from "./_browser.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { SpawnedServer } from "./_server.ts";

const hasChromium = await chromiumFor("dashboard_manage_browser_test.ts");

Deno.test({
  name: "dashboard management: rules with a preview, webhooks, API keys; axe and screenshots",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using mock = mockPlatform(() => Response.json({ events_received: 1 }));
    await using receiver = mockPlatform(() => new Response("ok, got it"));
    const dir = await Deno.makeTempDir({ prefix: "sluice-manage-" });
    await using server = new SpawnedServer(
      `${dir}/sluice.kv`,
      dashboardEnv({ SLUICE_ALLOW_PRIVATE_URLS: "1" }),
      { name: "the dashboard server" },
    );
    await server.ready();
    const base = server.base;
    const ws = await postApi(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });
    for (const name of ["Meta pixel", "Meta (second pixel)"]) {
      await postApi(base, "/v1/platforms", ws.admin_key, {
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
      await postApi(base, "/v1/events", ws.ingest_key, { event_name, value, currency: "EUR" });
    }

    await using owner = await headlessBrowser();
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

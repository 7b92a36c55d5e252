/**
 * Creating a workspace in a real browser (Debian's Chromium, headless, playwright-core): the
 * bootstrap owner follows the switcher's "New workspace" link, sends a bad form (messages next
 * to the fields), then a good one (the keys shown once, the switcher on the new workspace);
 * the keys page with its "Last used" column after the new ingest key sent an event. axe-core
 * in light and dark on each page; screenshots at 1280 and 390 px in tests/artifacts/screenshots/.
 * Skipped, with a notice, without /usr/bin/chromium.
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
import { SpawnedServer } from "./_server.ts";

const hasChromium = await chromiumFor("dashboard_workspaces_browser_test.ts");

Deno.test({
  name:
    "dashboard workspace creation: the form, its refusal, the keys once; keys' last use; axe and screenshots",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-workspaces-" });
    await using server = new SpawnedServer(`${dir}/sluice.kv`, dashboardEnv(), {
      name: "the dashboard server",
    });
    await server.ready();
    const base = server.base;
    await postApi(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });

    await using browser = await headlessBrowser();
    const page = await browser.newPage();
    await signIn(page, base, OWNER.email, OWNER.password);
    await page.waitForURL(`${base}/`);

    await page.getByRole("link", { name: "New workspace" }).click();
    await page.waitForURL(`${base}/workspaces/new`);
    await review(page, "workspace-new");

    await page.getByLabel("Allowed origins, one per line (optional)").fill(
      "https://second.example\nshop.example",
    );
    await page.getByRole("button", { name: "Create the workspace" }).click();
    await page.getByText("Give the workspace a name of 1 to 100 characters.").waitFor();
    await page.getByText('Line 2 ("shop.example")').waitFor();
    assert.equal(await page.getByLabel("Name").getAttribute("aria-invalid"), "true");
    await review(page, "workspace-refused");

    await page.getByLabel("Name").fill("Second shop");
    await page.getByLabel("Allowed origins, one per line (optional)").fill(
      "https://second.example\nhttps://*.second.example",
    );
    await page.getByRole("button", { name: "Create the workspace" }).click();
    await page.getByRole("heading", { name: 'Workspace "Second shop" created' }).waitFor();
    const secrets = await page.locator("code.secret").allInnerTexts();
    assert.equal(secrets.length, 2);
    assert.equal(
      await page.getByLabel("Workspace").locator("option:checked").innerText(),
      "Second shop (owner)",
    );
    await review(page, "workspace-created");

    // The new ingest key sends an event; the keys page shows when each key was last used.
    await postApi(base, "/v1/events", secrets[1]!, { event_name: "lead" });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" })
      .click();
    const ingestRow = page.getByRole("row", { name: /Default ingest/ });
    assert.equal(await ingestRow.locator("td[data-label='Last used']").innerText(), "just now");
    const adminRow = page.getByRole("row", { name: /Default admin/ });
    assert.equal(await adminRow.locator("td[data-label='Last used']").innerText(), "never");
    await review(page, "keys-last-used");
  },
});

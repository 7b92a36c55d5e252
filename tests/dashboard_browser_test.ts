/**
 * The dashboard in a real browser (Debian's Chromium, headless, through playwright-core):
 * sign in, watch an event arrive live, search its order id, open it and read the request
 * Sluice sent and the mock platform's answer; a viewer who sees no PII; CSRF refused without
 * the token; sign-in throttled; axe-core on every page (no serious or critical violation).
 * Screenshots at 1280 and 390 px go to tests/artifacts/screenshots/ (git-ignored).
 * Skipped, with a notice, where /usr/bin/chromium is missing.
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
import { eventually } from "./_wait.ts";

const hasChromium = await chromiumFor("dashboard_browser_test.ts");

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
    await using server = new SpawnedServer(
      `${dir}/sluice.kv`,
      dashboardEnv({ SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms" }),
      { name: "the dashboard server" },
    );
    await server.ready();
    const base = server.base;
    const ws = await postApi(base, "/v1/workspaces", ROOT_TOKEN, { name: "Demo shop" });
    await postApi(base, "/v1/platforms", ws.admin_key, {
      type: "meta",
      name: "Meta pixel",
      config: { pixel_id: "1234567890", access_token: "EAABbrowsertestsecret", endpoint: mock.url },
    });
    await postApi(base, "/v1/events", ws.ingest_key, {
      event_name: "page_view",
      source: "web",
      user_data: { email: "first.visitor@example.com" },
    });

    await using owner = await headlessBrowser();
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
    const sent = await postApi(base, "/v1/events", ws.ingest_key, {
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
    await postApi(base, "/v1/events", ws.ingest_key, { event_name: "lead", order_id: "ORD-HELD" });
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

    // An email names two purchases: the search lists them, newest first.
    await postApi(base, "/v1/events", ws.ingest_key, {
      event_name: "purchase",
      order_id: "ORD-LIVE-2",
      user_data: { email: "Jane.Doe@example.com" },
    });
    await eventually("both purchases found by the email", async () => {
      await page.goto(`${base}/search?q=${encodeURIComponent("jane.doe@example.com")}`);
      return await page.getByText("2 events match").count() > 0 || undefined;
    });
    const listed = await page.locator("main").innerText();
    assert.ok(listed.indexOf("ORD-LIVE-2") < listed.indexOf("ORD-LIVE-1"), "newest first");
    await review(page, "search");
    await page.goto(`${base}/events/${sent.event_id}`);

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

    await using guest = await headlessBrowser();
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
    await viewer.goto(`${base}/search?q=${encodeURIComponent("jane.doe@example.com")}`);
    await viewer.getByText("Viewers cannot search by email").waitFor();
    await review(viewer, "search-viewer");

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

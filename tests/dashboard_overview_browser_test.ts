/**
 * The overview and the Data quality page in a real browser (Debian's Chromium, headless,
 * through playwright-core): events delivered to two loopback Meta mocks (one refuses two of
 * them), a browser/server pair and an order sent under two event ids, over a history of
 * counters for the earlier hours and days; the uPlot chart drawn on its canvas in light and
 * dark, the cards' badges with their numbers, the span links, and the quality page's figures;
 * axe-core in light and dark (no serious or critical violation) and screenshots at 1280 and
 * 390 px in tests/artifacts/screenshots/ (git-ignored). Skipped, with a notice, without
 * /usr/bin/chromium.
 */
import assert from "node:assert/strict";
import { CounterBatch, DAY_MS, FAMILY, HOUR_MS } from "../lib/analytics/counters.ts";
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
import { metaRefusing, mockPlatform } from "./_mock_platform.ts";
import { SpawnedServer } from "./_server.ts";
import { eventually } from "./_wait.ts";

const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
const REFUSED = new Set(["s2", "s3"]);
const hasChromium = await chromiumFor("dashboard_overview_browser_test.ts");

/**
 * The earlier hours and days the test cannot wait for, written as counters into the stopped
 * server's KV file: per hour of the last day and per day of the month before, events with a
 * few duplicates and rejections, and their deliveries (Flaky failing some) with latencies.
 */
async function writeHistory(path: string, wsId: string, meta: string, flaky: string) {
  await using kv = await Deno.openKv(path);
  const batch = new CounterBatch();
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const moments = [
    ...Array.from({ length: 23 }, (_, i) => ({ at: hour - (i + 1) * HOUR_MS, scale: 1 })),
    ...Array.from({ length: 28 }, (_, i) => ({
      at: Math.floor(Date.now() / DAY_MS) * DAY_MS - (i + 2) * DAY_MS + 12 * HOUR_MS,
      scale: 20,
    })),
  ];
  moments.forEach(({ at, scale }, i) => {
    const events = Math.round(scale * (12 + 8 * Math.sin(i / 3)));
    const failed = i % 5 === 0 ? Math.ceil(events / 6) : 0;
    batch.add(wsId, at, "events", "", events);
    batch.add(wsId, at, "duplicates", "", i % 4 === 0 ? scale : 0);
    batch.add(wsId, at, "rejected", "", i % 7 === 0 ? scale : 0);
    batch.add(wsId, at, FAMILY.destinations, `${meta}|delivered`, events);
    batch.add(wsId, at, FAMILY.destinations, `${flaky}|delivered`, events - failed);
    batch.add(wsId, at, FAMILY.destinations, `${flaky}|failed|validation`, failed);
    for (const [dest, n] of [[meta, events], [flaky, events - failed]] as const) {
      batch.add(wsId, at, FAMILY.latency, "b2", n);
      batch.add(wsId, at, FAMILY.latency, `b2|${dest}`, n);
      batch.add(wsId, at, FAMILY.latency, `sum|${dest}`, n * 700);
      batch.add(wsId, at, FAMILY.latency, `n|${dest}`, n);
    }
  });
  let rest = batch;
  while (rest.size > 0) {
    const op = kv.atomic();
    rest = rest.addTo(op, 900);
    assert.ok((await op.commit()).ok);
  }
}

/** Waits until both destinations answered the event. */
async function settled(base: string, key: string, eventId: string): Promise<void> {
  await eventually(`the deliveries of ${eventId}`, async () => {
    const res = await fetch(`${base}/v1/events/${eventId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (!res.ok) return void await res.body?.cancel();
    const rows = (await res.json() as { deliveries: { status: string }[] }).deliveries;
    return (rows.length === 2 && rows.every((r) => /delivered|failed/.test(r.status))) ||
      undefined;
  }, 10_000);
}

async function browserEvent(base: string, publicId: string, event: Record<string, unknown>) {
  return await fetch(`${base}/v1/browser/events`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ORIGIN, "user-agent": CHROME },
    body: JSON.stringify({ public_id: publicId, ...event }),
  });
}

Deno.test({
  name: "dashboard overview and data quality: chart, cards, badges, spans; axe and screenshots",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using metaMock = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
    await using flakyMock = metaRefusing(REFUSED);
    const dir = await Deno.makeTempDir({ prefix: "sluice-dash-overview-" });
    const path = `${dir}/sluice.kv`;
    const first = new SpawnedServer(
      path,
      dashboardEnv({ SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms" }),
      { name: "the first server" },
    );
    await first.ready();
    const ws = await postApi(first.base, "/v1/workspaces", ROOT_TOKEN, {
      name: "Demo shop",
      allowed_origins: [ORIGIN],
    });
    const connect = async (name: string, endpoint: string) =>
      (await postApi(first.base, "/v1/platforms", ws.admin_key, {
        type: "meta",
        name,
        config: { pixel_id: "1234567890", access_token: "EAABbrowsertestsecret", endpoint },
      })).id as string;
    const meta = await connect("Meta pixel", metaMock.url);
    const flaky = await connect("Meta (second pixel)", flakyMock.url);
    await first.stop("SIGTERM");
    await writeHistory(path, ws.id, meta, flaky);

    await using server = new SpawnedServer(
      path,
      dashboardEnv({ SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms" }),
      { name: "the dashboard server" },
    );
    await server.ready();
    const base = server.base;
    const purchase = { event_name: "purchase", value: 10, currency: "EUR" };
    const events = [
      {
        ...purchase,
        event_id: "s1",
        order_id: "ORD-1",
        user_data: { email: "ann@example.com", phone: "+4915112345678" },
      },
      { ...purchase, event_id: "s2", order_id: "ORD-2", user_data: { email: "bob@example.com" } },
      { event_id: "s3", event_name: "lead", user_data: { email: "cy@example.com" } },
      { event_id: "p1", event_name: "lead", user_data: { email: "dee@example.com" } },
    ];
    for (const event of events) {
      await postApi(base, "/v1/events", ws.ingest_key, event);
      await settled(base, ws.admin_key, event.event_id);
    }
    const copy = await browserEvent(base, ws.public_id, events[3]!);
    assert.equal(copy.status, 409, "the browser's copy of p1 is a duplicate");
    await copy.body?.cancel();
    const b1 = await browserEvent(base, ws.public_id, {
      ...purchase,
      event_id: "b1",
      order_id: "ORD-1",
      page: { url: `${ORIGIN}/thanks` },
      user_data: { email: "ann@example.com" },
    });
    assert.equal(b1.status, 202, await b1.text());
    await settled(base, ws.admin_key, "b1");

    await using owner = await headlessBrowser();
    const page = await owner.newPage();
    await signIn(page, base, OWNER.email, OWNER.password);
    await page.waitForURL(`${base}/`);

    const canvas = page.locator(".volume-plot canvas");
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(
      box && box.width > 600 && box.height > 150,
      `the chart is drawn: ${JSON.stringify(box)}`,
    );
    assert.equal(await page.locator(".volume-svg").count(), 0, "uPlot replaced the SVG lines");
    const legend = page.locator(".u-legend .u-series");
    assert.deepEqual(await legend.locator(".u-label").allTextContents(), [
      "Time",
      "Accepted",
      "Duplicates",
      "Rejected",
    ]);
    const metaCard = page.locator("article", {
      has: page.getByRole("heading", { name: "Meta pixel" }),
    });
    const flakyCard = page.locator("article", {
      has: page.getByRole("heading", { name: "Meta (second pixel)" }),
    });
    // Meta took s1, s2, s3, p1 and b1: email on all, phone on one, IP and user agent on b1.
    await metaCard.getByRole("link", { name: "Match quality 3.5 / 10" }).waitFor();
    await flakyCard.getByRole("link", { name: "Match quality 3.8 / 10" }).waitFor();
    await metaCard.getByRole("link", { name: "Pairs merged 50 % (1 of 2)" }).waitFor();
    await flakyCard.getByText(/Last error .*Invalid parameter/).waitFor();
    assert.equal(await page.locator(".sparkline").count(), 2);
    await review(page, "overview-chart");
    assert.equal(await canvas.count(), 1, "one chart after the theme changes");

    await page.getByRole("link", { name: "30 days" }).click();
    await page.waitForURL(`${base}/?range=30d`);
    await page.getByRole("heading", { name: "Events per day" }).waitFor();
    await canvas.waitFor();
    await review(page, "overview-30d");

    await metaCard.getByRole("link", { name: /Match quality/ }).click();
    await page.waitForURL(/\/quality\?range=30d#q-/);
    await page.getByRole("heading", { name: "Match quality per destination" }).waitFor();
    await page.getByText("3.5 / 10").waitFor();
    await page.getByText(/add phone: present on 33 % of purchases/).first().waitFor();
    await page.getByText("2 orders received (each order id once).").waitFor();
    await review(page, "quality");
  },
});

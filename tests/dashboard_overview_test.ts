/**
 * The overview page over app.request: events ingested over HTTP (server and browser) and
 * delivered to two loopback Meta mocks (one refuses two events) and a paused third; the
 * page's headline, volume table, cards, sparklines and badges are checked against numbers
 * worked out by hand, with and without JavaScript, for each span and for a viewer; and a
 * load reads the same KV entries however many events there are.
 */
import assert from "node:assert/strict";
import { FAMILY } from "../lib/analytics/counters.ts";
import { createAccount, getPage, type SignedIn, signIn } from "./_dashboard.ts";
import { connectMeta, deliveriesWhen, DELIVERY_ENV } from "./_delivery.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { expectJson, expectProblem, jsonWith } from "./_http.ts";
import { metaRefusing, mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const ORIGIN = "https://shop.example";
const CHROME =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
/** The flaky destination refuses these events (Meta code 100). */
const REFUSED = new Set(["s2", "s3"]);

/** Waits until every destination has a settled row for the event. */
async function settled(s: TestSluice, eventId: string, destinations: number): Promise<void> {
  await deliveriesWhen(
    s,
    eventId,
    (rows) =>
      rows.length === destinations &&
      rows.every((r) => ["delivered", "failed", "skipped"].includes(r.status)),
  );
}

/** A server event, answered 202, then waited for until every destination answered it. */
async function server(
  s: TestSluice,
  event: Record<string, unknown>,
  destinations: number,
): Promise<void> {
  await expectJson(await s.request("/v1/events", jsonInit(event, s.workspace.ingest_key)), 202);
  await settled(s, String(event.event_id), destinations);
}

function browser(s: TestSluice, event: Record<string, unknown>): Promise<Response> {
  return s.request(
    "/v1/browser/events",
    jsonWith({ public_id: s.workspace.public_id, ...event }, {
      origin: ORIGIN,
      "user-agent": CHROME,
    }),
    "198.51.100.7",
  );
}

/**
 * Meta takes everything; Flaky refuses s2 and s3; Paused is disabled first (no rows). Accepted: s1,
 * s2, s3, p1, b1 (5). Duplicate: p1's browser copy (a merged server → browser pair).
 * Rejected: the EURO purchase. b1 is order ORD-1 again under another event id: a mismatched
 * pair, sent to Meta and Flaky, which key on the event id, so counted twice there.
 */
async function seed(s: TestSluice, paused: string): Promise<void> {
  await expectJson(
    await s.request(`/v1/platforms/${paused}`, {
      ...jsonInit({ enabled: false }, s.workspace.admin_key, "PATCH"),
    }),
    200,
  );
  const purchase = { event_name: "purchase", value: 10, currency: "EUR" };
  await server(s, {
    ...purchase,
    event_id: "s1",
    order_id: "ORD-1",
    user_data: { email: "ann@example.com", phone: "+4915112345678" },
  }, 2);
  await server(s, {
    ...purchase,
    event_id: "s2",
    order_id: "ORD-2",
    user_data: { email: "bob@example.com" },
  }, 2);
  await server(
    s,
    { event_id: "s3", event_name: "lead", user_data: { email: "cy@example.com" } },
    2,
  );
  await server(
    s,
    { event_id: "p1", event_name: "lead", user_data: { email: "dee@example.com" } },
    2,
  );
  await expectProblem(
    await browser(s, {
      event_id: "p1",
      event_name: "lead",
      user_data: { email: "dee@example.com" },
    }),
    409,
  );
  await expectJson(
    await browser(s, {
      ...purchase,
      event_id: "b1",
      order_id: "ORD-1",
      page: { url: `${ORIGIN}/thanks` },
      user_data: { email: "ann@example.com" },
    }),
    202,
  );
  await settled(s, "b1", 2);
  await expectProblem(
    await s.request(
      "/v1/events",
      jsonInit({ event_name: "purchase", value: 1, currency: "EURO" }, s.workspace.ingest_key),
    ),
    400,
  );
}

/** The card of a destination, from its heading to the end of its article. */
function cardOf(html: string, name: string): string {
  const start = html.search(new RegExp(`<h3 id="card-[^"]+">${name} `));
  assert.ok(start >= 0, `a card for ${name}`);
  return html.slice(start, html.indexOf("</article>", start));
}

Deno.test("GET / shows the span's figures, the volume and a card per destination", async (t) => {
  await using metaMock = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  await using flakyMock = metaRefusing(REFUSED);
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectMeta(s, "Meta", metaMock.url);
  await connectMeta(s, "Flaky", flakyMock.url);
  const paused = await connectMeta(s, "Paused", metaMock.url);
  await seed(s, paused);
  await createAccount(s, "owner@example.com", "instance");
  const owner = await signIn(s, "owner@example.com");
  const html = await eventually("the duplicate and rejected counters", async () => {
    const text = await (await getPage(s, owner, "/")).text();
    return /5 accepted, 1 duplicate, 1 rejected/.test(text) ? text : undefined;
  }, 5_000);

  await t.step("the headline and the volume, 24 hours by default", () => {
    assert.match(html, /<a href="\/\?range=24h" aria-current="page">24 hours<\/a>/);
    assert.match(html, /<a href="\/\?range=7d">7 days<\/a>/);
    assert.match(html, /<strong>5<\/strong><span>events accepted<\/span>/);
    assert.match(html, /<strong>1<\/strong><span>duplicates<\/span>/);
    assert.match(html, /<strong>1<\/strong><span>rejected<\/span>/);
    // Answered: Meta 5 delivered, Flaky 3 delivered and 2 failed (Paused only skipped).
    assert.match(html, /<strong>80\.0 %<\/strong><span>delivered of those answered/);
    assert.match(html, /<h2 id="volume">Events per hour<\/h2>/);
    assert.match(html, /Last 24 hours, UTC: 5 accepted, 1 duplicate, 1 rejected\./);
  });

  await t.step("without JavaScript: SVG lines, a legend and the numbers per hour", () => {
    assert.match(html, /<div data-island="VolumeChart" data-props="[^"]*&quot;events&quot;:\[0,/);
    assert.match(
      html,
      /<svg class="volume-svg"[^>]*role="img" aria-label="Events per hour, last 24 hours \(UTC\): 5 accepted/,
    );
    assert.equal(html.match(/<polyline class="line-(events|duplicates|rejected)"/g)?.length, 3);
    assert.match(html, /<summary>The numbers per hour<\/summary>/);
    const rows = [
      ...html.matchAll(/<tr><th scope="row">(\d{4}-\d\d-\d\d \d\d:00)<\/th>(.*?)<\/tr>/g),
    ];
    assert.equal(rows.length, 24, "one row per hour");
    const cells = rows.map((r) =>
      [...r[2]!.matchAll(/<td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]))
    );
    const sums = [0, 1, 2].map((col) => cells.reduce((sum, row) => sum + (row[col] ?? 0), 0));
    assert.deepEqual(sums, [5, 1, 1]);
  });

  await t.step("a card per destination: counts, sparkline, latency, badges, last error", () => {
    const meta = cardOf(html, "Meta");
    assert.match(meta, /<strong>5<\/strong><span>delivered<\/span>/);
    assert.match(meta, /<strong>0<\/strong><span>failed<\/span>/);
    assert.match(
      meta,
      /aria-label="Delivered and failed per hour: at most 5 delivered and 0 failed/,
    );
    // Meta took 5 events: email on all (30), phone on 1 (15 / 5), IP and user agent on the
    // browser's b1 (4 / 5 each): 10 × 34.6 / 100 = 3.46.
    assert.match(
      meta,
      /class="badge badge-poor" href="\/quality\?range=24h#q-[^"]+">Match quality <strong>3\.5 \/ 10/,
    );
    // One merged pair (p1) and one order under two event ids (b1), which Meta counts twice.
    assert.match(
      meta,
      /class="badge badge-fair" href="\/quality\?range=24h#dedup">Pairs merged <strong>50 %<\/strong> \(1 of 2\)/,
    );
    assert.match(
      meta,
      /Accept → delivery: p95 <strong>[\d.]+ m?s<\/strong>, average <strong>[\d.]+ m?s<\/strong>/,
      "each destination's own p95, from its histogram",
    );
    assert.match(meta, /No failure in this span\./);

    const flaky = cardOf(html, "Flaky");
    assert.match(flaky, /<strong>3<\/strong><span>delivered<\/span>/);
    assert.match(flaky, /<strong>2<\/strong><span>failed<\/span>/);
    assert.match(flaky, /at most 3 delivered and 2 failed in one hour/);
    // Flaky took s1, p1, b1: email 30, phone 15 / 3, IP and user agent 4 / 3 each: 3.77.
    assert.match(flaky, /Match quality <strong>3\.8 \/ 10/);
    assert.match(flaky, /Last error \([^)]+ UTC\):<\/span> [^<]*Invalid parameter/);

    const off = cardOf(html, "Paused");
    assert.match(off, /chip-paused/);
    assert.match(
      off,
      /<strong>0<\/strong><span>skipped<\/span>/,
      "a disabled destination gets no rows",
    );
    assert.doesNotMatch(off, /p95/, "no timed delivery, no p95");
    // The merged pair is counted at ingest for every destination; one sent nothing shows none.
    assert.match(off, /class="badge badge-none" href="[^"]+#dedup">Dedup: no pairs/);
    assert.match(off, /class="badge badge-none" href="[^"]+">Match quality <strong>—<\/strong>/);
    assert.match(html, /<strong>Paused is paused<\/strong>: events are not sent to it\./);
  });

  await t.step("7 and 30 days read per UTC day; an unknown span is 24 hours", async () => {
    const week = await (await getPage(s, owner, "/?range=7d")).text();
    assert.match(week, /<a href="\/\?range=7d" aria-current="page">/);
    assert.match(week, /<h2 id="volume">Events per day<\/h2>/);
    assert.match(week, /<th scope="col">Day \(UTC\)<\/th>/);
    const days = [...week.matchAll(/<tr><th scope="row">(\d{4}-\d\d-\d\d)<\/th>/g)];
    assert.equal(days.length, 7);
    assert.equal(days.at(-1)![1], new Date().toISOString().slice(0, 10), "today last");
    assert.match(cardOf(week, "Flaky"), /at most 3 delivered and 2 failed in one day/);
    assert.match(week, /href="\/quality\?range=7d#dedup"/);
    const month = await (await getPage(s, owner, "/?range=30d")).text();
    assert.equal([...month.matchAll(/<tr><th scope="row">\d{4}-\d\d-\d\d<\/th>/g)].length, 30);
    assert.match(cardOf(month, "Meta"), /<strong>5<\/strong><span>delivered<\/span>/);
    const odd = await (await getPage(s, owner, "/?range=1y")).text();
    assert.match(odd, /<a href="\/\?range=24h" aria-current="page">/);
  });

  await t.step("a viewer sees the counts and badges, and no personal data", async () => {
    await createAccount(s, "viewer@example.com", "viewer");
    const viewer: SignedIn = await signIn(s, "viewer@example.com");
    const res = await getPage(s, viewer, "/");
    const page = await res.text();
    assert.equal(res.status, 200, page);
    assert.match(cardOf(page, "Flaky"), /<strong>2<\/strong><span>failed<\/span>/);
    assert.match(page, /Pairs merged <strong>50 %/);
    for (const pii of ["ann@", "bob@", "cy@", "dee@", "4915112345678", "198.51.100.7"]) {
      assert.ok(!page.includes(pii), `the page shows no ${pii}`);
    }
  });
});

Deno.test("GET / shows a destination's p95 latency on its card: the headline's when it is the only one timed", async () => {
  await using mock = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  await using s = await openTestSluice(DELIVERY_ENV);
  await connectMeta(s, "Meta", mock.url);
  await server(
    s,
    { event_id: "one", event_name: "lead", user_data: { email: "a@example.com" } },
    1,
  );
  await createAccount(s, "owner@example.com", "instance");
  const html = await (await getPage(s, await signIn(s, "owner@example.com"), "/")).text();
  const p95 = /<strong>([^<]+)<\/strong><span>p95 accept → delivery/.exec(html)?.[1];
  assert.match(p95 ?? "", /^\d+(\.\d)? m?s$/, "the headline's p95");
  assert.ok(
    cardOf(html, "Meta").includes(`Accept → delivery: p95 <strong>${p95}</strong>, average`),
  );
});

/**
 * A KV handle that counts the entries its range reads yield and the keys it gets. Latency
 * histogram bins are left out: how many are filled depends on how fast the mock answered
 * (a slow answer fills one more bin), not on how many events there were.
 */
function countingKv(kv: Deno.Kv): { kv: Deno.Kv; reads: () => number; reset: () => void } {
  let reads = 0;
  const proxy = new Proxy(kv, {
    get(target, name) {
      if (name === "list") {
        return (...args: Parameters<Deno.Kv["list"]>) => {
          const iterator = target.list(...args);
          return {
            cursor: "",
            async *[Symbol.asyncIterator]() {
              for await (const entry of iterator) {
                const latencyBin = entry.key[2] === FAMILY.latency &&
                  /^b\d+/.test(String(entry.key.at(-1)));
                if (!latencyBin) reads++;
                yield entry;
              }
            },
          };
        };
      }
      if (name === "get") {
        return (...args: Parameters<Deno.Kv["get"]>) => (reads++, target.get(...args));
      }
      if (name === "getMany") {
        return (keys: Deno.KvKey[], options?: { consistency?: Deno.KvConsistencyLevel }) => (
          reads += keys.length, target.getMany(keys, options)
        );
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv: proxy, reads: () => reads, reset: () => reads = 0 };
}

Deno.test("GET / reads as many KV entries for 40 events as for 8", async () => {
  await using mock = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  const counting = countingKv(await Deno.openKv(":memory:"));
  await using s = await openTestSluice(DELIVERY_ENV, undefined, { kv: counting.kv });
  await connectMeta(s, "Meta", mock.url);
  await connectMeta(s, "Other", mock.url);
  await createAccount(s, "owner@example.com", "instance");
  const owner = await signIn(s, "owner@example.com");
  const load = async (upTo: number) => {
    for (let i = upTo === 8 ? 0 : 8; i < upTo; i++) {
      await server(s, {
        event_id: `e${i}`,
        event_name: "purchase",
        order_id: `O${i}`,
        value: 5,
        currency: "EUR",
        user_data: { email: `buyer${i}@example.com` },
      }, 2);
    }
    counting.reset();
    const page = await (await getPage(s, owner, "/?range=7d")).text();
    const reads = counting.reads();
    assert.match(page, new RegExp(`<strong>${upTo}</strong><span>events accepted`));
    return reads;
  };
  const few = await load(8);
  const many = await load(40);
  assert.ok(few > 0 && few < 400, `a load reads a few hundred entries at most: ${few}`);
  assert.equal(many, few, "the reads do not grow with the events");
  console.log(`KV entries read per overview load: ${few}`);
});

/**
 * Analytics benchmark: `deno task bench:analytics [--events N] [--days N] [--runs N] [--rounds N]`.
 *
 * 1. Seeds one workspace of a fresh KV file with N events over the last D days (default
 *    1,000,000 over 90) through the code the write path runs, not HTTP: the ingest
 *    commit's counting (countVolume, duplicate pairs), fan-out's (FanOutCounts.plan: routes,
 *    visitor funnel masks and touches, orders, revenue) and the delivery rows'
 *    (countRowChange: delivered, failed with a reason, skipped, retried, latency,
 *    identifiers). Three destinations (Meta, GA4, a webhook). Then one pass of the counter
 *    upkeep, as a running server makes hourly: finished days' volume hours folded, hours
 *    past 35 days deleted.
 * 2. Times every `/v1/analytics/*` endpoint through the app (in process, `app.request`):
 *    the first (cold) call, then p50 and p95 of `--runs` more.
 * 3. Measures ingest with and without the analytics counters in the same run, alternating
 *    rounds on fresh KV files: the commit alone (GroupCommitter with `counters: "volume"` vs
 *    `"analytics"`), the ingest path (Ingestor: parse, seal, commit) with one event per call
 *    and with batches of 100, and fan-out plus delivery to a Meta destination whose sender
 *    answers at once (DeliveryEngine with `analytics: false` vs `true`). Ratios are against
 *    the baseline of the same round.
 *
 * Figures only: nothing here passes or fails on timing. On a shared 2-core machine they
 * are noisy; compare ratios, not absolute numbers.
 *
 * Options (flag, or environment variable):
 *   --events N   BENCH_EVENTS   events seeded (1000000)
 *   --days N     BENCH_DAYS     days they span, ending now (90)
 *   --runs N     BENCH_RUNS     timed calls per endpoint after the cold one (20)
 *   --rounds N   BENCH_ROUNDS   alternating rounds of each ingest measurement (3)
 *   --ingest N   BENCH_INGEST   events per ingest round (20000)
 *   --part P     BENCH_PART     all, reads (seed and time the endpoints) or writes (the
 *                               with/without comparison alone) (all)
 */
import { parseArgs } from "node:util";
import { monotonicFactory } from "ulid";
import { connectorFor } from "../connectors/mod.ts";
import type { SluiceEvent } from "../core/event.ts";
import { CounterBatch, DAY_MS, FAMILY } from "../lib/analytics/counters.ts";
import { FanOutCounts } from "../lib/analytics/fan_out_counts.ts";
import { countVolume, duplicatePair } from "../lib/analytics/ingest_counts.ts";
import { originOf } from "../lib/analytics/labels.ts";
import { OrderBook } from "../lib/analytics/orders.ts";
import { countRowChange, type RowState } from "../lib/analytics/transitions.ts";
import { AnalyticsWrites } from "../lib/analytics/writes.ts";
import { processCpuMs } from "./_storage_floor.ts";
import { parseConfig } from "../lib/config.ts";
import { DeliveryEngine } from "../lib/delivery/engine.ts";
import { DestinationStore } from "../lib/delivery/destinations.ts";
import { EventLoader } from "../lib/delivery/event_loader.ts";
import type { RouteDecision } from "../lib/delivery/rules.ts";
import { RuleStore } from "../lib/delivery/rules.ts";
import type { Sender } from "../lib/delivery/send.ts";
import { eventSealer } from "../lib/event_store.ts";
import { type CommitItem, GroupCommitter } from "../lib/ingest/group_commit.ts";
import { Ingestor } from "../lib/ingest/ingestor.ts";
import { RateLimiter } from "../lib/ingest/rate_limit.ts";
import { prepareEvents } from "../lib/ingest/workers.ts";
import { KvQueue } from "../lib/queue/mod.ts";
import { openRuntime } from "../lib/runtime.ts";
import { DEFAULT_SETTINGS, type Workspace } from "../lib/workspaces.ts";
import { createApp } from "../routes/app.ts";

interface Settings {
  events: number;
  days: number;
  runs: number;
  rounds: number;
  ingest: number;
  part: Part;
}

/** What a run measures: the endpoints, the write path's cost, or both. */
const PARTS = ["all", "reads", "writes"] as const;
type Part = typeof PARTS[number];

function settingsFrom(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: "string" },
      days: { type: "string" },
      runs: { type: "string" },
      rounds: { type: "string" },
      ingest: { type: "string" },
      part: { type: "string" },
    },
  });
  const part = values.part ?? Deno.env.get("BENCH_PART") ?? "all";
  if (!PARTS.includes(part as Part)) {
    throw new Error(`BENCH_PART: "${part}" is not one of ${PARTS.join(", ")}`);
  }
  const num = (flag: string | undefined, env: string, fallback: number) => {
    const text = flag ?? Deno.env.get(env);
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${env}: "${text}" is not an integer ≥ 1`);
    return n;
  };
  return {
    events: num(values.events, "BENCH_EVENTS", 1_000_000),
    days: num(values.days, "BENCH_DAYS", 90),
    runs: num(values.runs, "BENCH_RUNS", 20),
    rounds: num(values.rounds, "BENCH_ROUNDS", 3),
    ingest: num(values.ingest, "BENCH_INGEST", 20_000),
    part: part as Part,
  };
}

/** A small seeded PRNG (mulberry32), so every run seeds the same data. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES: [string, number][] = [
  ["page_view", 0.55],
  ["view_content", 0.2],
  ["add_to_cart", 0.1],
  ["initiate_checkout", 0.06],
  ["purchase", 0.04],
  ["lead", 0.03],
  ["newsletter_signup", 0.02],
];
const UTM_SOURCES = ["google", "facebook", "newsletter", "instagram", "tiktok", "bing", "partner"];
const CURRENCIES: [string, number][] = [["EUR", 0.7], ["USD", 0.25], ["JPY", 0.05]];

/** Synthetic events, in time order, with the mix a shop sends. */
class EventMaker {
  readonly #random: () => number;
  readonly #ulid = monotonicFactory();
  readonly #wsId: string;
  #orders = 0;

  constructor(wsId: string, seed: number) {
    this.#wsId = wsId;
    this.#random = prng(seed);
  }

  #pick<T>(table: [T, number][]): T {
    let r = this.#random();
    for (const [value, weight] of table) {
      if ((r -= weight) < 0) return value;
    }
    return table[0]![0];
  }

  /** What the next event is made of (its draws, in a fixed order). */
  #draw(index: number) {
    const r = this.#random;
    const name = this.#pick(NAMES);
    const visitor = `v${Math.floor(r() * 150_000)}`;
    const utm = name === "page_view" && r() < 0.15
      ? UTM_SOURCES[Math.floor(r() * UTM_SOURCES.length)]!
      : undefined;
    const clickDraw = name === "page_view" && r() < 0.1 ? r() : undefined;
    const click = clickDraw === undefined
      ? undefined
      : clickDraw < 0.5
      ? "fbclid" as const
      : clickDraw < 0.9
      ? "gclid" as const
      : "ttclid" as const;
    const currency = this.#pick(CURRENCIES);
    return {
      name,
      visitor,
      utm,
      click,
      web: r() < 0.7,
      email: r() < 0.6,
      phone: r() < 0.2,
      device: r() < 0.9,
      fbp: r() < 0.5,
      order: name === "purchase" ? `o${this.#orders++}` : undefined,
      value: currency === "JPY" ? 1000 + Math.floor(r() * 9000) : 10 + Math.floor(r() * 190),
      currency,
      index,
    };
  }

  /** The native input of an event (what a sender posts to POST /v1/events). */
  input(index: number): Record<string, unknown> {
    const d = this.#draw(index);
    const params = new URLSearchParams();
    if (d.utm) params.set("utm_source", d.utm);
    if (d.click) params.set(d.click, `c${index}`);
    return {
      event_id: `ev-${this.#wsId}-${index}`,
      event_name: d.name,
      source: d.web ? "web" : "server",
      action_source: "website",
      page: { url: `https://shop.example/p/${index % 500}?${params}` },
      user_data: {
        anonymous_id: d.visitor,
        ...(d.email ? { email: `${d.visitor}@example.com` } : {}),
        ...(d.phone ? { phone: "+1 650 555 1212" } : {}),
        ...(d.device ? { client_ip: "203.0.113.9", user_agent: "Mozilla/5.0 bench" } : {}),
        browser_ids: d.fbp ? { fbp: `fb.1.1.${d.visitor}` } : { ga: `GA1.1.${index}.1` },
      },
      ...(d.order ? { order_id: d.order, value: d.value, currency: d.currency } : {}),
    };
  }

  /**
   * The canonical event ingest would store for the same draws, received at `at`: built
   * directly (the click id, fbc and UTM source enrichment takes from the page URL
   * included), since parsing a million events would only slow the seeding down.
   */
  event(index: number, at: number): SluiceEvent {
    const d = this.#draw(index);
    const clickId = `c${index}`;
    return {
      id: this.#ulid(at),
      workspace_id: this.#wsId,
      event_id: `ev-${this.#wsId}-${index}`,
      event_name: d.name,
      event_time: at,
      received_at: at,
      source: d.web ? "web" : "server",
      action_source: "website",
      dialect: d.web ? "browser" : "native",
      page: { url: `https://shop.example/p/${index % 500}`, path: `/p/${index % 500}` },
      ...(d.utm ? { utm: { source: d.utm } } : {}),
      user_data: {
        anonymous_id: d.visitor,
        ...(d.email ? { email: `${d.visitor}@example.com` } : {}),
        ...(d.phone ? { phone: "+1 650 555 1212" } : {}),
        ...(d.device ? { client_ip: "203.0.113.9", user_agent: "Mozilla/5.0 bench" } : {}),
        ...(d.click ? { click_ids: { [d.click]: clickId } } : {}),
        browser_ids: {
          ...(d.fbp ? { fbp: `fb.1.1.${d.visitor}` } : { ga: `GA1.1.${index}.1` }),
          ...(d.click === "fbclid" ? { fbc: `fb.1.${at}.${clickId}` } : {}),
        },
      },
      ...(d.order ? { order_id: d.order, value: d.value, currency: d.currency } : {}),
      properties: {},
      trace_id: "bench",
    };
  }

  /** A number in [0, 1). */
  random(): number {
    return this.#random();
  }
}

interface BenchDestination {
  id: string;
  type: string;
  /** Outcome of one event: a row state, and whether it was retried first. */
  outcome(random: () => number, name: string): { row: RowState; retried: boolean };
}

function delivered(name: string): RowState {
  return { status: "delivered", event_name: name, last_status: 200 };
}

const OUTCOMES: Record<string, BenchDestination["outcome"]> = {
  meta: (r, name) => {
    const x = r();
    if (x < 0.01) {
      return {
        row: { status: "skipped", event_name: name, last_error: "consent: ad_user_data denied" },
        retried: false,
      };
    }
    if (x < 0.025) {
      return {
        row: { status: "failed", event_name: name, last_status: 400, last_error: "Meta error 100" },
        retried: false,
      };
    }
    return { row: delivered(name), retried: x > 0.98 };
  },
  ga4: (r, name) =>
    r() < 0.01
      ? {
        row: { status: "skipped", event_name: name, last_error: "no GA4 client id" },
        retried: false,
      }
      : { row: delivered(name), retried: false },
  webhook: (r, name) => ({ row: delivered(name), retried: r() < 0.05 }),
};

/** Counter keys per seeding commit (KV allows 1,000 mutations and 80 KiB of keys). */
const SEED_KEYS_PER_COMMIT = 500;

async function commit(kv: Deno.Kv, writes: AnalyticsWrites): Promise<void> {
  const op = kv.atomic();
  writes.addTo(op);
  if (!(await op.commit()).ok) throw new Error("Seeding: a commit failed");
  writes.committed();
}

/**
 * Seeds in a :memory: KV (the visitor and order state fan-out reads and writes is cheap
 * there), then copies what the reports read (counters, missing orders, issue examples) into
 * the runtime's KV file; answers how many keys of each it copied.
 */
async function seedInto(
  target: Deno.Kv,
  wsId: string,
  destinations: readonly BenchDestination[],
  s: Settings,
): Promise<{ counters: number; records: number }> {
  await using memory = await Deno.openKv(":memory:");
  await seed(memory, wsId, destinations, s);
  const copy = async (prefix: Deno.KvKey) => {
    let copied = 0;
    let op = target.atomic();
    let inOp = 0;
    for await (const { key, value } of memory.list({ prefix }, { batchSize: 1000 })) {
      op.set(key, value);
      copied++;
      if (++inOp === 500) {
        if (!(await op.commit()).ok) throw new Error("Seeding: a copy commit failed");
        op = target.atomic();
        inOp = 0;
      }
    }
    if (inOp > 0 && !(await op.commit()).ok) throw new Error("Seeding: a copy commit failed");
    return copied;
  };
  let counters = 0;
  for (const prefix of [["an", wsId], ["stat", wsId], ["stat_d", wsId]]) {
    counters += await copy(prefix);
  }
  const records = await copy(["an_miss", wsId]) + await copy(["an_ex", wsId]);
  return { counters, records };
}

/** Seeds the workspace's counters and records in `kv`. */
async function seed(
  kv: Deno.Kv,
  wsId: string,
  destinations: readonly BenchDestination[],
  s: Settings,
): Promise<void> {
  const maker = new EventMaker(wsId, 42);
  const typeOf = (id: string) => destinations.find((d) => d.id === id)?.type ?? "webhook";
  const end = Date.now();
  const start = end - s.days * DAY_MS;
  const step = (end - start) / s.events;
  let volume = new CounterBatch();
  let pending = new CounterBatch();
  const flush = async () => {
    pending.merge(volume);
    volume = new CounterBatch();
    while (pending.size > 0) {
      const op = kv.atomic();
      pending = pending.addTo(op, SEED_KEYS_PER_COMMIT);
      if (!(await op.commit()).ok) throw new Error("Seeding: a counter commit failed");
    }
  };
  const orders = new OrderBook(kv);
  const counts = new FanOutCounts(kv, orders);
  /** Fan-out's commit, then the rows' commit, of a slice of events (halved until they fit). */
  const seedSlice = async (slice: SluiceEvent[]): Promise<void> => {
    const routed = slice.map((event) => ({
      event,
      decisions: new Map<string, RouteDecision>(
        destinations.map((d) => [d.id, { send: true, event_name: event.event_name }]),
      ),
    }));
    const planned = await counts.plan(wsId, routed, typeOf, true);
    // Counters are summed across slices and committed in bulk; the records fan-out reads
    // back (visitors, orders) are committed now.
    pending.merge(planned.takeCounters());
    await commit(kv, planned);
    const settled = settle(slice, await orders.firstCopies(wsId, slice));
    pending.merge(settled.takeCounters());
    await commit(kv, settled);
    if (pending.keyCount > 20_000) await flush();
  };
  /** The rows' moves from pending to each destination's outcome. */
  const settle = (slice: SluiceEvent[], firsts: Set<string>): AnalyticsWrites => {
    const settled = new AnalyticsWrites();
    for (const event of slice) {
      for (const destination of destinations) {
        const { row, retried } = destination.outcome(() => maker.random(), event.event_name);
        const base = {
          ulid: event.id,
          destinationId: destination.id,
          type: destination.type,
          event,
          firstOfOrder: firsts.has(event.id),
        };
        let before: RowState = { status: "pending", event_name: event.event_name };
        if (retried) {
          const retrying: RowState = {
            status: "retrying",
            event_name: event.event_name,
            last_status: 503,
          };
          countRowChange(settled, wsId, { ...base, before, after: retrying });
          before = retrying;
        }
        countRowChange(settled, wsId, {
          ...base,
          before,
          after: row,
          latencyMs: 80 + maker.random() * (retried ? 60_000 : 1_500),
        });
      }
    }
    return settled;
  };
  const SLICE = 400;
  for (let first = 0; first < s.events; first += SLICE) {
    const slice: SluiceEvent[] = [];
    for (let i = first; i < Math.min(s.events, first + SLICE); i++) {
      const event = maker.event(i, Math.round(start + i * step));
      slice.push(event);
      countVolume(volume, event);
      if (maker.random() < 0.01) {
        volume.add(wsId, event.received_at, "duplicates", "", 1);
        const pair = duplicatePair(maker.random() < 0.5 ? "browser" : originOf(event), event);
        if (pair) volume.add(wsId, event.received_at, "pair", pair, 1);
      }
    }
    await seedSlice(slice);
    if (volume.size > 5_000) await flush();
    if (first % 100_000 === 0 && first > 0) {
      console.log(`  seeded ${first.toLocaleString("en-US")} events…`);
    }
  }
  await flush();
}

/** How many hour and day keys each counter family holds: what a read of its buckets costs. */
async function keysByFamily(kv: Deno.Kv, wsId: string): Promise<string[][]> {
  const count = async (prefix: Deno.KvKey) => {
    let n = 0;
    for await (const _ of kv.list({ prefix }, { batchSize: 1000 })) n++;
    return n.toLocaleString("en-US");
  };
  const rows = [[
    "volume (stat)",
    await count(["stat", wsId]),
    await count(["stat_d", wsId]),
    "-",
  ]];
  for (const [role, family] of Object.entries(FAMILY)) {
    rows.push([
      `${role} (${family})`,
      await count(["an", wsId, family, "h"]),
      await count(["an", wsId, family, "d"]),
      await count(["an", wsId, family, "w"]),
    ]);
  }
  return rows;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (n: number) => `${n.toFixed(1)} ms`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) =>
    row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join("  ")
  ).join("\n");
}

/** Times each endpoint: the cold call, then p50/p95 of `runs` more. */
async function timeEndpoints(
  request: (path: string) => Promise<Response>,
  runs: number,
): Promise<string[][]> {
  const paths = [
    "overview?range=90d",
    "volume?range=90d",
    "coverage?range=90d",
    "quality?range=90d",
    "dedup?range=90d",
    "funnel?range=90d",
    "revenue-attribution?range=90d",
    "reconciliation?range=90d",
    "overview?range=90d&tz=America/Los_Angeles",
    "volume?range=90d&tz=Asia/Kolkata",
    "volume?range=30d&interval=hour",
    "overview?range=24h",
  ];
  const rows = [["GET /v1/analytics/…", "cold", "p50", "p95", "bytes"]];
  for (const path of paths) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= runs; i++) {
      const t = performance.now();
      const res = await request(`/v1/analytics/${path}`);
      const body = await res.arrayBuffer();
      if (res.status !== 200) {
        throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(body)}`);
      }
      times.push(performance.now() - t);
      bytes = body.byteLength;
    }
    const [cold = 0, ...warm] = times;
    warm.sort((a, b) => a - b);
    rows.push([path, ms(cold), ms(quantile(warm, 0.5)), ms(quantile(warm, 0.95)), String(bytes)]);
  }
  return rows;
}

const SECRET = "bench-secret-0123456789abcdef0123456789abcdef";

const BENCH_WORKSPACE: Workspace = {
  id: "ws_bench",
  name: "Bench",
  public_id: "pk_bench",
  allowed_origins: [],
  settings: { ...DEFAULT_SETTINGS, rate_limit_per_minute: 100_000_000 },
  created_at: new Date(0).toISOString(),
};

type Mode = "baseline" | "analytics";

/** A measured round: set up on a KV handle, answering the work to time (it answers its events). */
type Round = (kv: Deno.Kv, mode: Mode, round: number) => Promise<() => Promise<number>>;

/** What one round measured: events per second, and CPU microseconds per event. */
interface Measure {
  rate: number;
  cpuUs: number;
}

/** Sets a round up on a fresh KV file and times its work alone. */
async function onFreshKv(dir: string, round: Round, mode: Mode, r: number): Promise<Measure> {
  const path = `${dir}/ingest-${crypto.randomUUID()}.kv`;
  const kv = await Deno.openKv(path);
  try {
    const work = await round(kv, mode, r);
    const cpu = processCpuMs();
    const started = performance.now();
    const events = await work();
    const wallMs = performance.now() - started;
    return { rate: events / (wallMs / 1000), cpuUs: ((processCpuMs() - cpu) * 1000) / events };
  } finally {
    kv.close();
    await Deno.remove(path).catch(() => {});
    await Deno.remove(`${path}-shm`).catch(() => {});
    await Deno.remove(`${path}-wal`).catch(() => {});
  }
}

function committerFor(kv: Deno.Kv, mode: Mode): GroupCommitter {
  return new GroupCommitter(kv, new KvQueue(kv), {
    counters: mode === "analytics" ? "analytics" : "volume",
  });
}

/** The inputs of one ingest round. */
function ingestInputs(count: number, round: number): Record<string, unknown>[] {
  const maker = new EventMaker(`r${round}`, 1000 + round);
  return Array.from({ length: count }, (_, i) => maker.input(i));
}

const CONTEXT = {
  workspaceId: BENCH_WORKSPACE.id,
  dialect: "native" as const,
  traceId: "bench",
  defaultSource: "server",
};

/** Commit only: prepared items submitted in groups of 100 by 8 concurrent callers. */
function commitRound(
  kv: Deno.Kv,
  mode: Mode,
  inputs: Record<string, unknown>[],
): Promise<() => Promise<number>> {
  const sealer = eventSealer(SECRET);
  const items: CommitItem[] = prepareEvents(inputs, { ...CONTEXT, receivedAt: Date.now() }, sealer)
    .flatMap((p) =>
      p.ok
        ? [{
          event: p.event,
          sealed: p.sealed,
          dedupWindowMs: 86_400_000,
          retentionMs: 30 * DAY_MS,
        }]
        : []
    );
  const committer = committerFor(kv, mode);
  return Promise.resolve(async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < items.length) {
        const group = items.slice(next, next += 100);
        await committer.submit(group);
      }
    }));
    await committer.close();
    return items.length;
  });
}

/** The ingest path: `perCall` events per Ingestor.ingest call, 64 calls in flight. */
async function ingestRound(kv: Deno.Kv, mode: Mode, inputs: unknown[], perCall: number) {
  const committer = committerFor(kv, mode);
  const limiter = new RateLimiter(kv);
  const ingestor = new Ingestor({ committer, sealer: eventSealer(SECRET), limiter });
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < inputs.length) {
      const batch = inputs.slice(next, next += perCall);
      await ingestor.ingest(BENCH_WORKSPACE, batch, { ...CONTEXT, receivedAt: Date.now() });
    }
  }));
  await committer.close();
  await limiter.close();
  return inputs.length;
}

/** Meta's answer, at once: the sender of the fan-out round. */
const instantMeta: Sender = (request) => {
  const events = (JSON.parse(request.body ?? "{}") as { data?: unknown[] }).data?.length ?? 0;
  const body = JSON.stringify({ events_received: events });
  return Promise.resolve({
    response: { status: 200, headers: new Headers(), body },
    latencyMs: 1,
    bodySnippet: body,
  });
};

/** Fan-out and first delivery of committed groups of 100 to one Meta destination. */
async function fanOutRound(kv: Deno.Kv, mode: Mode, inputs: Record<string, unknown>[]) {
  const sealer = eventSealer(SECRET);
  const queue = new KvQueue(kv);
  const events = new EventLoader(kv, sealer);
  const destinations = new DestinationStore(kv, SECRET);
  await destinations.create(BENCH_WORKSPACE.id, {
    type: "meta",
    name: "Meta",
    enabled: true,
    settings: { pixel_id: "1", access_token: "x" },
    secretFields: ["access_token"],
  });
  const engine = new DeliveryEngine({
    kv,
    queue,
    sealer,
    events,
    destinations,
    rules: new RuleStore(kv),
    connectorFor,
    send: instantMeta,
    retryScheduleMs: [1000],
    analytics: mode === "analytics",
    // Both modes index events for the search, as the runtime does.
    retentionOf: () => Promise.resolve(30 * DAY_MS),
  });
  const groups: string[][] = [];
  for (let i = 0; i < inputs.length; i += 100) {
    const prepared = prepareEvents(
      inputs.slice(i, i + 100),
      { ...CONTEXT, receivedAt: Date.now() },
      sealer,
    );
    const op = kv.atomic();
    const ids: string[] = [];
    for (const p of prepared) {
      if (!p.ok) continue;
      op.set(["ev", BENCH_WORKSPACE.id, p.event.id], p.sealed);
      ids.push(p.event.id);
    }
    await op.commit();
    groups.push(ids);
  }
  return async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < groups.length) {
        const ids = groups[next++]!;
        await engine.fanOut({ type: "ingested", workspace_id: BENCH_WORKSPACE.id, ids });
      }
    }));
    return groups.reduce((n, ids) => n + ids.length, 0);
  };
}

/** Alternates baseline and analytics rounds; answers the median events/s of each. */
/** Baseline and analytics figures of one measurement: medians of the rounds. */
interface Comparison {
  baseline: Measure;
  analytics: Measure;
  /** analytics ÷ baseline events/s, per round. */
  ratios: number[];
}

async function compare(dir: string, s: Settings, round: Round): Promise<Comparison> {
  const got: Record<Mode, Measure[]> = { baseline: [], analytics: [] };
  const ratios: number[] = [];
  for (let r = 0; r < s.rounds; r++) {
    const order: Mode[] = r % 2 === 0 ? ["baseline", "analytics"] : ["analytics", "baseline"];
    for (const mode of order) got[mode].push(await onFreshKv(dir, round, mode, r));
    ratios.push(got.analytics[r]!.rate / got.baseline[r]!.rate);
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const medians = (measures: Measure[]) => ({
    rate: median(measures.map((m) => m.rate)),
    cpuUs: median(measures.map((m) => m.cpuUs)),
  });
  return { baseline: medians(got.baseline), analytics: medians(got.analytics), ratios };
}

/** Creates the bench workspace and its three destinations, then seeds it. */
async function prepare(config: ReturnType<typeof parseConfig>, s: Settings): Promise<string> {
  const seeding = await openRuntime(config);
  try {
    const created = await seeding.workspaces.create({ name: "Bench" });
    const wsId = created.workspace.id;
    const destinations: BenchDestination[] = [];
    for (
      const [type, settings] of [
        ["meta", { pixel_id: "1", access_token: "x" }],
        ["ga4", { measurement_id: "G-BENCH", api_secret: "x" }],
        ["webhook", { url: "https://hooks.example/sluice", secret: "whsec_YmVuY2g=" }],
      ] as const
    ) {
      const connector = connectorFor(type)!;
      const destination = await seeding.destinations.create(wsId, {
        type,
        name: connector.label,
        enabled: true,
        settings,
        secretFields: connector.secretFields,
      });
      destinations.push({ id: destination.id, type, outcome: OUTCOMES[type]! });
    }
    console.log("seeding (in a :memory: KV, then copied into the file)…");
    const started = performance.now();
    const keys = await seedInto(seeding.kv, wsId, destinations, s);
    console.log(
      `seeded in ${((performance.now() - started) / 1000).toFixed(1)} s: ${
        keys.counters.toLocaleString("en-US")
      } counter keys, ${keys.records.toLocaleString("en-US")} missing-order entries and examples`,
    );
    const upkeep = performance.now();
    const workspace = (await seeding.workspaces.get(wsId))!;
    const deleted = await seeding.counterRetention.sweep(workspace);
    console.log(
      `counter upkeep pass (fold finished days' volume hours, delete hours past 35 days) in ${
        ((performance.now() - upkeep) / 1000).toFixed(1)
      } s: ${deleted.toLocaleString("en-US")} expired counter keys deleted`,
    );
    console.log(table([
      ["counter keys", "hour", "day", "week"],
      ...await keysByFamily(seeding.kv, wsId),
    ]));
    return created.adminKey.secret;
  } finally {
    await seeding.close();
  }
}

async function main(): Promise<void> {
  const s = settingsFrom(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-analytics-" });
  console.log(
    `${
      s.events.toLocaleString("en-US")
    } events over ${s.days} days; ${s.runs} timed calls per endpoint; ` +
      `${s.rounds} rounds of ${s.ingest.toLocaleString("en-US")} events per ingest figure; ` +
      `${navigator.hardwareConcurrency} CPUs (shared: expect noise)`,
  );
  try {
    if (s.part !== "writes") await timeReads(dir, s);
    if (s.part !== "reads") await compareWrites(dir, s);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Seeds the workspace, then times every endpoint on the KV file opened afresh. */
async function timeReads(dir: string, s: Settings): Promise<void> {
  const config = parseConfig({ SLUICE_KV: `${dir}/analytics.kv`, SLUICE_SECRET: SECRET });
  const key = await prepare(config, s);
  // Read as a server does: on the KV file opened afresh.
  const rt = await openRuntime(config);
  try {
    const app = createApp(rt);
    const rows = await timeEndpoints(
      (path) => Promise.resolve(app.request(path, { headers: { authorization: `Bearer ${key}` } })),
      s.runs,
    );
    console.log();
    console.log(table(rows));
  } finally {
    await rt.close();
  }
}

/** Ingest and fan-out with and without the counters, in alternating rounds. */
async function compareWrites(dir: string, s: Settings): Promise<void> {
  console.log();
  console.log(
    "with and without the analytics counters (alternating rounds, a fresh KV file each; " +
      "CPU: this process's user + system time per event, all threads):",
  );
  const inputsOf = (r: number) => ingestInputs(s.ingest, r);
  const figures: [string, Comparison][] = [
    [
      "commit only (GroupCommitter, groups of 100)",
      await compare(dir, s, (kv, mode, r) => commitRound(kv, mode, inputsOf(r))),
    ],
    [
      "ingest path, 1 event per call",
      await compare(
        dir,
        s,
        (kv, mode, r) => Promise.resolve(() => ingestRound(kv, mode, inputsOf(r), 1)),
      ),
    ],
    [
      "ingest path, 100 events per call",
      await compare(
        dir,
        s,
        (kv, mode, r) => Promise.resolve(() => ingestRound(kv, mode, inputsOf(r), 100)),
      ),
    ],
    [
      "fan-out + first delivery (Meta, instant answers)",
      await compare(dir, s, (kv, mode, r) => fanOutRound(kv, mode, inputsOf(r))),
    ],
  ];
  console.log(table([
    [
      "",
      "baseline ev/s",
      "analytics ev/s",
      "ratio",
      "per round",
      "baseline CPU µs/ev",
      "analytics CPU µs/ev",
      "CPU ratio",
    ],
    ...figures.map(([name, f]) => [
      name,
      Math.round(f.baseline.rate).toLocaleString("en-US"),
      Math.round(f.analytics.rate).toLocaleString("en-US"),
      (f.analytics.rate / f.baseline.rate).toFixed(3),
      f.ratios.map((r) => r.toFixed(2)).join(" "),
      f.baseline.cpuUs.toFixed(0),
      f.analytics.cpuUs.toFixed(0),
      (f.analytics.cpuUs / f.baseline.cpuUs).toFixed(3),
    ]),
  ]));
  console.log(
    "ratio: analytics ÷ baseline events/s (medians of the rounds; > 0.9 is within the 10 % target). " +
      "CPU ratio: analytics ÷ baseline CPU per event (less sensitive to other processes).",
  );
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.stack ?? error.message : String(error));
    Deno.exit(1);
  }
}

/**
 * Delivery benchmark: `deno task bench:deliver [--events N] [--batch N] [--senders N] [--timeout S]`.
 *
 * Starts a mock Meta Conversions API (Deno.serve on 127.0.0.1 in this process: answers
 * 200 `{events_received}` at once, counts every event_id it receives and records when each
 * first arrived) and the real Sluice (`main.ts`, fresh KV file, a meta destination whose
 * endpoint is the mock). It ingests N events through `POST /v1/events` in batches with
 * concurrent senders and waits until the mock has received all N, then prints:
 *   - ingest events/s (N / time from first send to last 202),
 *   - delivered events/s end to end (N / time from first send to last arrival),
 *   - accept-to-delivery latency p50/p99 (arrival at the mock − the 202 seen here),
 *   - duplicates the mock received (should be 0),
 * and the same batches posted straight at a second mock (the baseline: what this process and
 * a bare Deno.serve manage), with the ratio against it. It also measures a floor
 * (bench/_storage_floor.ts: the KV writes each delivered event needs and the parsing and
 * sealing before them, alone, in this process) and Sluice's CPU time per event, so the
 * figures say how far this machine's cores allow to go. No pass/fail on timing.
 *
 * Options (flag, or environment variable):
 *   --events N    BENCH_EVENTS   events to ingest (200000)
 *   --batch N     BENCH_BATCH    events per ingest request (500)
 *   --senders N   BENCH_SENDERS  concurrent ingest requests (16)
 *   --timeout S   BENCH_TIMEOUT  seconds to wait for every delivery (600)
 *   --queue NAME  SLUICE_QUEUE   queue adapter of the server (its default when unset)
 *   --cpu-prof DIR BENCH_CPU_PROF  write V8 CPU profiles of the server (main thread and
 *                                 ingest workers) into DIR when it stops, for Chrome DevTools
 */
import { parseArgs } from "node:util";
import { SpawnedServer } from "../tests/_server.ts";
import { measureStorageFloor, processCpuMs } from "./_storage_floor.ts";
import {
  benchEnv,
  createBenchWorkspace,
  isRecord,
  randomToken,
  requestJson,
  sleep,
} from "./_common.ts";

interface Settings {
  events: number;
  batch: number;
  senders: number;
  timeout: number;
  queue?: string;
  cpuProfDir?: string;
}

/** A mock platform in this process. */
interface Mock {
  url: string;
  /** Times each event_id was received. */
  counts: Map<string, number>;
  /** performance.now() of each event_id's first arrival. */
  firstArrival: Map<string, number>;
  requests: number;
  /** performance.now() of the latest first arrival. */
  lastArrival: number;
  close(): Promise<void>;
}

function settingsFrom(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: "string" },
      batch: { type: "string" },
      senders: { type: "string" },
      timeout: { type: "string" },
      queue: { type: "string" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench:deliver [--events N] [--batch N] [--senders N] [--timeout S] [--queue kv-queue|kv-outbox] [--cpu-prof DIR]",
    );
    Deno.exit(0);
  }
  const num = (flag: string | undefined, env: string, fallback: number, min: number) => {
    const text = flag ?? Deno.env.get(env);
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`${env}: "${text}" is not an integer ≥ ${min}`);
    }
    return n;
  };
  const queue = values.queue ?? Deno.env.get("SLUICE_QUEUE");
  if (queue !== undefined && queue !== "kv-queue" && queue !== "kv-outbox") {
    throw new Error(`--queue: "${queue}" is not kv-queue or kv-outbox`);
  }
  const cpuProfDir = values["cpu-prof"] ?? Deno.env.get("BENCH_CPU_PROF");
  return {
    events: num(values.events, "BENCH_EVENTS", 200_000, 1),
    batch: Math.min(500, num(values.batch, "BENCH_BATCH", 500, 1)),
    senders: num(values.senders, "BENCH_SENDERS", 16, 1),
    timeout: num(values.timeout, "BENCH_TIMEOUT", 600, 1),
    ...(queue ? { queue } : {}),
    ...(cpuProfDir ? { cpuProfDir } : {}),
  };
}

/** A mock Meta: answers 200 at once and counts the event_ids in `data`. */
function startMock(): Mock {
  const counts = new Map<string, number>();
  const firstArrival = new Map<string, number>();
  const mock: Mock = {
    url: "",
    counts,
    firstArrival,
    requests: 0,
    lastArrival: 0,
    close: () => server.shutdown(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const at = performance.now();
      const body: unknown = await request.json().catch(() => undefined);
      mock.requests++;
      const data = isRecord(body) && Array.isArray(body.data) ? body.data : [];
      for (const item of data) {
        if (!isRecord(item) || typeof item.event_id !== "string") continue;
        const n = counts.get(item.event_id) ?? 0;
        counts.set(item.event_id, n + 1);
        if (n === 0) {
          firstArrival.set(item.event_id, at);
          mock.lastArrival = at;
        }
      }
      return Response.json({ events_received: data.length, fbtrace_id: "bench" });
    },
  );
  mock.url = `http://127.0.0.1:${server.addr.port}`;
  return mock;
}

/** One purchase Meta accepts: website, page URL, user agent, IP and email. */
function purchase(eventId: string, sentAt: number): Record<string, unknown> {
  return {
    event_id: eventId,
    event_name: "purchase",
    action_source: "website",
    value: 49.9,
    currency: "EUR",
    order_id: eventId,
    page: { url: "https://shop.example/checkout" },
    user_data: {
      email: "ada@example.com",
      client_ip: "203.0.113.9",
      user_agent: "Mozilla/5.0 (bench)",
    },
    properties: { sent_at: sentAt },
  };
}

interface SendRun {
  /** performance.now() of the first request. */
  startedAt: number;
  /** performance.now() of the last answer. */
  endedAt: number;
  requests: number;
  /** performance.now() of the 202 per accepted event_id (ingest run only). */
  acceptedAt: Map<string, number>;
  accepted: number;
  duplicates: number;
  rejected: number;
}

/**
 * Sends `total` events as batches with `senders` concurrent requests. `wrap` makes the body
 * of a batch; `check` reads the answer (and throws on a bad one).
 */
async function sendBatches(
  s: Settings,
  prefix: string,
  url: string,
  headers: Record<string, string>,
  wrap: (events: Record<string, unknown>[]) => unknown,
  track: boolean,
): Promise<SendRun> {
  const batches = Math.ceil(s.events / s.batch);
  const run: SendRun = {
    startedAt: performance.now(),
    endedAt: 0,
    requests: 0,
    acceptedAt: new Map(),
    accepted: 0,
    duplicates: 0,
    rejected: 0,
  };
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(s.senders, batches) }, async () => {
    while (next < batches) {
      const b = next++;
      const from = b * s.batch;
      const to = Math.min(s.events, from + s.batch);
      const sentAt = Date.now();
      const events = [];
      for (let i = from; i < to; i++) events.push(purchase(`${prefix}-${i}`, sentAt));
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(wrap(events)) });
      const text = await res.text();
      const at = performance.now();
      run.requests++;
      if (!track) {
        if (res.status !== 200) throw new Error(`mock answered ${res.status}: ${text}`);
        run.accepted += events.length;
        continue;
      }
      if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}: ${text}`);
      const body: unknown = JSON.parse(text);
      if (!isRecord(body) || !Array.isArray(body.results)) {
        throw new Error(`Unexpected batch answer: ${text.slice(0, 500)}`);
      }
      for (const r of body.results) {
        if (!isRecord(r)) continue;
        if (r.status === "accepted" && typeof r.event_id === "string") {
          run.acceptedAt.set(r.event_id, at);
          run.accepted++;
        } else if (r.status === "duplicate") run.duplicates++;
        else run.rejected++;
      }
    }
  }));
  run.endedAt = performance.now();
  return run;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Events written by the storage-floor run (fewer when the run has fewer). */
const FLOOR_EVENTS = 50_000;

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const msText = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const s = settingsFrom(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-deliver-" });
  const mocks: Mock[] = [];
  let server: SpawnedServer | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    cleaning ??= (async () => {
      if (server) await server.stop("SIGTERM", 15_000);
      await Promise.allSettled(mocks.map((m) => m.close()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  const onSignal = () => {
    console.error("\nInterrupted: stopping Sluice…");
    cleanUp().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    console.log(
      `${int(s.events)} events, batches of ${s.batch}, ${s.senders} concurrent senders, ` +
        `queue ${s.queue ?? "(server default)"}; ${navigator.hardwareConcurrency} CPUs`,
    );
    const runId = randomToken(4);

    // 1. Baseline: the same batches straight at a mock in this process.
    const baselineMock = startMock();
    mocks.push(baselineMock);
    const baseline = await sendBatches(
      s,
      `${runId}-base`,
      `${baselineMock.url}/v25.0/1234567890/events?access_token=x`,
      { "content-type": "application/json" },
      (events) => ({ data: events }),
      false,
    );
    const baselineMs = baseline.endedAt - baseline.startedAt;
    if (baselineMock.counts.size !== s.events) {
      throw new Error(`Baseline mock counted ${baselineMock.counts.size} of ${s.events} events`);
    }
    await baselineMock.close();
    mocks.splice(mocks.indexOf(baselineMock), 1);
    const floor = await measureStorageFloor(
      dir,
      (i) => purchase(`${runId}-floor-${i}`, Date.now()),
      Math.min(s.events, FLOOR_EVENTS),
    );

    // 2. Sluice with a meta destination pointing at the mock.
    const mock = startMock();
    mocks.push(mock);
    const rootToken = randomToken();
    const kvPath = `${dir}/bench.kv`;
    server = new SpawnedServer(kvPath, {
      ...benchEnv(kvPath, rootToken),
      SLUICE_ALLOW_PRIVATE_URLS: "1",
      ...(s.queue ? { SLUICE_QUEUE: s.queue } : {}),
    }, {
      name: "Sluice",
      ...(s.cpuProfDir ? { denoFlags: ["--cpu-prof", `--cpu-prof-dir=${s.cpuProfDir}`] } : {}),
    });
    const base = server.base;
    await server.ready();
    const { ingestKey, adminKey } = await createBenchWorkspace(base, rootToken, "Delivery bench");
    const admin = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
    await requestJson(`${base}/v1/platforms`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        type: "meta",
        name: "Mock Meta",
        config: { pixel_id: "1234567890", access_token: "EAAB-bench", endpoint: mock.url },
      }),
    }, 201);

    console.log("running: ingest + delivery through Sluice …");
    const cpuBefore = processCpuMs(server.pid);
    const ingest = await sendBatches(
      s,
      `${runId}-ev`,
      `${base}/v1/events`,
      { authorization: `Bearer ${ingestKey}`, "content-type": "application/json" },
      (events) => ({ events }),
      true,
    );
    if (ingest.accepted !== s.events) {
      throw new Error(
        `${ingest.accepted} of ${s.events} accepted (${ingest.duplicates} duplicates, ${ingest.rejected} rejected)`,
      );
    }
    const deadline = Date.now() + s.timeout * 1000;
    let lastReport = Date.now();
    while (mock.counts.size < s.events && Date.now() < deadline) {
      if (server.exited) throw new Error(`Sluice exited:\n${server.output}`);
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        console.log(`  … ${int(mock.counts.size)} of ${int(s.events)} delivered`);
      }
      await sleep(20);
    }
    const delivered = mock.counts.size;
    const serverCpuMs = processCpuMs(server.pid) - cpuBefore;
    const ingestMs = ingest.endedAt - ingest.startedAt;
    const endToEndMs = mock.lastArrival - ingest.startedAt;
    const latencies: number[] = [];
    for (const [id, arrival] of mock.firstArrival) {
      const accepted = ingest.acceptedAt.get(id);
      if (accepted !== undefined) latencies.push(arrival - accepted);
    }
    latencies.sort((a, b) => a - b);
    let duplicates = 0;
    for (const n of mock.counts.values()) duplicates += n - 1;
    const early = latencies.filter((l) => l < 0).length;

    const ingestRate = s.events / (ingestMs / 1000);
    const cores = navigator.hardwareConcurrency;
    const deliverRate = delivered / (endToEndMs / 1000);
    const baselineRate = s.events / (baselineMs / 1000);
    const baselineReqRate = baseline.requests / (baselineMs / 1000);
    console.log(`
baseline (same batches straight at the mock, ${baseline.requests} requests):
  ${int(baselineReqRate)} requests/s, ${int(baselineRate)} events/s (${secs(baselineMs)})

Sluice:
  ingest:     ${int(ingestRate)} events/s (${
      int(ingest.requests / (ingestMs / 1000))
    } requests/s, ${secs(ingestMs)}), ${(100 * ingestRate / baselineRate).toFixed(1)}% of baseline
  delivered:  ${int(delivered)} of ${int(s.events)} in ${mock.requests} Meta requests (${
      (delivered / Math.max(1, mock.requests)).toFixed(0)
    } events/request)
  end to end: ${int(deliverRate)} events/s (first send → last arrival ${secs(endToEndMs)}), ${
      (100 * deliverRate / baselineRate).toFixed(1)
    }% of baseline
  accept → delivery latency: p50 ${msText(percentile(latencies, 50))}, p99 ${
      msText(percentile(latencies, 99))
    }, max ${msText(latencies.at(-1) ?? NaN)}${
      early ? ` (${early} arrived before their 202 reached the bench)` : ""
    }
  duplicates received: ${duplicates}
  Sluice CPU: ${(serverCpuMs * 1000 / delivered).toFixed(0)} µs per event (${
      (serverCpuMs / endToEndMs).toFixed(2)
    } of ${navigator.hardwareConcurrency} cores busy on average)

floor (measured alone in this process, ${int(floor.events)} events; no HTTP, mapping or platform):
  KV writes (event + dedup entry in commits of 100, hand-off record, delivery row):
    ${int(floor.eventsPerSecond)} events/s, ${floor.cpuMicrosPerEvent.toFixed(0)} µs CPU per event
  parse, validate, enrich and seal: ${floor.prepareMicrosPerEvent.toFixed(0)} µs per event
  these two alone allow at most ${
      int(cores * 1e6 / (floor.cpuMicrosPerEvent + floor.prepareMicrosPerEvent))
    } events/s on ${cores} cores; Sluice end to end = ${
      (100 * deliverRate * (floor.cpuMicrosPerEvent + floor.prepareMicrosPerEvent) / (cores * 1e6))
        .toFixed(1)
    }% of that`);
    if (delivered < s.events) {
      console.error(`Timed out after ${s.timeout} s: ${s.events - delivered} events not delivered`);
      Deno.exitCode = 1;
    }
    if (duplicates > 0) Deno.exitCode = 1;
  } catch (error) {
    if (server) console.error(`--- Sluice output ---\n${server.output}`);
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanUp();
  }
}

if (import.meta.main) await main();

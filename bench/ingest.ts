/**
 * Ingest benchmark: `deno task bench:ingest [--threads 2] [--connections 64] [--duration 10]`.
 *
 * Runs wrk (same settings for every run) against
 *   1. a bare `Deno.serve` that only answers 202 (the ceiling, in its own process),
 *   2. the real Sluice (`main.ts`, fresh KV file): `POST /v1/events` with one purchase
 *      per request, every event id unique,
 *   3. the same with a batch of events per request (events/s = req/s × batch size),
 * then stops Sluice cleanly and counts the events in its KV file against the 202s.
 * It reports figures only: there is no pass/fail on timing.
 *
 * Options (flag, or environment variable):
 *   --threads N       BENCH_THREADS      wrk threads (2)
 *   --connections N   BENCH_CONNECTIONS  wrk connections (64)
 *   --duration S      BENCH_DURATION     seconds per measured run (10)
 *   --warmup S        BENCH_WARMUP       seconds of unmeasured load before runs 1 and 2 (2)
 *   --batch N         BENCH_BATCH        events per batch request (100)
 *   --timeout S       BENCH_TIMEOUT      wrk request timeout, seconds (5)
 *   --cpu-prof DIR    BENCH_CPU_PROF     write V8 CPU profiles of Sluice into DIR when it stops
 */
import { parseArgs } from "node:util";
import { SpawnedServer } from "../tests/_server.ts";
import { benchEnv, createBenchWorkspace, isRecord, randomToken } from "./_common.ts";

/** What the wrk script's done() prints, after `BENCH_JSON `. */
interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; max: number; mean: number };
  statuses: Record<string, number>;
  /** Events the server accepted (202s, or the sum of `accepted` in batch answers). */
  accepted: number;
}

interface Settings {
  threads: number;
  connections: number;
  duration: number;
  warmup: number;
  batch: number;
  timeout: number;
  cpuProfDir?: string;
}

const LUA_TEMPLATE = new URL("./ingest.lua", import.meta.url);
const servers = new Set<SpawnedServer>();
const wrkRuns = new Set<Deno.ChildProcess>();
let interrupted = false;

function settingsFrom(args: string[]): Settings {
  const { values } = parseArgs({
    args,
    options: {
      threads: { type: "string" },
      connections: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      batch: { type: "string" },
      timeout: { type: "string" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench:ingest [--threads N] [--connections N] [--duration S] [--warmup S] [--batch N] [--timeout S] [--cpu-prof DIR]",
    );
    Deno.exit(0);
  }
  const num = (flag: string | undefined, env: string, fallback: number, min: number) => {
    const text = flag ?? Deno.env.get(env);
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(
        `${env} / --${env.slice(6).toLowerCase()}: "${text}" is not an integer ≥ ${min}`,
      );
    }
    return n;
  };
  const threads = num(values.threads, "BENCH_THREADS", 2, 1);
  const cpuProfDir = values["cpu-prof"] ?? Deno.env.get("BENCH_CPU_PROF");
  return {
    threads,
    connections: Math.max(threads, num(values.connections, "BENCH_CONNECTIONS", 64, 1)),
    duration: num(values.duration, "BENCH_DURATION", 10, 1),
    warmup: num(values.warmup, "BENCH_WARMUP", 2, 0),
    batch: num(values.batch, "BENCH_BATCH", 100, 1),
    timeout: num(values.timeout, "BENCH_TIMEOUT", 5, 1),
    ...(cpuProfDir ? { cpuProfDir } : {}),
  };
}

/** Exits with a clear message when wrk is not installed. */
async function requireWrk(): Promise<void> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.error(
      "wrk is not installed (needed by the ingest benchmark).\n" +
        "Install it with:  apt-get install -y wrk   (or: sudo apt-get install -y wrk)",
    );
    Deno.exit(1);
  }
}

function numbersOf(value: unknown, fields: readonly string[], what: string): void {
  if (!isRecord(value)) throw new Error(`wrk result: ${what} is not an object`);
  for (const f of fields) {
    if (typeof value[f] !== "number") throw new Error(`wrk result: ${what}.${f} is not a number`);
  }
}

function parseWrkResult(stdout: string): WrkResult {
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line:\n${stdout}`);
  const data: unknown = JSON.parse(line.slice("BENCH_JSON ".length));
  numbersOf(data, ["requests", "duration_us", "bytes", "accepted"], "result");
  const r = data as Record<string, unknown>;
  numbersOf(r.errors, ["connect", "read", "write", "status", "timeout"], "errors");
  numbersOf(r.latency_us, ["p50", "p90", "p99", "max", "mean"], "latency_us");
  if (!isRecord(r.statuses)) throw new Error("wrk result: statuses is not an object");
  numbersOf(r.statuses, Object.keys(r.statuses), "statuses");
  return data as WrkResult;
}

interface LuaParams {
  mode: "single" | "batch";
  batch: number;
  prefix: string;
  key: string;
}

async function writeLua(dir: string, name: string, p: LuaParams): Promise<string> {
  const template = await Deno.readTextFile(LUA_TEMPLATE);
  const values: Record<string, string> = {
    MODE: p.mode,
    BATCH: String(p.batch),
    PREFIX: p.prefix,
    KEY: p.key,
    EVENT_TIME: String(Math.floor(Date.now() / 1000)),
  };
  const script = template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`ingest.lua: unknown placeholder ${whole}`);
    return v;
  });
  const path = `${dir}/${name}.lua`;
  await Deno.writeTextFile(path, script);
  return path;
}

async function runWrk(
  s: Settings,
  url: string,
  script: string,
  seconds: number,
): Promise<WrkResult> {
  const wrk = new Deno.Command("wrk", {
    args: [
      "-t",
      String(s.threads),
      "-c",
      String(s.connections),
      "-d",
      `${seconds}s`,
      "--timeout",
      `${s.timeout}s`,
      "--latency",
      "-s",
      script,
      url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  wrkRuns.add(wrk);
  const { code, stdout, stderr } = await wrk.output().finally(() => wrkRuns.delete(wrk));
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`wrk exited with ${code}:\n${out}\n${new TextDecoder().decode(stderr)}`);
  }
  return parseWrkResult(out);
}

const perSecond = (r: WrkResult) => r.requests / (r.duration_us / 1e6);
const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const nonSuccess = (r: WrkResult) =>
  Object.entries(r.statuses).filter(([status]) => !status.startsWith("2"))
    .reduce((sum, [, n]) => sum + n, 0);
const socketErrors = (r: WrkResult) =>
  r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
const statusText = (r: WrkResult) =>
  Object.entries(r.statuses).sort().map(([status, n]) => `${status}×${n}`).join(" ") || "none";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) =>
    row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))
      .join("  ")
  ).join("\n");
}

/** Counts keys under a prefix in a KV file (the server must be stopped). */
async function countKeys(kvPath: string, prefixes: Deno.KvKey[]): Promise<number[]> {
  const kv = await Deno.openKv(kvPath);
  try {
    const counts: number[] = [];
    for (const prefix of prefixes) {
      let n = 0;
      for await (const _ of kv.list({ prefix }, { batchSize: 1000 })) n++;
      counts.push(n);
    }
    return counts;
  } finally {
    kv.close();
  }
}

async function main(): Promise<void> {
  const s = settingsFrom(Deno.args);
  await requireWrk();
  const started = Date.now();
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-" });
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.error("\nInterrupted: stopping child processes…");
    for (const wrk of wrkRuns) {
      try {
        wrk.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    Promise.all([...servers].map((server) => server.stop("SIGTERM", 5_000))).finally(() =>
      Deno.remove(dir, { recursive: true }).catch(() => {})
    )
      .finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    console.log(
      `wrk: ${s.threads} threads, ${s.connections} connections, ${s.duration}s per run` +
        ` (+${s.warmup}s warm-up), batch ${s.batch}, timeout ${s.timeout}s; ${navigator.hardwareConcurrency} CPUs`,
    );
    const runId = randomToken(4);

    // 1. Baseline: a bare Deno.serve in its own process.
    const bareScript = `${dir}/bare.ts`;
    await Deno.writeTextFile(
      bareScript,
      // The body is read: a handler that leaves it unread makes Deno close the connection
      // after each answer (no keep-alive), which measures reconnects, not the server.
      `Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), onListen() {} }, async (request) => {
  await request.arrayBuffer();
  return new Response(null, { status: 202 });
});\n`,
    );
    const bare = new SpawnedServer(`${dir}/bare.kv`, {}, {
      script: bareScript,
      name: "bare Deno.serve",
    });
    servers.add(bare);
    const bareUrl = `${bare.base}/v1/events`;
    await bare.ready();
    const bareLua = await writeLua(dir, "bare", {
      mode: "single",
      batch: 1,
      prefix: `${runId}-x`,
      key: "unused",
    });
    if (s.warmup > 0) await runWrk(s, bareUrl, bareLua, s.warmup);
    console.log("running: bare Deno.serve …");
    const bareResult = await runWrk(s, bareUrl, bareLua, s.duration);
    await bare.stop("SIGTERM");
    servers.delete(bare);

    // 2. Sluice on a fresh KV file.
    const kvPath = `${dir}/bench.kv`;
    const rootToken = randomToken();
    const sluice = new SpawnedServer(kvPath, benchEnv(kvPath, rootToken), {
      name: "Sluice (main.ts)",
      ...(s.cpuProfDir ? { denoFlags: ["--cpu-prof", `--cpu-prof-dir=${s.cpuProfDir}`] } : {}),
    });
    servers.add(sluice);
    const base = sluice.base;
    await sluice.ready();
    const { id: wsId, ingestKey } = await createBenchWorkspace(base, rootToken, "Bench");

    const ingestUrl = `${base}/v1/events`;
    let accepted = 0;
    if (s.warmup > 0) {
      const warmLua = await writeLua(dir, "warmup", {
        mode: "single",
        batch: 1,
        prefix: `${runId}-w`,
        key: ingestKey,
      });
      accepted += (await runWrk(s, ingestUrl, warmLua, s.warmup)).accepted;
    }
    console.log("running: Sluice, one event per request …");
    const singleLua = await writeLua(dir, "single", {
      mode: "single",
      batch: 1,
      prefix: `${runId}-s`,
      key: ingestKey,
    });
    const single = await runWrk(s, ingestUrl, singleLua, s.duration);
    accepted += single.accepted;

    console.log(`running: Sluice, ${s.batch} events per request …`);
    const batchLua = await writeLua(dir, "batch", {
      mode: "batch",
      batch: s.batch,
      prefix: `${runId}-b`,
      key: ingestKey,
    });
    const batch = await runWrk(s, ingestUrl, batchLua, s.duration);
    accepted += batch.accepted;

    // 3. Stop Sluice cleanly, then count what its KV file holds.
    const stopAt = Date.now();
    const stopped = await sluice.stop("SIGTERM", 15_000);
    servers.delete(sluice);
    const stopMs = Date.now() - stopAt;
    if (!stopped.success) {
      console.error(
        `Sluice did not stop cleanly (exit ${stopped.code}${
          stopped.signal === "SIGKILL" ? ", killed after 15 s" : ""
        }):\n${sluice.output}`,
      );
    }
    const countAt = Date.now();
    const [evIds = 0, evs = 0, handoffs = 0] = await countKeys(kvPath, [
      ["ev_id", wsId],
      ["ev", wsId],
      ["handoff", wsId],
    ]);
    const countMs = Date.now() - countAt;

    // 4. Report.
    const bareRps = perSecond(bareResult);
    const singleRps = perSecond(single);
    const batchRps = perSecond(batch);
    console.log();
    console.log(table([
      ["", "req/s", "events/s", "vs bare", "p50", "p99", "non-2xx", "socket errors"],
      [
        "bare Deno.serve (202)",
        int(bareRps),
        "-",
        "1.00",
        ms(bareResult.latency_us.p50),
        ms(bareResult.latency_us.p99),
        int(nonSuccess(bareResult)),
        int(socketErrors(bareResult)),
      ],
      [
        "Sluice, 1 event/request",
        int(singleRps),
        int(singleRps),
        (singleRps / bareRps).toFixed(3),
        ms(single.latency_us.p50),
        ms(single.latency_us.p99),
        int(nonSuccess(single)),
        int(socketErrors(single)),
      ],
      [
        `Sluice, ${s.batch} events/request`,
        int(batchRps),
        int(batchRps * s.batch),
        (batchRps / bareRps).toFixed(3),
        ms(batch.latency_us.p50),
        ms(batch.latency_us.p99),
        int(nonSuccess(batch)),
        int(socketErrors(batch)),
      ],
    ]));
    console.log();
    console.log(`statuses  bare: ${statusText(bareResult)}`);
    console.log(`          single: ${statusText(single)}`);
    console.log(`          batch: ${statusText(batch)}`);
    console.log();
    const extra = evIds - accepted;
    // wrk does not count answers to requests in flight when a run ends; they were stored.
    const inFlightBound = s.connections * ((s.warmup > 0 ? 1 : 0) + 1 + s.batch);
    console.log(
      `stored: ${int(evIds)} event ids (["ev_id", ws]) and ${int(evs)} events (["ev", ws])` +
        ` vs ${int(accepted)} acknowledged (202s incl. warm-up; batch items "accepted")`,
    );
    console.log(
      `        difference ${extra >= 0 ? "+" : ""}${int(extra)} (${
        extra >= 0 && extra <= inFlightBound
          ? `≤ ${int(inFlightBound)}: requests in flight when a wrk run ended, expected`
          : "UNEXPECTED: acknowledged events missing or far too many stored"
      }); ev/ev_id ${evs === evIds ? "match" : "DIFFER"}`,
    );
    console.log(
      `hand-off: ${int(handoffs)} of ${
        int(evs)
      } stored events reached the queue consumer by the stop (${
        (100 * handoffs / Math.max(1, evs)).toFixed(1)
      }%; the rest stay queued in the KV file)`,
    );
    console.log(
      `Sluice stopped with SIGTERM in ${stopMs} ms (exit ${stopped.code}); KV counted in ${countMs} ms; total ${
        ((Date.now() - started) / 1000).toFixed(1)
      } s`,
    );
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await Promise.all([...servers].map((server) => server.stop("SIGTERM", 5_000)));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (interrupted) Deno.exit(130);
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}

import { type Config, configFromEnv } from "./lib/config.ts";
import { openRuntime } from "./lib/runtime.ts";
import { createApp } from "./routes/app.ts";
import { pageAssets } from "./routes/dashboard/_assets.ts";

/** What one cron run drains at most: messages, and ms of claiming (under the minute). */
const CRON_DRAIN_MESSAGES = 1_000;
const CRON_DRAIN_MS = 45_000;

/** The kv-outbox drain a cron run makes; set by main() once the runtime is open. */
let drainOnCron: (() => Promise<void>) | undefined;
/** The counter upkeep a cron run makes on Deno Deploy; set by main() once the runtime is open. */
let upkeepOnCron: (() => Promise<void>) | undefined;

// At the module's top level, before Deno.serve: Deno Deploy finds cron jobs by evaluating
// the entry module's top-level code (docs.deno.com/deploy/reference/cron). Each run drains
// the kv-outbox within itself, as the instance may stop when it returns. Without Deno.cron,
// requests drain a little each and an outside scheduler calls POST /v1/outbox/drain
// (docs/deploy/deno-deploy.md). With kv-queue the run does nothing.
if (typeof Deno.cron === "function") {
  Deno.cron("sluice-outbox-drain", "* * * * *", () => drainOnCron?.() ?? Promise.resolve());
  // Deploy's instances come and go, so the hourly counter upkeep (folds, retention) may never
  // fire from a timer there; elsewhere the runtime's own timer runs it.
  if (Deno.env.get("DENO_DEPLOYMENT_ID")) {
    Deno.cron("sluice-counter-upkeep", "7 * * * *", () => upkeepOnCron?.() ?? Promise.resolve());
  }
}

/** How long a graceful stop may take before the process exits anyway. */
const STOP_GRACE_MS = 30_000;

/** What a new user needs to read at start: where it listens, where data is, what to do next. */
function startupLines(config: Config, hostname: string, port: number): string[] {
  const shown = hostname === "0.0.0.0" || hostname === "::" ? "localhost" : hostname;
  const lines = [
    `Sluice listening on http://${shown}:${port} (bound to ${hostname})`,
    `Data: ${config.kvPath} (queue: ${config.queue})`,
    config.rootToken
      ? `Create a workspace: POST /v1/workspaces with "Authorization: Bearer $SLUICE_ROOT_TOKEN"`
      : `Create a workspace: deno task sluice workspace create --name "My shop"`,
    `API reference: http://${shown}:${port}/openapi.json`,
  ];
  if (config.allowPrivateUrls) {
    lines.push(
      "Warning: SLUICE_ALLOW_PRIVATE_URLS=1 lets destinations and webhooks reach private " +
        "addresses and plain http. Use it only for local testing.",
    );
  }
  return lines;
}

/**
 * Starts Sluice: opens KV, serves HTTP and consumes the queue. SIGINT or SIGTERM stops it
 * gracefully, once: no new connections, requests in flight answered, the pending group
 * committed, queued work left in KV, exit 0. A repeated signal while stopping is ignored.
 */
export async function main(): Promise<void> {
  const config = configFromEnv();
  const rt = await openRuntime(config);
  if (config.adminEmail && config.adminPassword) {
    const owner = await rt.accounts.bootstrapOwner(config.adminEmail, config.adminPassword);
    if (owner) console.log(`Created the instance owner ${owner.email}: sign in at /login`);
    // The dashboard is in use: build its islands now if stale, without holding up the start
    // (elsewhere they are built on the first dashboard request). Failures are logged there.
    pageAssets();
  }
  const app = createApp(rt);
  const workers = rt.startWorkers();
  upkeepOnCron = async () => {
    await rt.counterRetention.sweepAll();
  };
  if (config.queue === "kv-outbox") {
    drainOnCron = async () => {
      await rt.drainOutbox({ maxMessages: CRON_DRAIN_MESSAGES, budgetMs: CRON_DRAIN_MS });
    };
  }
  const server = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    onListen: ({ hostname, port }) => {
      for (const line of startupLines(config, hostname, port)) console.log(line);
    },
  }, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }));

  let stopping: Promise<void> | undefined;
  const stop = (signal: Deno.Signal) => {
    if (stopping) return;
    console.log(`${signal}: stopping (in-flight requests finish, queued work stays in KV)`);
    const forced = setTimeout(() => {
      console.error(`Still stopping after ${STOP_GRACE_MS / 1000} s: exiting`);
      Deno.exit(1);
    }, STOP_GRACE_MS);
    stopping = (async () => {
      await server.shutdown();
      await rt.close();
      await workers.catch(() => {});
      clearTimeout(forced);
      console.log("Stopped");
      Deno.exit(0);
    })();
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  await server.finished;
  await stopping;
}

if (import.meta.main) await main();

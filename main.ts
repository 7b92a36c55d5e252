import { configFromEnv } from "./lib/config.ts";
import { openRuntime } from "./lib/runtime.ts";
import { createApp } from "./routes/app.ts";

/** Starts Sluice: opens KV, serves HTTP and consumes the queue until SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  const config = configFromEnv();
  const rt = await openRuntime(config);
  const app = createApp(rt);
  const workers = rt.startWorkers();
  if (config.queue === "kv-outbox") {
    // Where isolates are not long-lived (Deno Deploy), the cron wakes one so the outbox drains.
    Deno.cron("sluice-outbox-drain", "* * * * *", () => {
      rt.startWorkers();
    });
  }
  const server = Deno.serve({
    port: config.port,
    hostname: config.hostname,
    onListen: ({ hostname, port }) =>
      console.log(`Sluice listening on http://${hostname}:${port} (KV: ${config.kvPath})`),
  }, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }));

  const stop = async () => {
    await server.shutdown();
    await rt.close();
    await workers.catch(() => {});
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

if (import.meta.main) await main();

import { type Config, isRemoteKv } from "./config.ts";
import { openKv } from "./kv.ts";
import { resolveMasterSecret } from "./master_secret.ts";
import { KvOutbox, KvQueue, type QueuePort } from "./queue/mod.ts";
import { GroupCommitter } from "./group_commit.ts";
import { WorkspaceStore } from "./workspaces.ts";
import { ApiKeyStore } from "./api_keys.ts";
import { eventSealer, EventStore } from "./event_store.ts";
import { RateLimiter } from "./rate_limit.ts";
import { Ingestor } from "./ingest.ts";
import { ClientIpResolver } from "./client_ip.ts";
import { handleIngested } from "./fanout.ts";

/** Everything a running Sluice holds: the KV handle and the services built on it. */
export interface Runtime {
  config: Config;
  kv: Deno.Kv;
  queue: QueuePort;
  committer: GroupCommitter;
  workspaces: WorkspaceStore;
  apiKeys: ApiKeyStore;
  events: EventStore;
  rateLimiter: RateLimiter;
  ingestor: Ingestor;
  clientIp: ClientIpResolver;
  /** Starts the queue consumer; resolves when KV closes. */
  startWorkers(): Promise<void>;
  /** Commits what is pending, stops timers and closes KV. */
  close(): Promise<void>;
}

/** Opens KV and builds the services for a configuration. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const kv = await openKv(config.kvPath);
  const secret = await resolveMasterSecret(config.kvPath, config.secret).catch((error) => {
    kv.close();
    throw error;
  });
  const queue: QueuePort = config.queue === "kv-outbox" ? new KvOutbox(kv) : new KvQueue(kv);
  const sealer = eventSealer(secret);
  const committer = new GroupCommitter(kv, queue, {
    maxChecks: config.kvMaxChecks,
    maxInFlight: isRemoteKv(config.kvPath) ? 4 : 1,
  });
  const rateLimiter = new RateLimiter(kv);
  let workers: Promise<void> | undefined;
  let closing = false;
  const inFlight = new Set<Promise<void>>();
  return {
    config,
    kv,
    queue,
    committer,
    workspaces: new WorkspaceStore(kv),
    apiKeys: new ApiKeyStore(kv),
    events: new EventStore(kv, sealer),
    rateLimiter,
    ingestor: new Ingestor(committer, sealer, rateLimiter),
    clientIp: new ClientIpResolver(config.trustedProxies),
    startWorkers() {
      workers ??= queue.listen(async (message) => {
        // Refused while closing: the queue retries it within seconds (after a restart, too),
        // whereas a message cut off by closing KV waits for KV's 60 s lease cleanup.
        if (closing) throw new Error("Cannot handle a queue message: shutting down");
        const handling = message.type === "ingested" ? handleIngested(kv, message) : undefined;
        if (!handling) return;
        inFlight.add(handling);
        try {
          await handling;
        } finally {
          inFlight.delete(handling);
        }
      });
      return workers;
    },
    async close() {
      closing = true;
      await committer.close();
      await rateLimiter.close();
      await Promise.allSettled(inFlight);
      await queue.close?.();
      kv.close();
      await workers?.catch(() => {});
    },
  };
}

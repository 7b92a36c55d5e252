import { type Config, isRemoteKv } from "./config.ts";
import { kvLimits } from "./kv/limits.ts";
import { openKv } from "./kv/open.ts";
import { resolveMasterSecret } from "./master_secret.ts";
import { KvOutbox, KvQueue, type QueuePort } from "./queue/mod.ts";
import { GroupCommitter } from "./ingest/group_commit.ts";
import { WorkspaceStore } from "./workspaces.ts";
import { ApiKeyStore } from "./auth/api_keys.ts";
import { eventSealer, EventStore } from "./event_store.ts";
import { RateLimiter } from "./ingest/rate_limit.ts";
import { Ingestor } from "./ingest/ingestor.ts";
import { IngestWorkers } from "./ingest/workers.ts";
import { ClientIpResolver } from "./ingest/client_ip.ts";
import { DestinationStore } from "./delivery/destinations.ts";
import { RuleStore } from "./delivery/rules.ts";
import { DeliveryEngine } from "./delivery/engine.ts";
import { EventLoader } from "./delivery/event_loader.ts";
import { type Sender, sendRequest } from "./delivery/send.ts";
import { checkUrl } from "./delivery/ssrf.ts";
import { connectorFor } from "../connectors/mod.ts";
import { WebhookStore } from "./webhooks/store.ts";
import { WebhookNotices } from "./webhooks/notices.ts";
import { WebhookSender } from "./webhooks/sender.ts";
import { configureLog, errorText, log } from "./log.ts";
import { Eraser } from "./erasure/eraser.ts";
import { CounterRetention } from "./erasure/counter_retention.ts";
import { Metrics } from "./metrics/metrics.ts";
import { outboxProbe } from "./metrics/outbox_probe.ts";
import { decodeTime } from "ulid";

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
  destinations: DestinationStore;
  rules: RuleStore;
  engine: DeliveryEngine;
  webhooks: WebhookStore;
  webhookSender: WebhookSender;
  /** This process's Prometheus metrics (`GET /metrics`). */
  metrics: Metrics;
  /** Removes one person's data (`POST /v1/erasure`); other modules register their hooks on it. */
  eraser: Eraser;
  /** Deletes hourly counters past `counter_retention_days`; lib/analytics adds its families. */
  counterRetention: CounterRetention;
  /** Sends one outbound request (SSRF guard, timeout, no redirects). */
  send: Sender;
  /** Whether a user-supplied URL may be saved (SSRF guard at registration). */
  urlGuard(url: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Starts the queue consumer; resolves when KV closes. */
  startWorkers(): Promise<void>;
  /** Commits what is pending, stops timers and closes KV. */
  close(): Promise<void>;
}

/** How often hourly counters past their retention are deleted. */
const COUNTER_SWEEP_MS = 3_600_000;

/** Opens KV (or takes `options.kv`, a handle opened elsewhere) and builds the services for a configuration. */
export async function openRuntime(
  config: Config,
  options: { kv?: Deno.Kv } = {},
): Promise<Runtime> {
  configureLog({ level: config.logLevel });
  const kv = options.kv ?? await openKv(config.kvPath);
  const secret = await resolveMasterSecret(config.kvPath, config.secret).catch((error) => {
    kv.close();
    throw error;
  });
  const queue: QueuePort = config.queue === "kv-outbox"
    ? new KvOutbox(kv, { leaseMs: config.outboxLeaseMs })
    : new KvQueue(kv);
  const sealer = eventSealer(secret);
  const limits = kvLimits(config.kvMaxChecks);
  const metrics = new Metrics();
  if (queue.kind === "kv-outbox") metrics.addProbe(outboxProbe(kv, metrics));
  const committer = new GroupCommitter(kv, queue, {
    limits,
    maxInFlight: isRemoteKv(config.kvPath) ? 4 : 1,
    metrics,
  });
  const rateLimiter = new RateLimiter(kv, limits, { metrics });
  const destinations = new DestinationStore(kv, secret);
  const rules = new RuleStore(kv);
  const send: Sender = (request) =>
    sendRequest(request, {
      allowPrivate: config.allowPrivateUrls,
      timeoutMs: config.deliveryTimeoutMs,
    });
  const storedEvents = new EventLoader(kv, sealer);
  // One main thread commits and delivers; the other cores parse and seal batches.
  const ingestWorkers = new IngestWorkers(secret, Math.max(1, navigator.hardwareConcurrency - 1));
  const webhooks = new WebhookStore(kv, secret, { maxPerWorkspace: config.maxWebhooks });
  const notices = new WebhookNotices(kv, queue, webhooks);
  const workspaces = new WorkspaceStore(kv);
  const events = new EventStore(kv, sealer, {
    retentionOf: async (wsId) => {
      const workspace = await workspaces.get(wsId);
      return workspace ? workspace.settings.retention_days * 86_400_000 : undefined;
    },
  });
  const engine = new DeliveryEngine({
    kv,
    queue,
    sealer,
    events: storedEvents,
    destinations,
    rules,
    connectorFor,
    send,
    limits,
    notices,
    retryScheduleMs: config.deliveryRetrySchedule,
    sendTimeoutMs: config.deliveryTimeoutMs,
    metrics,
  });
  const webhookSender = new WebhookSender({
    kv,
    queue,
    store: webhooks,
    notices,
    events,
    send,
    retryScheduleMs: config.webhookRetrySchedule,
    disableAfterMs: config.webhookDisableAfterMs,
    metrics,
  });
  const counterRetention = new CounterRetention(kv, limits);
  let stopSweeps: (() => void) | undefined;
  let workers: Promise<void> | undefined;
  let closing = false;
  const inFlight = new Set<Promise<void>>();
  return {
    config,
    kv,
    queue,
    committer,
    workspaces,
    apiKeys: new ApiKeyStore(kv),
    events,
    rateLimiter,
    ingestor: new Ingestor({
      committer,
      sealer,
      limiter: rateLimiter,
      stored: storedEvents,
      workers: ingestWorkers,
    }),
    clientIp: new ClientIpResolver(config.trustedProxies),
    destinations,
    rules,
    engine,
    webhooks,
    webhookSender,
    metrics,
    eraser: new Eraser({ kv, sealer, limits, cache: storedEvents, metrics }),
    counterRetention,
    send,
    async urlGuard(url) {
      const check = await checkUrl(url, { allowPrivate: config.allowPrivateUrls });
      return check.kind === "ok" ? { ok: true } : { ok: false, reason: check.reason };
    },
    startWorkers() {
      stopSweeps ??= counterRetention.start(COUNTER_SWEEP_MS);
      workers ??= queue.listen(async (message) => {
        // Refused while closing: the queue retries it within seconds (after a restart, too),
        // whereas a message cut off by closing KV waits for KV's 60 s lease cleanup.
        if (closing) {
          throw new Error("Shutting down: this queue message is left for the next start");
        }
        if (message.type === "ingested" && message.ids[0]) {
          metrics.fanOutLag.observe(Math.max(0, Date.now() - decodeTime(message.ids[0])) / 1000);
        }
        const handling = message.type === "ingested"
          ? engine.fanOut(message)
          : message.type === "deliver"
          ? engine.deliver(message)
          : message.type === "check"
          ? engine.check(message)
          : webhookSender.handle(message);
        inFlight.add(handling);
        metrics.queueInFlight.inc();
        try {
          await handling;
          metrics.queueHandled.inc({ type: message.type, outcome: "ok" });
        } catch (error) {
          metrics.queueHandled.inc({ type: message.type, outcome: "error" });
          log.warn("Queue message failed; the queue delivers it again later", {
            type: message.type,
            workspace_id: message.workspace_id,
            error: errorText(error),
          });
          throw error;
        } finally {
          metrics.queueInFlight.dec();
          inFlight.delete(handling);
        }
      });
      return workers;
    },
    async close() {
      closing = true;
      stopSweeps?.();
      await committer.close();
      await rateLimiter.close();
      await Promise.allSettled(inFlight);
      ingestWorkers.close();
      await queue.close();
      kv.close();
      await workers?.catch(() => {});
    },
  };
}

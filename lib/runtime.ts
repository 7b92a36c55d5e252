import { type Config, isRemoteKv } from "./config.ts";
import { kvLimits } from "./kv/limits.ts";
import { openKv } from "./kv/open.ts";
import { resolveMasterSecret } from "./master_secret.ts";
import {
  type DrainOptions,
  type DrainResult,
  KvOutbox,
  KvQueue,
  type MessageHandler,
  type QueuePort,
} from "./queue/mod.ts";
import { acceptPreviousSecrets, secretFingerprint } from "./crypto.ts";
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
import { SourceStore } from "./sources/store.ts";
import { identityErasureHook } from "./identity/erasure_hook.ts";
import { IdentityGraph } from "./identity/graph.ts";
import { LinkTokens } from "./identity/link_tokens.ts";
import { AccountStore } from "./auth/accounts.ts";
import { SessionStore } from "./auth/sessions.ts";
import { InvitationStore } from "./auth/invitations.ts";
import { LoginThrottle } from "./auth/throttle.ts";
import { PasswordSignIn } from "./auth/sign_in.ts";
import { SupabaseAuth } from "./auth/supabase.ts";
import { AuditLog } from "./audit/log.ts";

/** When a storage id (a ULID) was made, or undefined for anything else. */
function ulidTime(id: string | undefined): number | undefined {
  try {
    return id === undefined ? undefined : decodeTime(id);
  } catch {
    return undefined;
  }
}

/** How far off a message that arrives while closing is put back. */
const REQUEUE_WHILE_CLOSING_MS = 1_000;

/** After a request's drain found nothing due, the next request drains no sooner than this, ms. */
const REQUEST_DRAIN_IDLE_MS = 1_000;
import { configureLog, errorText, log } from "./log.ts";
import { Eraser } from "./erasure/eraser.ts";
import { CounterRetention } from "./analytics/retention.ts";
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
  /** Shop and payment platforms posting order webhooks (`/v1/sources`, `/ingest/…`). */
  sources: SourceStore;
  /** The identity graph: anonymous ids, people and their browsers' identifiers. */
  identity: IdentityGraph;
  /** Magic-link tokens, signed per workspace. */
  linkTokens: LinkTokens;
  /** Dashboard accounts and their roles per workspace. */
  accounts: AccountStore;
  sessions: SessionStore;
  invitations: InvitationStore;
  /** The dashboard's password check: local, Supabase Auth, or both (`SLUICE_AUTH`). */
  signIn: PasswordSignIn;
  loginThrottle: LoginThrottle;
  audit: AuditLog;
  /** This process's Prometheus metrics (`GET /metrics`). */
  metrics: Metrics;
  /** Removes one person's data (`POST /v1/erasure`); other modules register their hooks on it. */
  eraser: Eraser;
  /** The counters' upkeep: folds finished days' volume hours, deletes counters past their life. */
  counterRetention: CounterRetention;
  /** Sends one outbound request (SSRF guard, timeout, no redirects). */
  send: Sender;
  /** Fingerprints of the master secrets this instance opens values with: `SLUICE_SECRET` first. */
  secretFingerprints: readonly string[];
  /** Whether a user-supplied URL may be saved (SSRF guard at registration). */
  urlGuard(url: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Starts the queue consumer; resolves when KV closes. */
  startWorkers(): Promise<void>;
  /**
   * kv-outbox: handles due messages now, within `bounds` (see `KvOutbox.drain`); null with
   * kv-queue, whose listener drains itself.
   */
  drainOutbox(bounds: DrainOptions): Promise<DrainResult | null>;
  /**
   * kv-outbox: after a request's answer, a bounded drain (`SLUICE_OUTBOX_REQUEST_DRAIN`
   * messages in `SLUICE_OUTBOX_REQUEST_DRAIN_BUDGET`), one at a time in this process; after
   * a drain that found nothing, none for a second unless this process queued something
   * since. Answers the drain it started (never rejects), or undefined when it started none.
   */
  drainAfterRequest(): Promise<void> | undefined;
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
  // Before any Sealer exists: while a rotation runs, every one also opens the old values.
  acceptPreviousSecrets(secret, config.previousSecrets);
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
  const retentionOf = async (wsId: string) => {
    const workspace = await workspaces.get(wsId);
    return workspace ? workspace.settings.retention_days * 86_400_000 : undefined;
  };
  const events = new EventStore(kv, sealer, { retentionOf });
  const identity = new IdentityGraph(kv, secret);
  const eraser = new Eraser({ kv, sealer, limits, cache: storedEvents, metrics });
  eraser.register(identityErasureHook(identity));
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
    retentionOf,
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
  const apiKeys = new ApiKeyStore(kv);
  const accounts = new AccountStore(kv);
  const invitations = new InvitationStore(kv);
  const signIn = new PasswordSignIn({
    mode: config.authMode,
    accounts,
    invitations,
    supabase: config.supabase && config.authMode !== "local"
      ? new SupabaseAuth(config.supabase)
      : undefined,
  });
  let stopSweeps: (() => void) | undefined;
  let stopKeyUsage: (() => void) | undefined;
  let workers: Promise<void> | undefined;
  let closing = false;
  let kvClosed = false;
  const inFlight = new Set<Promise<void>>();
  const dispatch: MessageHandler = async (message) => {
    // While closing, a message is put back a second later and this copy completes: the
    // next start takes it at once, whereas a message cut off by closing KV waits for KV's
    // 60 s lease cleanup (and a thrown error would print a stack trace on every stop).
    if (closing) {
      // Once KV is closed nothing can be written: the message stays KV's, taken after the start.
      if (kvClosed) return;
      return await queue.enqueue(message, { delayMs: REQUEUE_WHILE_CLOSING_MS }).catch(
        (error) => {
          if (!kvClosed) throw error;
        },
      );
    }
    const committedAt = message.type === "ingested" ? ulidTime(message.ids[0]) : undefined;
    if (committedAt !== undefined) {
      metrics.fanOutLag.observe(Math.max(0, Date.now() - committedAt) / 1000);
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
  };
  const drainOutbox = (bounds: DrainOptions) =>
    queue instanceof KvOutbox && !closing
      ? queue.drain(dispatch, bounds)
      : Promise.resolve(queue instanceof KvOutbox ? { handled: 0, failed: 0, more: false } : null);
  let requestDrain: Promise<void> | undefined;
  let requestDrainIdleUntil = 0;
  /** Messages this process had queued when the last drain after a request started. */
  let queuedAtLastDrain = -1;
  return {
    config,
    kv,
    queue,
    committer,
    workspaces,
    apiKeys,
    events,
    rateLimiter,
    ingestor: new Ingestor({
      committer,
      sealer,
      limiter: rateLimiter,
      stored: storedEvents,
      workers: ingestWorkers,
      identity,
    }),
    clientIp: new ClientIpResolver(config.trustedProxies),
    destinations,
    rules,
    engine,
    webhooks,
    webhookSender,
    sources: new SourceStore(kv, secret),
    identity,
    linkTokens: new LinkTokens(secret),
    accounts,
    sessions: new SessionStore(kv),
    invitations,
    signIn,
    loginThrottle: new LoginThrottle(kv),
    audit: new AuditLog(kv),
    metrics,
    eraser,
    counterRetention,
    send,
    secretFingerprints: [secret, ...config.previousSecrets].map(secretFingerprint),
    async urlGuard(url) {
      const check = await checkUrl(url, { allowPrivate: config.allowPrivateUrls });
      return check.kind === "ok" ? { ok: true } : { ok: false, reason: check.reason };
    },
    startWorkers() {
      stopSweeps ??= counterRetention.start(COUNTER_SWEEP_MS);
      stopKeyUsage ??= apiKeys.usage.start();
      workers ??= queue.listen(dispatch);
      return workers;
    },
    drainOutbox,
    drainAfterRequest() {
      if (!(queue instanceof KvOutbox) || config.outboxRequestDrain === 0 || closing) return;
      if (requestDrain) return;
      const resting = Date.now() < requestDrainIdleUntil;
      if (resting && queue.enqueued === queuedAtLastDrain) return;
      queuedAtLastDrain = queue.enqueued;
      requestDrain = drainOutbox({
        maxMessages: config.outboxRequestDrain,
        budgetMs: config.outboxRequestDrainBudgetMs,
      }).then((result) => {
        if (!result || result.handled + result.failed === 0) {
          requestDrainIdleUntil = Date.now() + REQUEST_DRAIN_IDLE_MS;
        }
      }).catch((error) => {
        requestDrainIdleUntil = Date.now() + REQUEST_DRAIN_IDLE_MS;
        log.error("Outbox drain after a request failed", { error: errorText(error) });
      }).finally(() => requestDrain = undefined);
      return requestDrain;
    },
    async close() {
      closing = true;
      stopSweeps?.();
      stopKeyUsage?.();
      await committer.close();
      await rateLimiter.close();
      await requestDrain;
      await Promise.allSettled(inFlight);
      ingestWorkers.close();
      await apiKeys.usage.flush({ all: true }).catch((error) =>
        log.warn("API key last-use times were not written on close", { error: errorText(error) })
      );
      await queue.close();
      kvClosed = true;
      kv.close();
      await workers?.catch(() => {});
    },
  };
}

import type { Connector } from "../../connectors/types.ts";
import { lookupEntries } from "../event_lookup.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { FanOutCounts } from "../analytics/fan_out_counts.ts";
import { OrderBook } from "../analytics/orders.ts";
import type { RowContext } from "../analytics/transitions.ts";
import type { Sealer } from "../crypto.ts";
import { KeyedLimiter } from "../keyed_limiter.ts";
import { deliveryKey, deliveryPrefix } from "../kv/keys.ts";
import { DEFAULT_KV_LIMITS, type KvLimits } from "../kv/limits.ts";
import { readByIds } from "../kv/range_read.ts";
import { errorText, log } from "../log.ts";
import { reportDeliveries, type SettledAttempt } from "../metrics/delivery_report.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { CheckMessage, DeliverMessage, IngestedMessage, QueuePort } from "../queue/mod.ts";
import { EVENT_MESSAGE_TYPES } from "../webhooks/catalogue.ts";
import type { WebhookNotices } from "../webhooks/notices.ts";
import { subscribes, type Webhook } from "../webhooks/store.ts";
import { AccessTokens } from "./access_tokens.ts";
import { attemptDelivery, type EventAttempt, outcomeAt } from "./attempt.ts";
import type { DeliveryMatches } from "./bulk_retry.ts";
import { Coalescer } from "./coalescer.ts";
import { planDeliveryNotices, platformRef } from "./delivery_notices.ts";
import type { Destination, DestinationStore } from "./destinations.ts";
import { EventLoader } from "./event_loader.ts";
import { type FanOutDeps, fanOutSliceSize, recordHandoffs, recordRoutes } from "./fan_out.ts";
import { settle, settleFollowUp } from "./outcome.ts";
import { type PlatformTestResult, sendPlatformTest } from "./platform_test_send.ts";
import { type QueuedWithRows, type RowWrite, RowWriter } from "./row_writer.ts";
import { type DeliveryRow, routeRow } from "./rows.ts";
import { type RouteDecision, routeEvent, type RuleStore } from "./rules.ts";
import type { Sender } from "./send.ts";

/** What the engine needs. */
export interface DeliveryEngineDeps {
  kv: Deno.Kv;
  queue: QueuePort;
  sealer: Sealer;
  destinations: DestinationStore;
  rules: RuleStore;
  connectorFor: (type: string) => Connector | undefined;
  send: Sender;
  /** What one atomic commit may hold; the local SQLite limits by default. */
  limits?: KvLimits;
  /** Raises webhook notices (event notices at fan-out, delivery notices at the last failure). */
  notices?: WebhookNotices;
  /** Where deliveries, retries and latencies are counted. */
  metrics?: Metrics;
  /** Delays between attempts, ms; attempts = length + 1. */
  retryScheduleMs: readonly number[];
  /** Where stored events are loaded from; shared with ingest, which hands over what it stored. */
  events?: EventLoader;
  /** Requests in flight per destination in this process. */
  perDestinationConcurrency?: number;
  /** How long fan-out waits for its first attempts before it queues them. Default 3 s. */
  firstAttemptBudgetMs?: number;
  /** The send timeout: a first attempt still running after that budget is queued this much later. */
  sendTimeoutMs?: number;
  now?: () => number;
  random?: () => number;
  /**
   * Count analytics in fan-out's and the rows' commits (lib/analytics); on by default, off
   * for the benchmarks' baseline.
   */
  analytics?: boolean;
  /**
   * A workspace's event retention, ms: fan-out indexes events for the search
   * (lib/event_lookup.ts) for that long. Without it, nothing is indexed.
   */
  retentionOf?: (wsId: string) => Promise<number | undefined>;
}

/** How an event re-enters delivery from the API. */
export type RequeueMode =
  | { kind: "replay" }
  | { kind: "forward"; destinationIds: string[] }
  | { kind: "retry_failed" };

/** How long a destination that overran the budget is sent through the queue instead. */
const SLOW_FOR_MS = 60_000;
/** Margin after the send timeout before a handed-over attempt is due (its row is written by then). */
const HANDOVER_MARGIN_MS = 30_000;
/** When a failed first attempt is due again (as the queue retries a failed message). */
const FAILED_ATTEMPT_DELAY_MS = 1_000;

/** A batch ready to send: its destination, connector and settings, and the rows it settles. */
interface Target {
  destination: Destination;
  connector: Connector;
  settings: unknown;
}

/**
 * The delivery engine (DESIGN.md steps 7–8): fans committed events out to destinations
 * through routing rules and consent, then sends each destination's batches through its
 * connector, settles each event's row from its own outcome and retries on the schedule.
 * Each destination has its own queue messages and concurrency cap, so one that is down or
 * slow never holds up the others. The steps live beside it: fan_out.ts (routes),
 * coalescer.ts (batching), attempt.ts (one attempt), outcome.ts (answer → row),
 * row_writer.ts (commits).
 */
export class DeliveryEngine {
  readonly #d:
    & Required<Omit<DeliveryEngineDeps, "events" | "notices" | "metrics" | "retentionOf">>
    & Pick<DeliveryEngineDeps, "notices" | "metrics" | "retentionOf">;
  readonly #slots: KeyedLimiter;
  readonly #events: EventLoader;
  readonly #coalescer: Coalescer;
  readonly #writer: RowWriter;
  readonly #tokens: AccessTokens;
  readonly #fanOut: FanOutDeps;
  readonly #orders: OrderBook;
  /**
   * One fan-out commit per workspace at a time: its analytics read and rewrite visitor and
   * order records, which concurrent fan-outs of the same visitor must not interleave.
   */
  readonly #countLock = new KeyedLimiter(1);
  /** Destinations whose first attempts go through the queue until then (epoch ms). */
  readonly #slowUntil = new Map<string, number>();

  constructor(deps: DeliveryEngineDeps) {
    this.#d = {
      perDestinationConcurrency: 4,
      firstAttemptBudgetMs: 3_000,
      sendTimeoutMs: 10_000,
      limits: DEFAULT_KV_LIMITS,
      now: Date.now,
      random: Math.random,
      analytics: true,
      ...deps,
    };
    this.#events = deps.events ?? new EventLoader(deps.kv, deps.sealer);
    this.#slots = new KeyedLimiter(this.#d.perDestinationConcurrency);
    this.#coalescer = new Coalescer((message, deadline) => this.#deliverNow(message, deadline));
    this.#writer = new RowWriter(this.#d);
    this.#tokens = new AccessTokens(deps.send, this.#d.now);
    this.#orders = new OrderBook(deps.kv);
    this.#fanOut = {
      ...this.#d,
      counts: this.#d.analytics ? new FanOutCounts(deps.kv, this.#orders) : undefined,
    };
  }

  /** Routes a committed group to destinations: hand-off records, then the first attempts. */
  async fanOut(message: IngestedMessage): Promise<void> {
    const wsId = message.workspace_id;
    const [destinations, hooks, retentionMs] = await Promise.all([
      this.#d.destinations.list(wsId, true),
      this.#eventHooks(wsId),
      this.#d.retentionOf?.(wsId),
    ]);
    if (!destinations.some((d) => d.enabled) && hooks.length === 0) {
      // Nothing to route to: record the hand-off and index the events for the search, without
      // counting what fan-out counts (a workspace starts counting funnels and orders with its
      // first destination).
      const events = retentionMs === undefined ? [] : await this.#events.load(wsId, message.ids);
      const lookups = lookupEntries(events, retentionMs ?? 0, this.#d.now());
      return await recordHandoffs(this.#fanOut, wsId, message.ids, lookups);
    }
    const [events, rules] = await Promise.all([
      this.#events.load(wsId, message.ids),
      this.#d.rules.list(wsId, true),
    ]);
    const routed = events.map((event) => ({
      event,
      decisions: routeEvent(event, destinations, rules, this.#d.connectorFor),
    }));
    // One commit per slice of events: hand-off checks make a redelivered message a no-op.
    const sliceSize = fanOutSliceSize(this.#d.limits, destinations.length, hooks.length);
    const sends: DeliverMessage[] = [];
    for (let i = 0; i < routed.length; i += sliceSize) {
      const slice = routed.slice(i, i + sliceSize);
      const recorded = await this.#countLock.run(
        wsId,
        () =>
          recordRoutes(this.#fanOut, wsId, slice, destinations, {
            initial: true,
            replay: false,
            hooks,
            retentionMs,
          }),
      );
      sends.push(...recorded.sends);
    }
    // Events that expired before fan-out still get their hand-off, so the message completes.
    const found = new Set(events.map((e) => e.id));
    await recordHandoffs(this.#fanOut, wsId, message.ids.filter((id) => !found.has(id)));
    await this.#attemptNow(sends);
  }

  /**
   * Makes fan-out's first attempts in this process, sparing them a second trip through the
   * queue; the message completes once each is answered or queued. What is not answered
   * within the budget is queued, so a slow destination holds fan-out up only that
   * long (and goes through the queue for a while after): requests not started are due at
   * once, requests that may be on the wire after the send timeout (their rows then say
   * whether they went), failed attempts after a second.
   */
  async #attemptNow(sends: readonly DeliverMessage[]): Promise<void> {
    const now = this.#d.now();
    const budget = this.#d.firstAttemptBudgetMs;
    const inline = sends.filter((m) => !((this.#slowUntil.get(m.destination_id) ?? 0) > now));
    const outcomes = await Promise.all(
      inline.map((message) => settleWithin(this.#coalescer.join(message, now + budget), budget)),
    );
    const queued: QueuedWithRows[] = sends
      .filter((message) => !inline.includes(message))
      .map((message) => ({ message, delayMs: 0 }));
    inline.forEach((message, i) => {
      const outcome = outcomes[i]!;
      if (outcome.kind === "answered") {
        if (outcome.unsent.length) {
          queued.push({ message: { ...message, ids: outcome.unsent }, delayMs: 0 });
        }
      } else if (outcome.kind === "running") {
        this.#slowUntil.set(message.destination_id, now + SLOW_FOR_MS);
        queued.push({ message, delayMs: this.#d.sendTimeoutMs + HANDOVER_MARGIN_MS });
      } else {
        log.error("First delivery attempt failed; queued again", {
          workspace_id: message.workspace_id,
          destination_id: message.destination_id,
          error: errorText(outcome.error),
        });
        queued.push({ message, delayMs: FAILED_ATTEMPT_DELAY_MS });
      }
    });
    await this.#enqueue(queued);
  }

  async #enqueue(queued: readonly QueuedWithRows[]): Promise<void> {
    const size = this.#d.limits.mutations - 100;
    for (let i = 0; i < queued.length; i += size) {
      const op = this.#d.kv.atomic();
      for (const { message, delayMs } of queued.slice(i, i + size)) {
        this.#d.queue.enqueueIn(op, message, { delayMs });
      }
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot queue ${queued.length} delivery messages`);
    }
  }

  /** Handles a deliver message, sent together with others that arrive within moments. */
  async deliver(message: DeliverMessage): Promise<void> {
    await this.#coalescer.join(message);
  }

  /**
   * Sends one batch to one destination and records what the platform said about each
   * event. Requests due after `deadline` are not sent: answers the ids they held, whose
   * rows are left as they were.
   */
  async #deliverNow(message: DeliverMessage, deadline?: number): Promise<string[]> {
    const wsId = message.workspace_id;
    const destination = await this.#d.destinations.get(wsId, message.destination_id);
    const rows = await this.#loadRows(wsId, message.ids, message.destination_id);
    // Only rows waiting for exactly this attempt: a redelivered older message is a no-op.
    const waiting = message.ids.filter((id) => isDue(rows.get(id), message.attempt));
    if (waiting.length === 0) return [];
    const stored = await this.#events.load(wsId, waiting);
    for (const event of stored) {
      if (rows.has(event.id)) continue;
      const route = {
        type: destination?.type ?? "webhook",
        event_name: message.names?.[event.id] ?? event.event_name,
      };
      rows.set(event.id, routeRow(message.destination_id, route, this.#d.now()));
    }
    const events = stored.map((event) => ({
      ...event,
      event_name: rows.get(event.id)!.event_name,
    }));
    const target = this.#targetOf(destination);
    const contexts = await this.#rowContexts(wsId, destination?.type ?? "webhook", stored, rows, {
      latency: !message.replay,
    });
    if ("reason" in target) {
      await this.#close(message, events, rows, contexts, target);
      return [];
    }
    const attempts = await attemptDelivery(
      { send: this.#d.send, slots: this.#slots, tokens: this.#tokens, now: this.#d.now },
      target,
      events,
      { deadline },
    );
    await this.#settle(wsId, target.destination, message, attempts, rows, contexts);
    return attempts.filter((a) => !a.result).map((a) => a.event.id);
  }

  /** The destination ready to send to, or why its events cannot be sent. */
  #targetOf(
    destination: Destination | null,
  ): Target | { status: "skipped" | "failed"; reason: string } {
    if (!destination) return { status: "skipped", reason: "destination deleted" };
    if (!destination.enabled) return { status: "skipped", reason: "destination disabled" };
    const connector = this.#d.connectorFor(destination.type);
    if (!connector) {
      return { status: "failed", reason: `no connector for type "${destination.type}"` };
    }
    const settings = connector.settings.safeParse(this.#d.destinations.settingsOf(destination));
    if (!settings.success) {
      const issue = settings.error.issues[0];
      return {
        status: "failed",
        reason: `destination settings are invalid: ${issue?.path.join(".")} ${issue?.message}`
          .replace(/\s+/g, " "),
      };
    }
    return { destination, connector, settings: settings.data };
  }

  /** Closes rows that cannot be sent: skipped (disabled, deleted) or failed (no connector, bad settings). */
  async #close(
    message: DeliverMessage,
    events: readonly SluiceEvent[],
    rows: ReadonlyMap<string, DeliveryRow>,
    contexts: ReadonlyMap<string, RowContext>,
    closed: { status: "skipped" | "failed"; reason: string },
  ): Promise<void> {
    const updatedAt = new Date(this.#d.now()).toISOString();
    const settled = events.map((event) => ({
      event,
      row: {
        ...rows.get(event.id)!,
        status: closed.status,
        last_error: closed.reason,
        updated_at: updatedAt,
      },
    }));
    await this.#writer.write(
      message.workspace_id,
      settled.map(({ event, row }) => ({
        ulid: event.id,
        destinationId: message.destination_id,
        row,
        context: contexts.get(event.id),
      })),
    );
    reportDeliveries(this.#d.metrics, message.workspace_id, settled, { attempt: message.attempt });
  }

  /**
   * What the analytics counters need of each row a send settles: the row before, the stored
   * event (its own name, identifiers and order id) and whether it is its order's first copy;
   * `latency`: record accept→delivery time (not for replays). Empty with analytics off.
   */
  async #rowContexts(
    wsId: string,
    type: string,
    events: readonly SluiceEvent[],
    rows: ReadonlyMap<string, DeliveryRow>,
    options: { latency: boolean },
  ): Promise<Map<string, RowContext>> {
    if (!this.#d.analytics) return new Map();
    const firsts = await this.#orders.firstCopies(wsId, events);
    const now = this.#d.now();
    return new Map(events.map((event) => [event.id, {
      before: rows.get(event.id),
      type,
      event,
      firstOfOrder: firsts.has(event.id),
      ...(options.latency ? { latencyMs: now - event.received_at } : {}),
    }]));
  }

  /**
   * Settles each attempted event's row from its own outcome, and commits the rows with the
   * retry and follow-up messages they call for and the webhook notices they raise; pauses
   * the destination when its credentials were refused.
   */
  async #settle(
    wsId: string,
    destination: Destination,
    message: DeliverMessage,
    attempts: readonly EventAttempt[],
    rows: ReadonlyMap<string, DeliveryRow>,
    contexts: ReadonlyMap<string, RowContext>,
  ): Promise<void> {
    const now = this.#d.now();
    const writes: RowWrite[] = [];
    const reported: SettledAttempt[] = [];
    const retryIds: string[] = [];
    const followUps = new Map<string, string[]>();
    let retryInMs = 0;
    let authFailure: string | undefined;
    for (const { event, result } of attempts) {
      if (!result) continue;
      const settled = settle(rows.get(event.id)!, result, {
        attempt: message.attempt,
        schedule: this.#d.retryScheduleMs,
        now,
        random: this.#d.random(),
      });
      if (settled.retryInMs !== undefined) {
        retryIds.push(event.id);
        retryInMs = Math.max(retryInMs, settled.retryInMs);
      }
      if (settled.followUpToken !== undefined) {
        followUps.set(settled.followUpToken, [
          ...followUps.get(settled.followUpToken) ?? [],
          event.id,
        ]);
      }
      authFailure ??= settled.authFailure;
      writes.push({
        ulid: event.id,
        destinationId: destination.id,
        row: settled.row,
        context: contexts.get(event.id),
      });
      reported.push({ event, row: settled.row, answer: result.answer });
    }
    for (const write of writes) {
      if (write.row.status === "retrying") write.row.next_attempt_at = now + retryInMs;
    }
    const queued: QueuedWithRows[] = [];
    if (retryIds.length) {
      const retry: DeliverMessage = {
        type: "deliver",
        workspace_id: wsId,
        destination_id: destination.id,
        ids: retryIds,
        attempt: message.attempt + 1,
        ...(message.replay ? { replay: true } : {}),
      };
      queued.push({ message: retry, delayMs: retryInMs });
    }
    queued.push(...this.#followUpChecks(wsId, destination, followUps, now));
    const events = attempts.map((a) => a.event);
    const notices = await planDeliveryNotices(this.#d.notices, wsId, destination, {
      attempt: message.attempt,
      events,
      writes,
    });
    await this.#writer.write(wsId, writes, queued, notices);
    reportDeliveries(this.#d.metrics, wsId, reported, { attempt: message.attempt });
    if (authFailure) await this.#pause(wsId, destination, authFailure, now);
  }

  /** The first follow-up check of each request the platform accepted for processing. */
  #followUpChecks(
    wsId: string,
    destination: Destination,
    followUps: ReadonlyMap<string, string[]>,
    now: number,
  ): QueuedWithRows[] {
    const delayMs = this.#d.connectorFor(destination.type)?.followUp?.firstCheckAfterMs ?? 0;
    return [...followUps].map(([token, ids]) => ({
      message: {
        type: "check",
        workspace_id: wsId,
        destination_id: destination.id,
        ids,
        token,
        accepted_at: now,
        check: 1,
      } satisfies CheckMessage,
      delayMs,
    }));
  }

  /** Marks the destination unhealthy (its later events are skipped) and raises platform.unhealthy once. */
  async #pause(wsId: string, destination: Destination, reason: string, now: number) {
    const health = {
      status: "unhealthy" as const,
      reason: `auth failed: ${reason}`.slice(0, 300),
      since: new Date(now).toISOString(),
    };
    if (await this.#d.destinations.setHealth(wsId, destination.id, health)) {
      await this.#d.notices?.raise(wsId, "platform.unhealthy", {
        platform: platformRef(destination),
        reason: health.reason,
        since: health.since,
      });
    }
  }

  /**
   * Handles a follow-up check: asks the platform how the events it accepted went, settles
   * their rows, and asks again later (backing off) while it is still processing, until the
   * connector's give-up time.
   */
  async check(message: CheckMessage): Promise<void> {
    const wsId = message.workspace_id;
    const destination = await this.#d.destinations.get(wsId, message.destination_id);
    const target = this.#targetOf(destination);
    if ("reason" in target) return;
    const followUp = target.connector.followUp;
    const rows = await this.#loadRows(wsId, message.ids, message.destination_id);
    const open = message.ids.filter((id) => rows.get(id)?.status === "accepted");
    if (!followUp || open.length === 0) return;
    const now = this.#d.now();
    const token = target.connector.authorize
      ? await this.#tokens.get(target.destination, target.connector, target.settings)
      : undefined;
    if (token && "outcome" in token) return await this.#checkAgain(message, followUp, now);
    const request = followUp.request(message.token, target.settings, {
      now,
      accessToken: token?.token,
    });
    const answer = await this.#d.send(request);
    const classification = answer.response ? followUp.classify(answer.response) : undefined;
    if (!classification || classification.outcome.kind === "retry") {
      return await this.#checkAgain(message, followUp, now);
    }
    const writes: RowWrite[] = message.ids.flatMap((id, position) => {
      const before = rows.get(id);
      if (before?.status !== "accepted") return [];
      const row = settleFollowUp(before, outcomeAt(classification, position), now);
      return row === before ? [] : [{ ulid: id, destinationId: target.destination.id, row }];
    });
    const stillOpen = open.length - writes.length;
    const events = stillOpen === open.length ? [] : await this.#events.load(wsId, open);
    const contexts = await this.#rowContexts(wsId, target.destination.type, events, rows, {
      latency: false,
    });
    for (const write of writes) write.context = contexts.get(write.ulid);
    const notices = await planDeliveryNotices(this.#d.notices, wsId, target.destination, {
      attempt: 1,
      events,
      writes,
    });
    await this.#writer.write(wsId, writes, [], notices);
    const traceIds = new Map(events.map((event) => [event.id, event.trace_id]));
    reportDeliveries(
      this.#d.metrics,
      wsId,
      writes.map(({ ulid, row }) => ({ event: { id: ulid, trace_id: traceIds.get(ulid) }, row })),
      { attempt: message.check, kind: "follow_up" },
    );
    if (stillOpen > 0) await this.#checkAgain(message, followUp, now);
  }

  /** Queues the next check, twice as far off as the last, unless the give-up time has passed. */
  async #checkAgain(
    message: CheckMessage,
    followUp: NonNullable<Connector["followUp"]>,
    now: number,
  ): Promise<void> {
    const delayMs = followUp.firstCheckAfterMs * 2 ** message.check;
    if (now + delayMs - message.accepted_at > followUp.giveUpAfterMs) return;
    await this.#d.queue.enqueue({ ...message, check: message.check + 1 }, { delayMs });
  }

  /**
   * Sends the synthetic test event to a destination in its platform's test mode and answers
   * what the platform said (platform_test_send.ts); undefined when its connector is missing.
   * Settings must be valid: the caller checks them.
   */
  async testDestination(destination: Destination): Promise<PlatformTestResult | undefined> {
    const connector = this.#d.connectorFor(destination.type);
    if (!connector) return undefined;
    const settings = connector.settings.parse(this.#d.destinations.settingsOf(destination));
    return await sendPlatformTest(
      { send: this.#d.send, tokens: this.#tokens, now: this.#d.now },
      { destination, connector, settings },
    );
  }

  /**
   * Puts one event back into delivery: replay (current rules, even where delivered),
   * forward (to chosen destinations), or retry-failed. Returns the rows now queued.
   */
  async requeue(wsId: string, event: SluiceEvent, mode: RequeueMode): Promise<DeliveryRow[]> {
    const destinations = await this.#d.destinations.list(wsId);
    let decisions: Map<string, RouteDecision>;
    if (mode.kind === "replay") {
      const rules = await this.#d.rules.list(wsId);
      decisions = routeEvent(event, destinations, rules, this.#d.connectorFor);
    } else if (mode.kind === "forward") {
      decisions = new Map(mode.destinationIds.map((id) => [id, {
        send: true as const,
        event_name: event.event_name,
      }]));
    } else {
      const rows = await this.#loadRowsForEvent(wsId, event.id, destinations);
      decisions = new Map(
        [...rows].filter(([, row]) => row.status === "failed").map(([id, row]) => [id, {
          send: true as const,
          event_name: row.event_name,
        }]),
      );
    }
    const recorded = await recordRoutes(this.#fanOut, wsId, [{ event, decisions }], destinations, {
      initial: false,
      replay: mode.kind !== "retry_failed",
      note: mode.kind,
    });
    return recorded.rows;
  }

  /**
   * Resends matched deliveries (bulk retry): each event goes again to the destinations it
   * failed or was skipped at, under the name it had there. Returns the deliveries queued.
   */
  async resend(wsId: string, matches: DeliveryMatches): Promise<number> {
    const destinations = await this.#d.destinations.list(wsId);
    const events = await this.#events.load(wsId, [...matches.keys()]);
    const routed = events.map((event) => ({
      event,
      decisions: new Map(
        [...matches.get(event.id) ?? []].map(([id, name]) => [id, {
          send: true as const,
          event_name: name,
        }]),
      ),
    }));
    const sliceSize = fanOutSliceSize(this.#d.limits, destinations.length, 0);
    let queued = 0;
    for (let i = 0; i < routed.length; i += sliceSize) {
      const recorded = await recordRoutes(
        this.#fanOut,
        wsId,
        routed.slice(i, i + sliceSize),
        destinations,
        { initial: false, replay: true },
      );
      queued += recorded.rows.length;
    }
    return queued;
  }

  /** Webhooks subscribed to any event notice (none without notices). */
  async #eventHooks(wsId: string): Promise<Webhook[]> {
    if (!this.#d.notices) return [];
    return (await this.#d.notices.enabledHooks(wsId)).filter((hook) =>
      EVENT_MESSAGE_TYPES.some((type) => subscribes(hook, type))
    );
  }

  /** The rows of `ids` with one destination; the range read also passes other destinations' rows. */
  async #loadRows(
    wsId: string,
    ids: readonly string[],
    destinationId: string,
  ): Promise<Map<string, DeliveryRow>> {
    const destinations = await this.#d.destinations.list(wsId, true);
    return await readByIds<DeliveryRow>(this.#d.kv, ids, {
      prefix: deliveryPrefix(wsId),
      suffix: [destinationId],
    }, { maxScan: 2 * ids.length * Math.max(1, destinations.length) + 64 });
  }

  async #loadRowsForEvent(
    wsId: string,
    ulid: string,
    destinations: readonly Destination[],
  ): Promise<Map<string, DeliveryRow>> {
    const rows = new Map<string, DeliveryRow>();
    for (const destination of destinations) {
      const entry = await this.#d.kv.get<DeliveryRow>(deliveryKey(wsId, ulid, destination.id));
      if (entry.value) rows.set(destination.id, entry.value);
    }
    return rows;
  }
}

/** Whether a row waits for this attempt; the first attempt after fan-out has no row yet. */
function isDue(row: DeliveryRow | undefined, attempt: number): boolean {
  if (!row) return attempt === 1;
  return (row.status === "pending" || row.status === "retrying") && row.attempts === attempt - 1;
}

/** How a first attempt stood when fan-out's budget ran out. */
type AttemptOutcome =
  | { kind: "answered"; unsent: string[] }
  | { kind: "running" }
  | { kind: "failed"; error: unknown };

/** Waits up to `ms` for an attempt; one still running goes on, its failure caught. */
async function settleWithin(attempt: Promise<string[]>, ms: number): Promise<AttemptOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const running = new Promise<AttemptOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "running" }), ms);
  });
  try {
    return await Promise.race([
      attempt.then(
        (unsent): AttemptOutcome => ({ kind: "answered", unsent }),
        (error): AttemptOutcome => ({ kind: "failed", error }),
      ),
      running,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

import type {
  Classification,
  Connector,
  OutboundRequest,
  PlatformResponse,
  PlatformType,
} from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { Sealer } from "../crypto.ts";
import type { Destination, DestinationStore } from "./destinations.ts";
import { deliveryKey, deliveryPrefix, handoffKey, handoffPrefix } from "../kv/keys.ts";
import { KeyedLimiter } from "../keyed_limiter.ts";
import { readByIds } from "../kv/range_read.ts";
import type { DeliverMessage, IngestedMessage, QueuePort } from "../queue/mod.ts";
import { type RouteDecision, routeEvent, type RuleStore } from "./rules.ts";
import { EventLoader } from "./event_loader.ts";
import { decisionsOf, firstSends, type Routed } from "./first_sends.ts";
import {
  DELIVERY_ROW_TTL_MS,
  type DeliveryRow,
  type Route,
  type RoutedHandoff,
  routeRow,
} from "./rows.ts";
import { EVENT_MESSAGE_TYPES, type EventRef, type PlatformRef } from "../webhooks/catalogue.ts";
import {
  eventNoticeTypes,
  eventRef,
  type Notice,
  noticeMutations,
  noticeSlices,
  type WebhookNotices,
} from "../webhooks/notices.ts";
import { subscribes, type Webhook } from "../webhooks/store.ts";

/** What sending one request gave: the platform's answer, or a network error. */
export interface SendResult {
  response?: PlatformResponse;
  error?: string;
  latencyMs: number;
  /** The first 2 KiB of the answer body. */
  bodySnippet: string;
  /** The URL was refused by the SSRF guard: nothing was sent, and retrying will not help. */
  refused?: boolean;
}

/** Sends one request (with the SSRF guard and a timeout). */
export type Sender = (request: OutboundRequest) => Promise<SendResult>;

/** How one send went: the connector reads an answer; no answer is retried, a refused URL is not. */
export function classifySend(connector: Connector, result: SendResult): Classification {
  if (result.response) return connector.classify(result.response);
  if (result.refused) return { kind: "failed", reason: result.error ?? "URL refused" };
  return { kind: "retry", reason: result.error ?? "network error" };
}

/** What the engine needs. */
export interface DeliveryEngineDeps {
  kv: Deno.Kv;
  queue: QueuePort;
  sealer: Sealer;
  destinations: DestinationStore;
  rules: RuleStore;
  connectorFor: (type: PlatformType) => Connector | undefined;
  send: Sender;
  /** Raises webhook notices (event notices at fan-out, delivery notices at the last failure). */
  notices?: WebhookNotices;
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
}

/** How an event re-enters delivery from the API. */
export type RequeueMode =
  | { kind: "replay" }
  | { kind: "forward"; destinationIds: string[] }
  | { kind: "retry_failed" };

const MAX_MUTATIONS = 900;
/** Keys written per commit with webhook notices: ≈ 70 of the 80 KiB of keys KV allows. */
const MAX_KEYS_PER_COMMIT = 700;
/** Rows written per commit: a row key takes about 100 of the 80 KiB of keys KV allows per commit. */
const ROWS_PER_COMMIT = 500;
/**
 * How long attempts wait to be sent together, and the most events sent together: 50 ms
 * halves the requests of 20 ms at ~5k events/s (fan-outs of 100 events), for ~15 ms more latency.
 */
const COALESCE_MS = 50;
const COALESCE_MAX_EVENTS = 1_000;
/** How long a destination that overran the budget is sent through the queue instead. */
const SLOW_FOR_MS = 60_000;
/** Margin after the send timeout before a handed-over attempt is due (its row is written by then). */
const HANDOVER_MARGIN_MS = 30_000;
/** When a failed first attempt is due again (as the queue retries a failed message). */
const FAILED_ATTEMPT_DELAY_MS = 1_000;

interface PendingBatch {
  message: DeliverMessage;
  waiters: {
    ids: readonly string[];
    /** Resolves with the ids left unsent because the deadline passed. */
    resolve: (unsent: string[]) => void;
    reject: (error: unknown) => void;
  }[];
  /** No request starts after this (epoch ms): first attempts made by fan-out. */
  deadline?: number;
  timer?: ReturnType<typeof setTimeout>;
}
const SNIPPET_CHARS = 2048;

/** A webhook notice to commit with delivery rows. */
interface PlannedNotice {
  hooks: readonly Webhook[];
  notice: Notice;
}

interface RowWrite {
  ulid: string;
  destinationId: string;
  row: DeliveryRow;
}

/**
 * The delivery engine (DESIGN.md steps 7–8): fans committed events out to destinations
 * through routing rules and consent, then sends each destination's batches through its
 * connector, classifies the answers, records a row per (event, destination) and retries
 * on the schedule. Each destination has its own queue messages and concurrency cap, so
 * one that is down or slow never holds up the others.
 */
export class DeliveryEngine {
  readonly #d: Required<Omit<DeliveryEngineDeps, "events" | "notices">> & {
    notices?: WebhookNotices;
  };
  readonly #slots: KeyedLimiter;
  readonly #batches = new Map<string, PendingBatch>();
  readonly #events: EventLoader;
  /** Destinations whose first attempts go through the queue until then (epoch ms). */
  readonly #slowUntil = new Map<string, number>();

  constructor(deps: DeliveryEngineDeps) {
    this.#d = {
      perDestinationConcurrency: 4,
      firstAttemptBudgetMs: 3_000,
      sendTimeoutMs: 10_000,
      now: Date.now,
      random: Math.random,
      ...deps,
    };
    this.#events = deps.events ?? new EventLoader(deps.kv, deps.sealer);
    this.#slots = new KeyedLimiter(this.#d.perDestinationConcurrency);
  }

  /** Routes a committed group to destinations: hand-off records + one deliver message per batch. */
  async fanOut(message: IngestedMessage): Promise<void> {
    const wsId = message.workspace_id;
    const [destinations, hooks] = await Promise.all([
      this.#d.destinations.list(wsId, true),
      this.#eventHooks(wsId),
    ]);
    if (!destinations.some((d) => d.enabled) && hooks.length === 0) {
      // Nothing to route to: record the hand-off without opening the events.
      const op = this.#d.kv.atomic();
      for (const id of message.ids) {
        op.set(handoffKey(wsId, id), { at: this.#d.now() }, { expireIn: DELIVERY_ROW_TTL_MS });
      }
      await op.commit();
      return;
    }
    const [events, rules] = await Promise.all([
      this.#events.load(wsId, message.ids),
      this.#d.rules.list(wsId, true),
    ]);
    const routed = events.map((event) => ({
      event,
      decisions: routeEvent(event, destinations, rules),
    }));
    // One commit per slice of events: hand-off checks make a redelivered message a no-op.
    const perEvent = 1 + 2 * Math.max(1, destinations.length) +
      EVENT_MESSAGE_TYPES.length * noticeMutations(hooks.length);
    const sliceSize = Math.max(1, Math.min(100, Math.floor(MAX_KEYS_PER_COMMIT / perEvent)));
    const sends: DeliverMessage[] = [];
    for (let i = 0; i < routed.length; i += sliceSize) {
      const slice = routed.slice(i, i + sliceSize);
      const fannedOut = await this.#commitFanOut(wsId, slice, destinations, {
        initial: true,
        replay: false,
        hooks,
      });
      sends.push(...fannedOut.sends);
    }
    const missing = message.ids.length - events.length;
    if (missing > 0) {
      // Events that expired before fan-out still get their hand-off, so the message completes.
      const found = new Set(events.map((e) => e.id));
      const op = this.#d.kv.atomic();
      for (const id of message.ids) {
        if (!found.has(id)) op.set(handoffKey(wsId, id), { at: this.#d.now() });
      }
      await op.commit();
    }
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
    const deadline = now + budget;
    const inline = sends.filter((m) => !((this.#slowUntil.get(m.destination_id) ?? 0) > now));
    const outcomes = await Promise.all(
      inline.map((message) => settleWithin(this.#join(message, deadline), budget)),
    );
    const queued: [DeliverMessage, number][] = sends
      .filter((message) => !inline.includes(message))
      .map((message) => [message, 0]);
    inline.forEach((message, i) => {
      const outcome = outcomes[i]!;
      if (outcome.kind === "answered") {
        if (outcome.unsent.length) queued.push([{ ...message, ids: outcome.unsent }, 0]);
      } else if (outcome.kind === "running") {
        this.#slowUntil.set(message.destination_id, now + SLOW_FOR_MS);
        queued.push([message, this.#d.sendTimeoutMs + HANDOVER_MARGIN_MS]);
      } else {
        console.error(`First attempt to ${message.destination_id} failed:`, outcome.error);
        queued.push([message, FAILED_ATTEMPT_DELAY_MS]);
      }
    });
    for (let i = 0; i < queued.length; i += MAX_MUTATIONS) {
      const op = this.#d.kv.atomic();
      for (const [message, delayMs] of queued.slice(i, i + MAX_MUTATIONS)) {
        this.#d.queue.enqueueIn(op, message, { delayMs });
      }
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot queue ${queued.length} first attempts`);
    }
  }

  /**
   * Handles a deliver message. Messages for the same destination and attempt that arrive
   * within COALESCE_MS are sent together (commit groups hold ≤ 100 events; platforms
   * take up to their batch limit); each message completes, or fails and is retried, with
   * the combined send.
   */
  async deliver(message: DeliverMessage): Promise<void> {
    await this.#join(message);
  }

  /** Adds a message to the batch it is sent with; `deadline` marks fan-out's first attempts. */
  #join(message: DeliverMessage, deadline?: number): Promise<string[]> {
    const key = [
      message.workspace_id,
      message.destination_id,
      message.attempt,
      !!message.replay,
      deadline === undefined ? "queued" : "inline",
    ].join("|");
    let batch = this.#batches.get(key);
    if (!batch) {
      const fresh: PendingBatch = { message: { ...message, ids: [] }, waiters: [], deadline };
      fresh.timer = setTimeout(() => this.#flush(key, fresh), COALESCE_MS);
      this.#batches.set(key, fresh);
      batch = fresh;
    }
    batch.message.ids.push(...message.ids);
    if (message.names) batch.message.names = { ...batch.message.names, ...message.names };
    if (deadline !== undefined) batch.deadline = Math.min(batch.deadline ?? deadline, deadline);
    const done = new Promise<string[]>((resolve, reject) =>
      batch.waiters.push({ ids: message.ids, resolve, reject })
    );
    if (batch.message.ids.length >= COALESCE_MAX_EVENTS) this.#flush(key, batch);
    return done;
  }

  #flush(key: string, batch: PendingBatch): void {
    if (this.#batches.get(key) !== batch) return;
    this.#batches.delete(key);
    clearTimeout(batch.timer);
    batch.message.ids = [...new Set(batch.message.ids)];
    this.#deliverNow(batch.message, batch.deadline).then(
      (unsent) => {
        const left = new Set(unsent);
        batch.waiters.forEach((w) => w.resolve(w.ids.filter((id) => left.has(id))));
      },
      (error) => batch.waiters.forEach((w) => w.reject(error)),
    );
  }

  /**
   * Sends one batch to one destination and records what the platform said. Requests due
   * after `deadline` are not sent: answers the ids they held, whose rows are left as they were.
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
      rows.set(
        event.id,
        routeRow(message.destination_id, {
          type: destination?.type ?? "webhook",
          event_name: message.names?.[event.id] ?? event.event_name,
        }, this.#d.now()),
      );
    }
    const due = waiting.filter((id) => rows.has(id));
    if (!destination || !destination.enabled) {
      const reason = destination ? "destination disabled" : "destination deleted";
      await this.#writeRows(
        wsId,
        due.map((id) => ({
          ulid: id,
          destinationId: message.destination_id,
          row: { ...rows.get(id)!, status: "skipped", last_error: reason, updated_at: this.#iso() },
        })),
      );
      return [];
    }
    const connector = this.#d.connectorFor(destination.type);
    if (!connector) {
      await this.#writeRows(
        wsId,
        due.map((id) => ({
          ulid: id,
          destinationId: destination.id,
          row: {
            ...rows.get(id)!,
            status: "failed",
            last_error: `no connector for type "${destination.type}"`,
            updated_at: this.#iso(),
          },
        })),
      );
      return [];
    }
    const events = stored.map((event) => ({
      ...event,
      event_name: rows.get(event.id)!.event_name,
    }));
    const parsedSettings = connector.settings.safeParse(
      this.#d.destinations.settingsOf(destination),
    );
    if (!parsedSettings.success) {
      await this.#finish(
        wsId,
        destination,
        message,
        events,
        rows,
        events.map(() => ({
          kind: "failed" as const,
          reason: `destination settings are invalid: ${parsedSettings.error.issues[0]?.message}`,
        })),
        {},
      );
      return [];
    }
    const { requests, skipped } = connector.map(events, parsedSettings.data, {
      now: this.#d.now(),
    });
    const outcomes: (Classification | undefined)[] = events.map(() => undefined);
    const answers: Record<number, SendResult> = {};
    for (const skip of skipped) {
      outcomes[skip.index] = { kind: "failed", reason: `skipped: ${skip.reason}` };
    }
    const unsent = new Set<number>();
    await Promise.all(requests.map(async (request) => {
      const result = await this.#slots.run(
        destination.id,
        () =>
          deadline !== undefined && this.#d.now() > deadline
            ? Promise.resolve(undefined)
            : this.#d.send(request),
      );
      if (!result) {
        request.eventIndexes.forEach((index) => unsent.add(index));
        return;
      }
      const classification = classifySend(connector, result);
      for (const index of request.eventIndexes) {
        outcomes[index] = classification;
        answers[index] = result;
      }
    }));
    const skippedIndexes = new Set(skipped.map((s) => s.index));
    await this.#finish(
      wsId,
      destination,
      message,
      events,
      rows,
      outcomes.map((o) => o ?? { kind: "failed", reason: "the connector sent no request for it" }),
      answers,
      skippedIndexes,
      unsent,
    );
    return [...unsent].map((index) => events[index]!.id);
  }

  /**
   * Puts one event back into delivery: replay (current rules, even where delivered),
   * forward (to chosen destinations), or retry-failed. Returns the rows now queued.
   */
  async requeue(wsId: string, event: SluiceEvent, mode: RequeueMode): Promise<DeliveryRow[]> {
    const destinations = await this.#d.destinations.list(wsId);
    let decisions: Map<string, RouteDecision>;
    if (mode.kind === "replay") {
      decisions = routeEvent(event, destinations, await this.#d.rules.list(wsId));
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
    const queued = await this.#commitFanOut(
      wsId,
      [{ event, decisions }],
      destinations,
      { initial: false, replay: mode.kind !== "retry_failed" },
    );
    return queued.rows;
  }

  /**
   * Records routed events in one commit. Fan-out (`initial`) writes each event's hand-off
   * record with its routes, checked absent so that a redelivered message hands nothing off
   * twice, and answers the first attempts for the caller to make (for events handed off
   * before, too: their answered rows make those attempts no-ops). A requeue writes rows and
   * queues its attempts in the same commit.
   */
  async #commitFanOut(
    wsId: string,
    routed: Routed[],
    destinations: readonly Destination[],
    options: { initial: boolean; replay: boolean; hooks?: readonly Webhook[] },
  ): Promise<{ rows: DeliveryRow[]; sends: DeliverMessage[] }> {
    const { initial, replay, hooks = [] } = options;
    const byId = new Map(destinations.map((d) => [d.id, d]));
    const batchLimitOf = (destinationId: string) => {
      const destination = byId.get(destinationId);
      return (destination && this.#d.connectorFor(destination.type)?.batchLimit) || 1;
    };
    const now = this.#iso();
    const op = this.#d.kv.atomic();
    const written: DeliveryRow[] = [];
    for (const { event, decisions } of routed) {
      const routes: Record<string, Route> = {};
      for (const [destinationId, decision] of decisions) {
        const destination = byId.get(destinationId);
        const row: DeliveryRow = {
          platform_id: destinationId,
          type: destination?.type ?? "webhook",
          status: decision.send ? "pending" : "skipped",
          event_name: decision.send ? decision.event_name : event.event_name,
          attempts: 0,
          updated_at: now,
          ...(decision.send ? {} : { last_error: decision.reason }),
        };
        if (initial) {
          routes[destinationId] = {
            type: row.type,
            event_name: row.event_name,
            ...(decision.send ? {} : { skipped: decision.reason }),
          };
        } else {
          op.set(deliveryKey(wsId, event.id, destinationId), row, {
            expireIn: DELIVERY_ROW_TTL_MS,
          });
        }
        written.push(row);
      }
      if (initial) {
        const handoff: RoutedHandoff = { at: this.#d.now(), routes };
        op.check({ key: handoffKey(wsId, event.id), versionstamp: null })
          .set(handoffKey(wsId, event.id), handoff, { expireIn: DELIVERY_ROW_TTL_MS });
        for (const type of eventNoticeTypes(event)) {
          const subscribers = hooks.filter((hook) => subscribes(hook, type));
          this.#d.notices?.addTo(op, wsId, subscribers, { type, event: event.id });
        }
      }
    }
    const sends = firstSends(wsId, routed, batchLimitOf, replay);
    if (!initial) sends.forEach((message) => this.#d.queue.enqueueIn(op, message));
    const result = await op.commit();
    if (result.ok) return { rows: written, sends: initial ? sends : [] };
    // Some events were handed off already (a redelivered message): hand off the rest.
    const handedOff = await readByIds<RoutedHandoff>(
      this.#d.kv,
      routed.map((item) => item.event.id),
      { prefix: handoffPrefix(wsId) },
    );
    const fresh = routed.filter((item) => !handedOff.has(item.event.id));
    if (fresh.length === routed.length) {
      // Nothing explains the refusal: fail so the queue delivers the message again.
      throw new Error(`Cannot record the fan-out of ${routed.length} events`);
    }
    const before = routed.flatMap(({ event }) => {
      const record = handedOff.get(event.id);
      return record ? [{ event, decisions: decisionsOf(record) }] : [];
    });
    const rest = fresh.length
      ? await this.#commitFanOut(wsId, fresh, destinations, options)
      : { rows: [], sends: [] };
    return { rows: rest.rows, sends: [...firstSends(wsId, before, batchLimitOf), ...rest.sends] };
  }

  async #finish(
    wsId: string,
    destination: Destination,
    message: DeliverMessage,
    events: readonly SluiceEvent[],
    rows: Map<string, DeliveryRow>,
    outcomes: readonly Classification[],
    answers: Record<number, SendResult>,
    skippedIndexes: ReadonlySet<number> = new Set(),
    unsent: ReadonlySet<number> = new Set(),
  ): Promise<void> {
    const now = this.#d.now();
    const schedule = this.#d.retryScheduleMs;
    const writes: RowWrite[] = [];
    const retryIds: string[] = [];
    let retryDelay = 0;
    let authFailure: string | undefined;
    events.forEach((event, index) => {
      if (unsent.has(index)) return;
      const outcome = outcomes[index]!;
      const answer = answers[index];
      const before = rows.get(event.id)!;
      const row: DeliveryRow = {
        ...before,
        attempts: skippedIndexes.has(index) ? before.attempts : message.attempt,
        updated_at: new Date(now).toISOString(),
      };
      delete row.next_attempt_at;
      if (answer?.response) row.last_status = answer.response.status;
      if (answer) {
        row.latency_ms = Math.round(answer.latencyMs);
        row.response = answer.bodySnippet.slice(0, SNIPPET_CHARS);
      }
      if (skippedIndexes.has(index)) {
        row.status = "skipped";
        row.last_error = outcome.kind === "failed" ? outcome.reason.replace(/^skipped: /, "") : "";
      } else if (outcome.kind === "delivered") {
        row.status = "delivered";
        delete row.last_error;
      } else if (outcome.kind === "retry" && message.attempt <= schedule.length) {
        const base = schedule[message.attempt - 1]!;
        const jittered = base * (0.8 + 0.4 * this.#d.random());
        retryDelay = Math.max(retryDelay, jittered, outcome.afterMs ?? 0);
        row.status = "retrying";
        row.last_error = outcome.reason;
        retryIds.push(event.id);
      } else {
        row.status = "failed";
        row.last_error = outcome.kind === "retry"
          ? `gave up after ${message.attempt} attempts: ${outcome.reason}`
          : outcome.reason;
        if (outcome.kind === "auth_failed") authFailure = outcome.reason;
      }
      writes.push({ ulid: event.id, destinationId: destination.id, row });
    });
    if (retryIds.length) {
      for (const write of writes) {
        if (write.row.status === "retrying") write.row.next_attempt_at = now + retryDelay;
      }
    }
    const notices = await this.#deliveryNotices(wsId, destination, message, events, writes);
    await this.#writeRows(
      wsId,
      writes,
      retryIds.length
        ? {
          type: "deliver",
          workspace_id: wsId,
          destination_id: destination.id,
          ids: retryIds,
          attempt: message.attempt + 1,
          ...(message.replay ? { replay: true } : {}),
        }
        : undefined,
      Math.round(retryDelay),
      notices,
    );
    if (authFailure) {
      const health = {
        status: "unhealthy" as const,
        reason: `auth failed: ${authFailure}`.slice(0, 300),
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
  }

  /** Webhooks subscribed to any event notice (none without notices). */
  async #eventHooks(wsId: string): Promise<Webhook[]> {
    if (!this.#d.notices) return [];
    return (await this.#d.notices.enabledHooks(wsId)).filter((hook) =>
      EVENT_MESSAGE_TYPES.some((type) => subscribes(hook, type))
    );
  }

  /**
   * The `delivery.failed` notices (one per failure reason) and `delivery.recovered` notice
   * that a finished attempt raises, to be committed with its rows.
   */
  async #deliveryNotices(
    wsId: string,
    destination: Destination,
    message: DeliverMessage,
    events: readonly SluiceEvent[],
    writes: readonly RowWrite[],
  ): Promise<PlannedNotice[]> {
    const notices = this.#d.notices;
    if (!notices) return [];
    const failedRows = writes.filter(({ row }) => row.status === "failed");
    const recoveredRows = message.attempt > 1
      ? writes.filter(({ row }) => row.status === "delivered")
      : [];
    const [failedHooks, recoveredHooks] = await Promise.all([
      failedRows.length ? notices.subscribers(wsId, "delivery.failed") : [],
      recoveredRows.length ? notices.subscribers(wsId, "delivery.recovered") : [],
    ]);
    const platform = platformRef(destination);
    const byUlid = new Map(events.map((event) => [event.id, event]));
    const failed = new Map<string, { reason: string; last_status?: number; events: EventRef[] }>();
    for (const { ulid, row } of failedHooks.length ? failedRows : []) {
      const reason = row.last_error ?? "failed";
      const group = failed.get(reason) ??
        { reason, ...(row.last_status ? { last_status: row.last_status } : {}), events: [] };
      group.events.push(eventRef(byUlid.get(ulid)!));
      failed.set(reason, group);
    }
    const recovered = recoveredHooks.length
      ? recoveredRows.map(({ ulid }) => eventRef(byUlid.get(ulid)!))
      : [];
    const planned: PlannedNotice[] = [];
    for (const group of failed.values()) {
      for (const slice of noticeSlices(group.events)) {
        planned.push({
          hooks: failedHooks,
          notice: {
            type: "delivery.failed",
            data: { platform, ...group, attempts: message.attempt, events: slice },
          },
        });
      }
    }
    for (const slice of noticeSlices(recovered)) {
      planned.push({
        hooks: recoveredHooks,
        notice: {
          type: "delivery.recovered",
          data: { platform, attempts: message.attempt, events: slice },
        },
      });
    }
    return planned;
  }

  async #writeRows(
    wsId: string,
    writes: readonly RowWrite[],
    retry?: DeliverMessage,
    delayMs = 0,
    notices: readonly PlannedNotice[] = [],
  ): Promise<void> {
    const pending = [...notices];
    for (let i = 0; i < Math.max(1, writes.length) || pending.length; i += ROWS_PER_COMMIT) {
      const op = this.#d.kv.atomic();
      const slice = writes.slice(i, i + ROWS_PER_COMMIT);
      for (const { ulid, destinationId, row } of slice) {
        op.set(deliveryKey(wsId, ulid, destinationId), row, { expireIn: DELIVERY_ROW_TTL_MS });
      }
      if (i === 0 && retry) this.#d.queue.enqueueIn(op, retry, { delayMs });
      // Notices ride with the rows they report while they fit; the rest follow on their own.
      let mutations = slice.length + 1;
      while (pending.length) {
        const next = pending[0]!;
        const cost = noticeMutations(next.hooks.length);
        if (mutations + cost > MAX_KEYS_PER_COMMIT && mutations > slice.length + 1) break;
        this.#d.notices?.addTo(op, wsId, next.hooks, next.notice);
        mutations += cost;
        pending.shift();
      }
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot record ${writes.length} delivery rows`);
    }
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

  #iso(): string {
    return new Date(this.#d.now()).toISOString();
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

/** A destination as webhook notices name it. */
function platformRef(destination: Destination): PlatformRef {
  return { id: destination.id, type: destination.type, name: destination.name };
}

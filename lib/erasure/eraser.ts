/**
 * Erasure, the GDPR path: removes one person's events from a workspace with every record that
 * holds or points to them, lets other modules (the identity graph) remove theirs through
 * {@link ErasureHook}s, and records the erasure without the identifiers in clear.
 *
 * @module
 */
import { monotonicFactory } from "ulid";
import type { Sealer } from "../crypto.ts";
import { type EventIdEntry, openEvent, type SealedEvent } from "../event_store.ts";
import { lookupKeysOf } from "../event_lookup.ts";
import {
  eventDeliveriesPrefix,
  eventIdKey,
  eventKey,
  eventPrefix,
  handoffKey,
  webhookMessagePrefix,
  workspaceWebhookDeliveryPrefix,
} from "../kv/keys.ts";
import { keysPerCommit, type KvLimits } from "../kv/limits.ts";
import { errorText, log } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { WebhookDelivery, WebhookMessage } from "../webhooks/deliveries.ts";
import {
  type ErasureAuditLog,
  type ErasureAuditRecord,
  type ErasureReport,
  hashIdentifier,
  KvErasureAudit,
} from "./audit.ts";
import {
  type ErasureRequest,
  identifiersOf,
  isAbout,
  type Person,
  personOf,
  withLinked,
} from "./person.ts";

/**
 * What another module plugs into erasure (lib/identity registers one): it may name more
 * identifiers of the person before events are searched (the anonymous ids an identity graph
 * linked to an e-mail), and it removes its own records of the person afterwards.
 */
export interface ErasureHook {
  /** The name its removed records are counted under in the answer, e.g. `identity_records`. */
  readonly kind: string;
  /** Identifiers linked to the person, whose events are theirs too. */
  linked?(wsId: string, person: Person): Promise<Partial<Record<keyof Person, Iterable<string>>>>;
  /** Removes what the module keeps about the person; answers how many records went. */
  erase(wsId: string, person: Person): Promise<number>;
}

/** Forgets events kept in memory (the delivery event cache), so none outlives its erasure. */
export interface ErasedEventCache {
  forget(wsId: string, ids: readonly string[]): void;
}

/** What an {@link Eraser} works with. */
export interface EraserDeps {
  kv: Deno.Kv;
  /** Opens stored events to find the person's. */
  sealer: Sealer;
  /** What one commit may hold. */
  limits: KvLimits;
  /** Where erasures are recorded; KV records `["erasure", wsId, id]` by default. */
  audit?: ErasureAuditLog;
  /** In-memory copies of events to drop. */
  cache?: ErasedEventCache;
  metrics?: Metrics;
}

/** Events opened and matched per page: memory stays bounded however many events there are. */
export const ERASURE_PAGE_SIZE = 500;

/** The kinds every erasure reports, hooks' kinds added after them. */
const KINDS = [
  "events",
  "event_ids",
  "handoffs",
  "search_entries",
  "deliveries",
  "webhook_messages",
  "webhook_deliveries",
] as const;

type Kind = typeof KINDS[number];

/** One of the person's events: its ids and its search index keys. */
interface Match {
  ulid: string;
  eventId: string;
  lookupKeys: Deno.KvKey[];
}

/** A key to delete and what it counts as. */
interface Deletion {
  key: Deno.KvKey;
  kind: Kind;
}

const newId = monotonicFactory();

/**
 * Removes one person's data from one workspace. Stored events are sealed, so finding the
 * person's means opening every event of the workspace: in pages of
 * {@link ERASURE_PAGE_SIZE}, keeping only the storage ids of the matches. For each match it
 * deletes the sealed event, its event-id entry (the dedup entry), its hand-off record and its
 * delivery rows (with the platforms' answers, which may echo the input); then the webhook
 * messages whose data is one of those events, and their delivery logs (the receivers'
 * answers). Other people's records are left as they are.
 */
export class Eraser {
  readonly #d: EraserDeps;
  readonly #audit: ErasureAuditLog;
  readonly #hooks: ErasureHook[] = [];

  constructor(deps: EraserDeps) {
    this.#d = deps;
    this.#audit = deps.audit ?? new KvErasureAudit(deps.kv);
  }

  /** Adds a module's erasure step; each erasure runs every hook registered. */
  register(hook: ErasureHook): void {
    if (
      this.#hooks.some((h) => h.kind === hook.kind) ||
      (KINDS as readonly string[]).includes(hook.kind)
    ) {
      throw new Error(`Cannot register erasure hook "${hook.kind}": the kind is taken`);
    }
    this.#hooks.push(hook);
  }

  /** Erases the person `request` names from workspace `wsId`; `requestedBy` is the key id that asked. */
  async erase(
    wsId: string,
    request: ErasureRequest,
    options: { requestedBy?: string } = {},
  ): Promise<ErasureReport> {
    const started = performance.now();
    let person = personOf(request);
    for (const hook of this.#hooks) {
      if (hook.linked) person = withLinked(person, await hook.linked(wsId, person));
    }
    const removed: Record<string, number> = Object.fromEntries(KINDS.map((kind) => [kind, 0]));
    const { scanned, erased } = await this.#eraseEvents(wsId, person, removed);
    if (erased.size > 0) await this.#eraseWebhookMessages(wsId, erased, removed);
    for (const hook of this.#hooks) removed[hook.kind] = await hook.erase(wsId, person);
    this.#d.cache?.forget(wsId, [...erased]);
    const record: ErasureAuditRecord = {
      id: `era_${newId().toLowerCase()}`,
      workspace_id: wsId,
      ...(options.requestedBy ? { requested_by: options.requestedBy } : {}),
      at: new Date().toISOString(),
      identifiers: identifiersOf(person).map(({ kind, value }) => hashIdentifier(kind, value)),
      removed,
      scanned_events: scanned,
      duration_ms: Math.round(performance.now() - started),
    };
    await this.#audit.record(record);
    this.#d.metrics?.erasures.inc();
    log.info("erasure", {
      workspace_id: wsId,
      erasure_id: record.id,
      scanned_events: scanned,
      events: removed.events,
      duration_ms: record.duration_ms,
    });
    return {
      id: record.id,
      removed,
      scanned_events: scanned,
      duration_ms: record.duration_ms,
    };
  }

  /** Scans the workspace's events page by page and erases the person's. */
  async #eraseEvents(
    wsId: string,
    person: Person,
    removed: Record<string, number>,
  ): Promise<{ scanned: number; erased: Set<string> }> {
    const erased = new Set<string>();
    let scanned = 0;
    let page: Deno.KvEntry<SealedEvent>[] = [];
    const flush = async () => {
      const matches: Match[] = [];
      for (const entry of page) {
        const ulid = entry.key[2];
        if (typeof ulid !== "string") continue;
        try {
          const event = openEvent(entry.value, this.#d.sealer);
          if (isAbout(event, person)) {
            matches.push({ ulid, eventId: event.event_id, lookupKeys: lookupKeysOf(event) });
          }
        } catch (error) {
          log.warn("Erasure skipped an event it cannot open", {
            workspace_id: wsId,
            event: ulid,
            error: errorText(error),
          });
        }
      }
      page = [];
      if (matches.length === 0) return;
      await this.#delete(await this.#eventRecords(wsId, matches), removed);
      for (const { ulid } of matches) erased.add(ulid);
    };
    const listing = this.#d.kv.list<SealedEvent>({ prefix: eventPrefix(wsId) }, {
      batchSize: ERASURE_PAGE_SIZE,
    });
    for await (const entry of listing) {
      scanned++;
      page.push(entry);
      if (page.length >= ERASURE_PAGE_SIZE) await flush();
    }
    await flush();
    return { scanned, erased };
  }

  /**
   * Every record of the matched events: the event, its id entry, hand-off, search index
   * entries and delivery rows.
   */
  async #eventRecords(wsId: string, matches: readonly Match[]): Promise<Deletion[]> {
    const deletions: Deletion[] = [];
    const lookupKeys = matches.flatMap((match) => match.lookupKeys);
    for (let i = 0; i < lookupKeys.length; i += 10) {
      for (const entry of await this.#d.kv.getMany(lookupKeys.slice(i, i + 10))) {
        if (entry.versionstamp !== null) deletions.push({ key: entry.key, kind: "search_entries" });
      }
    }
    for (let i = 0; i < matches.length; i += 5) {
      const chunk = matches.slice(i, i + 5);
      const entries = await this.#d.kv.getMany<unknown[]>(
        chunk.flatMap(({ ulid, eventId }) => [eventIdKey(wsId, eventId), handoffKey(wsId, ulid)]),
      );
      chunk.forEach(({ ulid }, j) => {
        deletions.push({ key: eventKey(wsId, ulid), kind: "events" });
        const idEntry = entries[2 * j]!;
        // A newer event may hold the same id (after the dedup window): its entry stays.
        if ((idEntry.value as EventIdEntry | null)?.ulid === ulid) {
          deletions.push({ key: idEntry.key, kind: "event_ids" });
        }
        const handoff = entries[2 * j + 1]!;
        if (handoff.versionstamp !== null) deletions.push({ key: handoff.key, kind: "handoffs" });
      });
    }
    for (const { ulid } of matches) {
      for await (const row of this.#d.kv.list({ prefix: eventDeliveriesPrefix(wsId, ulid) })) {
        deletions.push({ key: row.key, kind: "deliveries" });
      }
    }
    return deletions;
  }

  /** Deletes the webhook messages whose data is an erased event, and their delivery logs. */
  async #eraseWebhookMessages(
    wsId: string,
    erased: ReadonlySet<string>,
    removed: Record<string, number>,
  ): Promise<void> {
    const messages = new Set<string>();
    const deletions: Deletion[] = [];
    const listMessages = this.#d.kv.list<WebhookMessage>({ prefix: webhookMessagePrefix(wsId) }, {
      batchSize: ERASURE_PAGE_SIZE,
    });
    for await (const entry of listMessages) {
      if (entry.value.event === undefined || !erased.has(entry.value.event)) continue;
      messages.add(entry.value.id);
      deletions.push({ key: entry.key, kind: "webhook_messages" });
    }
    if (messages.size === 0) return;
    const listDeliveries = this.#d.kv.list<WebhookDelivery>({
      prefix: workspaceWebhookDeliveryPrefix(wsId),
    }, { batchSize: ERASURE_PAGE_SIZE });
    for await (const entry of listDeliveries) {
      if (messages.has(entry.value.message_id)) {
        deletions.push({ key: entry.key, kind: "webhook_deliveries" });
      }
    }
    await this.#delete(deletions, removed);
  }

  /** Deletes keys in commits KV accepts and counts them by kind. */
  async #delete(deletions: readonly Deletion[], removed: Record<string, number>): Promise<void> {
    const size = keysPerCommit(this.#d.limits);
    for (let i = 0; i < deletions.length; i += size) {
      const slice = deletions.slice(i, i + size);
      const op = this.#d.kv.atomic();
      for (const { key } of slice) op.delete(key);
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot erase ${slice.length} records`);
      for (const { kind } of slice) removed[kind] = (removed[kind] ?? 0) + 1;
    }
  }
}

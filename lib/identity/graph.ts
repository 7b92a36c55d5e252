/**
 * The identity graph in KV: anonymous id ↔ person (hashed user id, email, phone) ↔ the
 * browser identifiers of that person's latest session. Browser events write it inside the
 * ingest group commit ({@link IdentityGraph.writesFor}); server events read it once per
 * request ({@link IdentityGraph.hintsFor}); magic links link a browser to a person
 * ({@link IdentityGraph.link}). Snapshots hold IPs and agents, so they are sealed at rest;
 * person identifiers are only ever SHA-256 hashes. Every record expires with the
 * workspace's retention.
 *
 * @module
 */
import { Sealer } from "../crypto.ts";
import { TtlCache } from "../ttl_cache.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { SideWrite } from "../ingest/group_commit.ts";
import {
  anonLinkKey,
  anonLinkPrefix,
  anonSnapshotKey,
  anonSnapshotPrefix,
  personSnapshotKey,
  personSnapshotPrefix,
} from "../kv/keys.ts";
import {
  type BrowserSnapshot,
  hintIds,
  type IdentityHints,
  mergeSnapshots,
  PERSON_KINDS,
  personKeyIds,
  type PersonKeys,
  personKeysOf,
  snapshotOf,
} from "./snapshot.ts";

/** Keys one `getMany` may read. */
const GET_MANY_MAX = 10;
/** Records one erasure commit deletes. */
const DELETES_PER_COMMIT = 100;
/** How long whether a workspace has any identity record is remembered, ms. */
const IN_USE_TTL_MS = 60_000;

/** A hint id (`kind:value`) split at its first colon. */
function splitId(id: string): [kind: string, value: string] {
  const colon = id.indexOf(":");
  return [id.slice(0, colon), id.slice(colon + 1)];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Reads and writes a workspace's identity records. */
export class IdentityGraph {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;
  readonly #inUse = new TtlCache<boolean>(IN_USE_TTL_MS);

  /** Seals snapshots under a key derived from the master secret for this purpose alone. */
  constructor(kv: Deno.Kv, masterSecret: string) {
    this.#kv = kv;
    this.#sealer = new Sealer(masterSecret, "identity");
  }

  /**
   * For server events: the snapshots matching any input's user id, email, phone or
   * anonymous id, read in one batch (a `getMany` per 10 keys, concurrently). Undefined when
   * no input names anyone known. Inputs are unvalidated; what cannot be read is skipped.
   */
  async hintsFor(wsId: string, inputs: readonly unknown[]): Promise<IdentityHints | undefined> {
    const people = inputs.flatMap((input) =>
      isRecord(input) && isRecord(input.user_data) ? [input.user_data] : []
    );
    if (people.length === 0 || !await this.#inUseBy(wsId)) return undefined;
    const ids = new Set(people.flatMap(hintIds));
    if (ids.size === 0) return undefined;
    const list = [...ids];
    const entries = await this.#getMany<Uint8Array>(list.map((id) => {
      const [kind, value] = splitId(id);
      return kind === "aid" ? anonSnapshotKey(wsId, value) : personSnapshotKey(wsId, kind, value);
    }));
    const hints: IdentityHints = {};
    entries.forEach((entry, i) => {
      if (entry.value instanceof Uint8Array) hints[list[i]!] = this.#open(entry.value);
    });
    return Object.keys(hints).length ? hints : undefined;
  }

  /** For browser events: the person each anonymous id was linked to, when it was. */
  async linksOf(wsId: string, anonIds: Iterable<string>): Promise<Map<string, PersonKeys>> {
    const list = [...new Set(anonIds)];
    const links = new Map<string, PersonKeys>();
    if (list.length === 0) return links;
    const entries = await this.#getMany<PersonKeys>(list.map((id) => anonLinkKey(wsId, id)));
    entries.forEach((entry, i) => {
      if (entry.value) links.set(list[i]!, entry.value);
    });
    return links;
  }

  /**
   * What an accepted browser event writes: its browser snapshot under its anonymous id and
   * under each identifier of its person (its own user id, email and phone, or those its
   * anonymous id was linked to), and the link itself when the event names a person. Nothing
   * when its consent denies ad use.
   */
  writesFor(event: SluiceEvent, linked: PersonKeys | undefined, retentionMs: number): SideWrite[] {
    const snapshot = snapshotOf(event);
    if (!snapshot) return [];
    const wsId = event.workspace_id;
    this.#inUse.set(wsId, true);
    const own = personKeysOf(event.user_data);
    const keys: PersonKeys = { ...linked, ...own };
    const writes: SideWrite[] = [];
    const anonId = snapshot.anonymous_id;
    if (anonId) {
      writes.push(this.#sealedWrite(anonSnapshotKey(wsId, anonId), snapshot, retentionMs));
      if (PERSON_KINDS.some((kind) => own[kind] && own[kind] !== linked?.[kind])) {
        writes.push({
          key: anonLinkKey(wsId, anonId),
          value: keys,
          bytes: 250,
          expireIn: retentionMs,
        });
      }
    }
    for (const kind of PERSON_KINDS) {
      const hash = keys[kind];
      if (hash) {
        writes.push(
          this.#sealedWrite(personSnapshotKey(wsId, kind, hash), snapshot, retentionMs),
        );
      }
    }
    return writes;
  }

  /**
   * Links a browser to a person (a magic link was opened): its stored snapshot, refreshed
   * with `fresh` (what the request itself showed), is written under each of the person's
   * identifiers, and the anonymous id remembers the person for its later events.
   */
  async link(
    wsId: string,
    anonId: string,
    person: PersonKeys,
    fresh: BrowserSnapshot,
    retentionMs: number,
  ): Promise<void> {
    const [stored, linked] = await this.#kv.getMany<[Uint8Array, PersonKeys]>([
      anonSnapshotKey(wsId, anonId),
      anonLinkKey(wsId, anonId),
    ]);
    const snapshot = mergeSnapshots(
      { ...fresh, anonymous_id: anonId },
      stored.value instanceof Uint8Array ? this.#open(stored.value) : undefined,
    );
    const keys: PersonKeys = { ...linked.value, ...person };
    const op = this.#kv.atomic();
    const writes = [
      this.#sealedWrite(anonSnapshotKey(wsId, anonId), snapshot, retentionMs),
      { key: anonLinkKey(wsId, anonId), value: keys, bytes: 250, expireIn: retentionMs },
      ...PERSON_KINDS.flatMap((kind) =>
        keys[kind]
          ? [this.#sealedWrite(personSnapshotKey(wsId, kind, keys[kind]), snapshot, retentionMs)]
          : []
      ),
    ];
    for (const { key, value, expireIn } of writes) op.set(key, value, { expireIn });
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot link anonymous id "${anonId}": the commit failed`);
    this.#inUse.set(wsId, true);
  }

  /** A browser's latest snapshot, or undefined. */
  async snapshot(wsId: string, anonId: string): Promise<BrowserSnapshot | undefined> {
    const entry = await this.#kv.get<Uint8Array>(anonSnapshotKey(wsId, anonId));
    return entry.value instanceof Uint8Array ? this.#open(entry.value) : undefined;
  }

  /**
   * For erasure: the anonymous ids of a person's browsers, that of the latest session under
   * each of `personIds` (`kind:hash`, see {@link personKeyIds}) and every one linked to them.
   * Links hold no reverse index, so this reads every link of the workspace.
   */
  async browsersOf(wsId: string, personIds: ReadonlySet<string>): Promise<Set<string>> {
    const anonIds = new Set<string>();
    if (personIds.size === 0) return anonIds;
    const snapshots = await this.#getMany<Uint8Array>(
      [...personIds].map((id) => personSnapshotKey(wsId, ...splitId(id))),
    );
    for (const entry of snapshots) {
      const anonId = entry.value instanceof Uint8Array
        ? this.#open(entry.value).anonymous_id
        : undefined;
      if (anonId) anonIds.add(anonId);
    }
    const links = this.#kv.list<PersonKeys>({ prefix: anonLinkPrefix(wsId) }, { batchSize: 500 });
    for await (const entry of links) {
      if (personKeyIds(entry.value).some((id) => personIds.has(id))) {
        anonIds.add(String(entry.key[2]));
      }
    }
    return anonIds;
  }

  /**
   * For erasure: removes browsers and a person from the graph: each browser's snapshot and
   * link, and the person snapshots under `personIds` and under every identifier those links
   * name. Answers how many records went.
   */
  async forget(
    wsId: string,
    anonIds: Iterable<string>,
    personIds: ReadonlySet<string>,
  ): Promise<number> {
    const browsers = [...new Set(anonIds)];
    const people = new Set(personIds);
    for (const keys of (await this.linksOf(wsId, browsers)).values()) {
      for (const id of personKeyIds(keys)) people.add(id);
    }
    const candidates: Deno.KvKey[] = [
      ...browsers.flatMap((anonId) => [anonSnapshotKey(wsId, anonId), anonLinkKey(wsId, anonId)]),
      ...[...people].map((id) => personSnapshotKey(wsId, ...splitId(id))),
    ];
    const present = (await this.#getMany(candidates))
      .filter((entry) => entry.versionstamp !== null)
      .map((entry) => entry.key);
    for (let i = 0; i < present.length; i += DELETES_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (const key of present.slice(i, i + DELETES_PER_COMMIT)) op.delete(key);
      const result = await op.commit();
      if (!result.ok) throw new Error(`Cannot erase identity records of workspace "${wsId}"`);
    }
    return present.length;
  }

  /**
   * Whether the workspace has any identity record (its pages run the pixel), checked once a
   * minute (and known at once when this process writes one): server events of workspaces
   * without the pixel skip the lookup and its hashing.
   */
  async #inUseBy(wsId: string): Promise<boolean> {
    const cached = this.#inUse.get(wsId);
    if (cached !== undefined) return cached;
    const found = await Promise.all(
      [anonSnapshotPrefix(wsId), personSnapshotPrefix(wsId)].map(async (prefix) => {
        for await (const _ of this.#kv.list({ prefix }, { limit: 1 })) return true;
        return false;
      }),
    );
    const inUse = found.includes(true);
    this.#inUse.set(wsId, inUse);
    return inUse;
  }

  /** Reads keys `GET_MANY_MAX` at a time, all at once; entries in key order. */
  async #getMany<T>(keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
    const reads: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
    for (let i = 0; i < keys.length; i += GET_MANY_MAX) {
      reads.push(this.#kv.getMany<T[]>(keys.slice(i, i + GET_MANY_MAX)));
    }
    return (await Promise.all(reads)).flat();
  }

  #sealedWrite(key: Deno.KvKey, snapshot: BrowserSnapshot, expireIn: number): SideWrite {
    const value = this.#sealer.sealBytes(JSON.stringify(snapshot));
    return { key, value, bytes: value.length, expireIn };
  }

  #open(sealed: Uint8Array): BrowserSnapshot {
    return JSON.parse(this.#sealer.openBytes(sealed));
  }
}

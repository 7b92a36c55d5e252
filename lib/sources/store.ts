import { z } from "@hono/zod-openapi";
import { ulid } from "ulid";
import { Sealer } from "../crypto.ts";
import { sourceIndexKey, sourceKey, sourcePrefix } from "../kv/keys.ts";
import { SOURCE_TYPES, type SourceType } from "./mod.ts";

/** A shop or payment platform that posts its order webhooks to one of a workspace's URLs. */
export interface Source {
  /**
   * `src_` + a lower-case ULID: time-ordered, with 80 random bits (not the monotonic
   * factory's +1 steps), since the ingest URL names it and one source's id must not lead
   * to another's.
   */
  id: string;
  workspace_id: string;
  type: SourceType;
  name: string;
  /** AES-GCM-sealed signing secret. */
  secret_sealed: string;
  created_at: string;
  updated_at: string;
}

/** Length of a source id (`src_` + 26 characters); a longer one names no source. */
export const SOURCE_ID_LENGTH = 30;

/** A source as API answers show it: the URL to give the platform, never the secret. */
export const publicSourceSchema = z.object({
  id: z.string().openapi({ example: "src_01jf3k8w2qz5m7r9t4v6x8y0ab" }),
  type: z.enum(SOURCE_TYPES),
  name: z.string(),
  url: z.string().openapi({
    description:
      "Where the platform posts its webhooks: `{public URL}/ingest/{type}/{id}`. The public URL is SLUICE_PUBLIC_URL, or else the origin this request was made to",
    example: "https://sluice.example/ingest/shopify/src_01jf3k8w2qz5m7r9t4v6x8y0ab",
  }),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Source");

/** A source as API answers show it. */
export type PublicSource = z.output<typeof publicSourceSchema>;

/** A source as API answers show it; `baseUrl` is the public URL Sluice is reached at. */
export function publicSource(source: Source, baseUrl: string): PublicSource {
  return {
    id: source.id,
    type: source.type,
    name: source.name,
    url: `${baseUrl}/ingest/${source.type}/${source.id}`,
    created_at: source.created_at,
    updated_at: source.updated_at,
  };
}

/** Sources in KV, with an index from source id to workspace; signing secrets sealed. */
export class SourceStore {
  readonly #kv: Deno.Kv;
  readonly #sealer: Sealer;

  constructor(kv: Deno.Kv, masterSecret: string) {
    this.#kv = kv;
    this.#sealer = new Sealer(masterSecret, "source-secrets");
  }

  /** Registers a source with its signing secret. */
  async create(
    wsId: string,
    input: { type: SourceType; name: string; secret: string },
  ): Promise<Source> {
    const now = new Date().toISOString();
    for (;;) {
      const source: Source = {
        id: `src_${ulid().toLowerCase()}`,
        workspace_id: wsId,
        type: input.type,
        name: input.name,
        secret_sealed: this.#sealer.seal(input.secret),
        created_at: now,
        updated_at: now,
      };
      const index = sourceIndexKey(source.id);
      const result = await this.#kv.atomic().check({ key: index, versionstamp: null })
        .set(index, wsId).set(sourceKey(wsId, source.id), source).commit();
      if (result.ok) return source;
    }
  }

  /** One source of a workspace, or null. */
  async get(wsId: string, id: string): Promise<Source | null> {
    if (id.length > SOURCE_ID_LENGTH) return null;
    return (await this.#kv.get<Source>(sourceKey(wsId, id))).value;
  }

  /** A workspace's sources, oldest first (ULID order, to the millisecond). */
  async list(wsId: string): Promise<Source[]> {
    const list: Source[] = [];
    for await (const entry of this.#kv.list<Source>({ prefix: sourcePrefix(wsId) })) {
      list.push(entry.value);
    }
    return list;
  }

  /**
   * The source an ingest URL names, whatever its workspace, with its signing secret opened;
   * null when there is none (an id longer than any source's is not looked up).
   */
  async forIngest(id: string): Promise<{ source: Source; secret: string } | null> {
    if (id.length > SOURCE_ID_LENGTH) return null;
    const wsId = (await this.#kv.get<string>(sourceIndexKey(id))).value;
    if (wsId === null) return null;
    const source = await this.get(wsId, id);
    return source ? { source, secret: this.#sealer.open(source.secret_sealed) } : null;
  }

  /** Renames a source or replaces its signing secret; null when absent. */
  async update(
    wsId: string,
    id: string,
    patch: { name?: string; secret?: string },
  ): Promise<Source | null> {
    if (id.length > SOURCE_ID_LENGTH) return null;
    for (;;) {
      const entry = await this.#kv.get<Source>(sourceKey(wsId, id));
      if (!entry.value) return null;
      const next: Source = {
        ...entry.value,
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.secret === undefined ? {} : { secret_sealed: this.#sealer.seal(patch.secret) }),
        updated_at: new Date().toISOString(),
      };
      const result = await this.#kv.atomic().check(entry).set(sourceKey(wsId, id), next).commit();
      if (result.ok) return next;
    }
  }

  /** Deletes a source and its index entry: its URL answers 404 from then on. False when absent. */
  async delete(wsId: string, id: string): Promise<boolean> {
    if (id.length > SOURCE_ID_LENGTH) return false;
    for (;;) {
      const entry = await this.#kv.get<Source>(sourceKey(wsId, id));
      if (!entry.value) return false;
      const result = await this.#kv.atomic().check(entry).delete(sourceKey(wsId, id))
        .delete(sourceIndexKey(id)).commit();
      if (result.ok) return true;
    }
  }
}

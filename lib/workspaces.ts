import { z } from "@hono/zod-openapi";
import { monotonicFactory } from "ulid";
import { randomBase62 } from "./crypto.ts";
import { type ApiKeyCreated, prepareApiKey } from "./auth/api_keys.ts";
import {
  workspaceKey,
  workspaceOriginKey,
  workspaceOriginPrefix,
  workspacePublicKey,
} from "./kv/keys.ts";
import { TtlCache } from "./ttl_cache.ts";
import { isTimeZone } from "./analytics/tz.ts";

/** An IANA time zone name the runtime knows (`Europe/Berlin`). */
export const timeZoneSchema = z.string().max(64).refine(isTimeZone, {
  message: "is not an IANA time zone such as Europe/Berlin",
});

/** Per-workspace tunables, with the bounds a change must keep within. */
export const workspaceSettingsSchema = z.object({
  dedup_window_seconds: z.number().int().min(60).max(30 * 86_400).openapi({
    description: "How long a repeated event id is a duplicate, seconds (default 24 h)",
  }),
  retention_days: z.number().int().min(1).max(3650).openapi({
    description: "How long events are kept, days",
  }),
  rate_limit_per_minute: z.number().int().min(1).max(100_000_000).openapi({
    description: "Events accepted per minute across the workspace",
  }),
  browser_rate_limit_per_minute: z.number().int().min(1).max(10_000_000).openapi({
    description: "Requests per minute from one client IP on the browser endpoints",
  }),
  counter_retention_days: z.number().int().min(35).max(3650).optional().openapi({
    description:
      "How long counters are kept, days (default 400: a year-on-year comparison outlives the events; hourly analytics counters are kept 35)",
  }),
  time_zone: timeZoneSchema.optional().openapi({
    description:
      "IANA time zone of the days in analytics answers (when a request gives no tz) and the dashboard (default UTC)",
    example: "Europe/Berlin",
  }),
}).openapi("WorkspaceSettings");

/** Per-workspace tunables. */
export type WorkspaceSettings = z.output<typeof workspaceSettingsSchema>;

/** A tenant: its own keys, origins, settings, events and destinations. */
export const workspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  public_id: z.string().openapi({
    description: "Public id (`pk_…`) that browsers send; not a secret",
  }),
  allowed_origins: z.array(z.string()).openapi({
    description:
      "Origins (`https://shop.example`) allowed to send browser events; `https://*.shop.example` allows every subdomain",
  }),
  settings: workspaceSettingsSchema,
  created_at: z.string(),
}).openapi("Workspace");

/** A tenant: its own keys, origins, settings, events and destinations. */
export type Workspace = z.output<typeof workspaceSchema>;

/** The IANA zone of the workspace's days (analytics, the dashboard): its setting, else UTC. */
export function workspaceZone(workspace: Pick<Workspace, "settings">): string {
  return workspace.settings.time_zone ?? "UTC";
}

/** Defaults for new workspaces. */
export const DEFAULT_SETTINGS: WorkspaceSettings = Object.freeze({
  dedup_window_seconds: 86_400,
  retention_days: 30,
  rate_limit_per_minute: 600_000,
  browser_rate_limit_per_minute: 600,
});

/** A new workspace with the secrets shown only once. */
export interface WorkspaceCreated {
  workspace: Workspace;
  ingestKey: ApiKeyCreated;
  adminKey: ApiKeyCreated;
}

const CACHE_TTL_MS = 5_000;
const newId = monotonicFactory();

/** Most labels after a wildcard's `*.` (preflights look up that many suffixes at most). */
const MAX_WILDCARD_LABELS = 10;

/**
 * Normalises an origin to `scheme://host[:port]`; throws a TypeError naming the
 * value when it is not an http(s) origin. One leading wildcard label is allowed
 * (`https://*.shop.example`, see {@link isOriginAllowed}), followed by 2 to 10 labels;
 * a `*` anywhere else is refused.
 */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(`"${origin}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`"${origin}" is not an http(s) origin`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new TypeError(`"${origin}" must be an origin only, like https://shop.example`);
  }
  if (url.hostname.includes("*") && !isWildcardHost(url.hostname)) {
    throw new TypeError(
      `"${origin}" may hold a wildcard only as its whole first label, before 2 to ${MAX_WILDCARD_LABELS} more, like https://*.shop.example`,
    );
  }
  return url.origin;
}

function isWildcardHost(hostname: string): boolean {
  const [first, ...rest] = hostname.split(".");
  return first === "*" && rest.length >= 2 && rest.length <= MAX_WILDCARD_LABELS &&
    rest.every((label) => label !== "" && !label.includes("*"));
}

// What a browser's Origin header holds before a wildcard's suffix: one or more DNS labels.
const SUBDOMAIN_LABELS = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/;

/**
 * Whether an Origin header is on an allowlist. `https://*.shop.example` matches any
 * subdomain at any depth (`https://a.shop.example`, `https://a.b.shop.example`) with the
 * same scheme and port, never the bare `https://shop.example` (list it too).
 */
export function isOriginAllowed(allowed: readonly string[], origin: string): boolean {
  return allowed.some((entry) => entry === origin || wildcardMatches(entry, origin));
}

function wildcardMatches(pattern: string, origin: string): boolean {
  const star = pattern.indexOf("://*.");
  if (star < 0) return false;
  const scheme = pattern.slice(0, star + 3);
  const suffix = pattern.slice(star + 4);
  if (!origin.startsWith(scheme) || !origin.endsWith(suffix)) return false;
  return SUBDOMAIN_LABELS.test(origin.slice(scheme.length, origin.length - suffix.length));
}

/**
 * The allowlist entries that could allow an origin: itself, and every wildcard over one of
 * its parent domains (`https://a.b.shop.example` → `https://*.b.shop.example`,
 * `https://*.shop.example`).
 */
function allowlistEntriesFor(origin: string): string[] {
  const match = /^(https?:\/\/)([^/:]+)(:\d+)?$/.exec(origin);
  if (!match) return [origin];
  const [, scheme, host, port = ""] = match;
  const labels = host!.split(".");
  const entries = [origin];
  const shortest = Math.max(1, labels.length - MAX_WILDCARD_LABELS);
  for (let i = shortest; i <= labels.length - 2; i++) {
    entries.push(`${scheme}*.${labels.slice(i).join(".")}${port}`);
  }
  return entries;
}

/** Workspaces in KV, with a short-lived cache for the request path. */
export class WorkspaceStore {
  readonly #kv: Deno.Kv;
  readonly #byId = new TtlCache<Workspace | null>(CACHE_TTL_MS);
  readonly #byPublicId = new TtlCache<string | null>(CACHE_TTL_MS);
  #originAllowed = new TtlCache<boolean>(CACHE_TTL_MS);

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Creates a workspace with its ingest and admin keys in one atomic commit. */
  async create(
    input: { name: string; allowed_origins?: string[]; settings?: Partial<WorkspaceSettings> },
  ): Promise<WorkspaceCreated> {
    const workspace: Workspace = {
      id: `ws_${newId().toLowerCase()}`,
      name: input.name,
      public_id: `pk_${randomBase62(24)}`,
      allowed_origins: [...new Set((input.allowed_origins ?? []).map(normalizeOrigin))],
      settings: { ...DEFAULT_SETTINGS, ...input.settings },
      created_at: new Date().toISOString(),
    };
    const ingestKey = prepareApiKey(workspace.id, { name: "Default ingest", scopes: ["ingest"] });
    const adminKey = prepareApiKey(workspace.id, { name: "Default admin", scopes: ["admin"] });
    const op = this.#kv.atomic()
      .check({ key: workspacePublicKey(workspace.public_id), versionstamp: null })
      .set(workspaceKey(workspace.id), workspace)
      .set(workspacePublicKey(workspace.public_id), workspace.id);
    for (const origin of workspace.allowed_origins) {
      op.set(workspaceOriginKey(origin, workspace.id), true);
    }
    ingestKey.addTo(op);
    adminKey.addTo(op);
    const result = await op.commit();
    if (!result.ok) throw new Error(`Cannot create workspace "${input.name}": id collision`);
    this.#forgetOrigins(workspace.allowed_origins);
    return { workspace, ingestKey: ingestKey.created, adminKey: adminKey.created };
  }

  /** A workspace by id (cached for a few seconds), or null. */
  async get(wsId: string): Promise<Workspace | null> {
    const cached = this.#byId.get(wsId);
    if (cached !== undefined) return cached;
    const workspace = (await this.#kv.get<Workspace>(workspaceKey(wsId))).value;
    this.#byId.set(wsId, workspace);
    return workspace;
  }

  /** A workspace by its public id (cached for a few seconds), or null. */
  async getByPublicId(publicId: string): Promise<Workspace | null> {
    if (publicId.length > 64) return null;
    let wsId = this.#byPublicId.get(publicId);
    if (wsId === undefined) {
      wsId = (await this.#kv.get<string>(workspacePublicKey(publicId))).value;
      this.#byPublicId.set(publicId, wsId);
    }
    return wsId ? await this.get(wsId) : null;
  }

  /** Whether any workspace allows the origin, itself or by a wildcard; answers CORS preflights. */
  async isOriginAllowedAnywhere(origin: string): Promise<boolean> {
    if (origin.length > 256) return false;
    const cached = this.#originAllowed.get(origin);
    if (cached !== undefined) return cached;
    const found = await Promise.all(
      allowlistEntriesFor(origin).map((entry) => this.#anyWorkspaceLists(entry)),
    );
    const allowed = found.includes(true);
    this.#originAllowed.set(origin, allowed);
    return allowed;
  }

  async #anyWorkspaceLists(entry: string): Promise<boolean> {
    for await (const _ of this.#kv.list({ prefix: workspaceOriginPrefix(entry) }, { limit: 1 })) {
      return true;
    }
    return false;
  }

  /** Changes a workspace's name, origins or settings; null when it does not exist. */
  async update(
    wsId: string,
    patch: { name?: string; allowed_origins?: string[]; settings?: Partial<WorkspaceSettings> },
  ): Promise<Workspace | null> {
    for (;;) {
      const current = await this.#kv.get<Workspace>(workspaceKey(wsId));
      if (!current.value) return null;
      const before = current.value;
      const next: Workspace = {
        ...before,
        name: patch.name ?? before.name,
        allowed_origins: patch.allowed_origins
          ? [...new Set(patch.allowed_origins.map(normalizeOrigin))]
          : before.allowed_origins,
        settings: { ...before.settings, ...patch.settings },
      };
      const op = this.#kv.atomic().check(current).set(workspaceKey(wsId), next);
      for (const origin of before.allowed_origins) op.delete(workspaceOriginKey(origin, wsId));
      for (const origin of next.allowed_origins) op.set(workspaceOriginKey(origin, wsId), true);
      if ((await op.commit()).ok) {
        this.#byId.delete(wsId);
        this.#forgetOrigins([...before.allowed_origins, ...next.allowed_origins]);
        return next;
      }
    }
  }

  /** Drops cached preflight answers these allowlist entries may have changed. */
  #forgetOrigins(entries: readonly string[]): void {
    if (entries.some((entry) => entry.includes("*"))) {
      // A wildcard decides for origins never listed: start the cache afresh.
      this.#originAllowed = new TtlCache(CACHE_TTL_MS);
      return;
    }
    for (const entry of entries) this.#originAllowed.delete(entry);
  }
}

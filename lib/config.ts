import { parse } from "dotenv";
import { z } from "zod";
// Configuration errors say what each variable must be.
import "../core/field_messages.ts";
import { parseDurationList } from "./duration.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** How dashboard passwords are checked (`SLUICE_AUTH`). */
export const AUTH_MODES = ["local", "supabase", "both"] as const;

/** How dashboard passwords are checked. */
export type AuthMode = typeof AUTH_MODES[number];

const flag = z.enum(["0", "1", "true", "false", ""]).transform((v) => v === "1" || v === "true");
const optionalText = z.string().trim().transform((v) => v === "" ? undefined : v).optional();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOSTNAME: z.string().default("0.0.0.0"),
  SLUICE_KV: optionalText,
  // Set by Deno Deploy in every deployment.
  DENO_DEPLOYMENT_ID: optionalText,
  SLUICE_ROOT_TOKEN: optionalText,
  SLUICE_SECRET: optionalText,
  SLUICE_SECRET_PREVIOUS: z.string().default(""),
  SLUICE_ALLOW_PRIVATE_URLS: flag.default(false),
  SLUICE_DELIVERY_RETRY_SCHEDULE: z.string().default("30s,2m,10m,1h,6h,24h"),
  SLUICE_WEBHOOK_RETRY_SCHEDULE: z.string().default("5s,5m,30m,2h,5h,10h,10h"),
  SLUICE_WEBHOOK_DISABLE_AFTER: z.string().default("5d"),
  SLUICE_MAX_WEBHOOKS: z.coerce.number().int().min(1).max(1000).default(10),
  SLUICE_DELIVERY_TIMEOUT: z.string().default("10s"),
  SLUICE_OUTBOX_LEASE: z.string().default("30s"),
  SLUICE_OUTBOX_REQUEST_DRAIN: z.coerce.number().int().min(0).max(100).default(10),
  SLUICE_OUTBOX_REQUEST_DRAIN_BUDGET: z.string().default("250ms"),
  SLUICE_DRAIN_TOKEN: optionalText,
  SLUICE_QUEUE: z.enum(["kv-queue", "kv-outbox"]).optional(),
  SLUICE_ADMIN_EMAIL: optionalText,
  SLUICE_ADMIN_PASSWORD: optionalText,
  SLUICE_METRICS_TOKEN: optionalText,
  SLUICE_TRUSTED_PROXIES: z.string().default(""),
  SLUICE_KV_MAX_CHECKS: z.coerce.number().int().min(1).max(100).optional(),
  SLUICE_PUBLIC_URL: optionalText.pipe(
    z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://sluice.example" })
      .refine((url) => !/[?#]/.test(url), "must not have a query or fragment")
      .transform((url) => url.replace(/\/+$/, ""))
      .optional(),
  ),
  SLUICE_LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  SUPABASE_URL: optionalText.pipe(
    z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://abc.supabase.co" })
      .transform((url) => url.replace(/\/+$/, ""))
      .optional(),
  ),
  SUPABASE_ANON_KEY: optionalText,
  SLUICE_AUTH: z.enum(AUTH_MODES).optional(),
});

/** The instance configuration, parsed once from the environment. */
export interface Config {
  readonly port: number;
  readonly hostname: string;
  /** A file path, `:memory:`, a remote KV URL, or {@link DEPLOY_KV} (see {@link kvLocation}). */
  readonly kvPath: string;
  readonly rootToken?: string;
  readonly secret?: string;
  /**
   * Master secrets that sealed values before a rotation (`SLUICE_SECRET_PREVIOUS`): read
   * after `secret`, never used to seal.
   */
  readonly previousSecrets: readonly string[];
  readonly allowPrivateUrls: boolean;
  /** Delays between delivery attempts, in milliseconds. */
  readonly deliveryRetrySchedule: readonly number[];
  /** Delays between webhook attempts, in milliseconds. */
  readonly webhookRetrySchedule: readonly number[];
  /** How long every send to a webhook may fail before it is disabled, ms. */
  readonly webhookDisableAfterMs: number;
  /** Webhooks one workspace may register. */
  readonly maxWebhooks: number;
  /** How long one outbound request may take, ms. */
  readonly deliveryTimeoutMs: number;
  /** How long a kv-outbox worker holds a message before another may take it over, ms. */
  readonly outboxLeaseMs: number;
  /**
   * kv-outbox: messages one incoming request may handle after its answer (0: none), for hosts
   * whose isolates do not live long enough to poll.
   */
  readonly outboxRequestDrain: number;
  /** kv-outbox: how long one request's drain may keep claiming messages, ms. */
  readonly outboxRequestDrainBudgetMs: number;
  /** Bearer token of `POST /v1/outbox/drain` besides the root token. */
  readonly drainToken?: string;
  readonly queue: "kv-queue" | "kv-outbox";
  readonly adminEmail?: string;
  readonly adminPassword?: string;
  readonly metricsToken?: string;
  /** IPs or CIDR ranges whose forwarding headers are trusted for the client IP. */
  readonly trustedProxies: readonly string[];
  /** Checks allowed in one atomic commit: 100 on SQLite and Deno Deploy, 10 on self-hosted denokv. */
  readonly kvMaxChecks: number;
  /**
   * The URL Sluice is reached at from the internet (`https://sluice.example`, no trailing
   * slash), for the URLs it hands out; absent, the origin of the request they are asked in.
   */
  readonly publicUrl?: string;
  /** Lines below this level are not logged. */
  readonly logLevel: LogLevel;
  /**
   * How the dashboard checks a password: `local` (scrypt hashes in KV), `supabase` (Supabase
   * Auth only) or `both` (the local password first, then Supabase). Default: `supabase` when
   * Supabase is configured, else `local`.
   */
  readonly authMode: AuthMode;
  /** The Supabase project whose Auth signs dashboard users in (`SUPABASE_URL`, `SUPABASE_ANON_KEY`). */
  readonly supabase?: { readonly url: string; readonly anonKey: string };
}

/** `SLUICE_KV` for a Deno Deploy app's own managed KV, which `Deno.openKv()` opens without a path. */
export const DEPLOY_KV = ":deploy:";

/** Where KV lives when `SLUICE_KV` is unset, off Deno Deploy. */
export const DEFAULT_KV_FILE = "./data/sluice.kv";

/**
 * The KV location: `SLUICE_KV` when set; else, on Deno Deploy (`DENO_DEPLOYMENT_ID` set), the
 * app's managed KV ({@link DEPLOY_KV}), since a deployment has no disk to keep a file on;
 * else {@link DEFAULT_KV_FILE}.
 */
export function kvLocation(env: { SLUICE_KV?: string; DENO_DEPLOYMENT_ID?: string }): string {
  return env.SLUICE_KV ?? (env.DENO_DEPLOYMENT_ID ? DEPLOY_KV : DEFAULT_KV_FILE);
}

/**
 * Whether a KV location names a database off this machine (a URL, or Deno Deploy's managed KV)
 * rather than a file or memory: shared by every instance, reached over the network.
 */
export function isRemoteKv(kvPath: string): boolean {
  return kvPath === DEPLOY_KV || /^https?:\/\//.test(kvPath);
}

/**
 * Parses the configuration from environment variables.
 * Throws an Error that names each invalid variable.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable (as .env.example ships them) means "use the default".
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  if (Boolean(e.SUPABASE_URL) !== Boolean(e.SUPABASE_ANON_KEY)) {
    const missing = e.SUPABASE_URL ? "SUPABASE_ANON_KEY" : "SUPABASE_URL";
    throw new Error(
      `Invalid configuration: ${missing}: required with ${
        e.SUPABASE_URL ? "SUPABASE_URL" : "SUPABASE_ANON_KEY"
      } (Supabase Auth needs both)`,
    );
  }
  if (e.SLUICE_AUTH && e.SLUICE_AUTH !== "local" && !e.SUPABASE_URL) {
    throw new Error(
      `Invalid configuration: SLUICE_AUTH: "${e.SLUICE_AUTH}" needs SUPABASE_URL and SUPABASE_ANON_KEY`,
    );
  }
  const kvPath = kvLocation(e);
  const remote = isRemoteKv(kvPath);
  return Object.freeze({
    port: e.PORT,
    hostname: e.HOSTNAME,
    kvPath,
    rootToken: e.SLUICE_ROOT_TOKEN,
    secret: e.SLUICE_SECRET,
    previousSecrets: e.SLUICE_SECRET_PREVIOUS.split(",").map((s) => s.trim()).filter(Boolean),
    allowPrivateUrls: e.SLUICE_ALLOW_PRIVATE_URLS,
    deliveryRetrySchedule: parseDurationList(
      e.SLUICE_DELIVERY_RETRY_SCHEDULE,
      "SLUICE_DELIVERY_RETRY_SCHEDULE",
    ),
    webhookRetrySchedule: parseDurationList(
      e.SLUICE_WEBHOOK_RETRY_SCHEDULE,
      "SLUICE_WEBHOOK_RETRY_SCHEDULE",
    ),
    webhookDisableAfterMs: parseDurationList(
      e.SLUICE_WEBHOOK_DISABLE_AFTER,
      "SLUICE_WEBHOOK_DISABLE_AFTER",
    )[0]!,
    maxWebhooks: e.SLUICE_MAX_WEBHOOKS,
    deliveryTimeoutMs: parseDurationList(e.SLUICE_DELIVERY_TIMEOUT, "SLUICE_DELIVERY_TIMEOUT")[0]!,
    outboxLeaseMs: parseDurationList(e.SLUICE_OUTBOX_LEASE, "SLUICE_OUTBOX_LEASE")[0]!,
    outboxRequestDrain: e.SLUICE_OUTBOX_REQUEST_DRAIN,
    outboxRequestDrainBudgetMs: parseDurationList(
      e.SLUICE_OUTBOX_REQUEST_DRAIN_BUDGET,
      "SLUICE_OUTBOX_REQUEST_DRAIN_BUDGET",
    )[0]!,
    drainToken: e.SLUICE_DRAIN_TOKEN,
    queue: e.SLUICE_QUEUE ?? (remote ? "kv-outbox" : "kv-queue"),
    adminEmail: e.SLUICE_ADMIN_EMAIL,
    adminPassword: e.SLUICE_ADMIN_PASSWORD,
    metricsToken: e.SLUICE_METRICS_TOKEN,
    trustedProxies: e.SLUICE_TRUSTED_PROXIES.split(",").map((s) => s.trim()).filter(Boolean),
    kvMaxChecks: e.SLUICE_KV_MAX_CHECKS ?? (remote ? 10 : 100),
    ...(e.SLUICE_PUBLIC_URL ? { publicUrl: e.SLUICE_PUBLIC_URL } : {}),
    logLevel: e.SLUICE_LOG_LEVEL,
    authMode: e.SLUICE_AUTH ?? (e.SUPABASE_URL ? "supabase" : "local"),
    ...(e.SUPABASE_URL && e.SUPABASE_ANON_KEY
      ? { supabase: { url: e.SUPABASE_URL, anonKey: e.SUPABASE_ANON_KEY } }
      : {}),
  });
}

/**
 * Reads the configuration from the process environment and, when there is one, the `.env`
 * file in the working directory (`path`); variables set in the environment win over the file.
 */
export function configFromEnv(path = ".env"): Config {
  return parseConfig({ ...envFile(path), ...Deno.env.toObject() });
}

/** The variables of a dotenv file; none when it does not exist. */
export function envFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new Error(`Cannot read ${path}: ${error instanceof Error ? error.message : error}`);
  }
  return parse(text);
}

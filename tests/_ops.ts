/** Helpers of the operations tests (backup, restore, rotation, drain, CLI): instances on a KV file. */
import assert from "node:assert/strict";
import { parseConfig } from "../lib/config.ts";
import { kvLimits } from "../lib/kv/limits.ts";
import { openRuntime, type Runtime } from "../lib/runtime.ts";
import { createApp } from "../routes/app.ts";
import type { App } from "../routes/_env.ts";

/** The master secret the operations tests seal with unless they say otherwise. */
export const OPS_SECRET = "ops-test-secret-0123456789abcdef";
/** The root token of operations test instances. */
export const OPS_ROOT_TOKEN = "ops-root-token-0123456789abcdef";

/** An instance driven through `app.request`; `await using` closes it. */
export interface OpsSluice extends AsyncDisposable {
  rt: Runtime;
  app: App;
  /** `app.request` from 127.0.0.1. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** GET with a Bearer key; asserts 200 and answers the JSON. */
  get<T = unknown>(path: string, key: string): Promise<T>;
  /** Starts the queue consumer (not started by default, so queued work stays queued). */
  startWorkers(): void;
  close(): Promise<void>;
}

/** Opens an instance on `kvPath`; `env` adds or overrides configuration variables. */
export async function openOps(
  kvPath: string,
  env: Record<string, string> = {},
): Promise<OpsSluice> {
  const rt = await openRuntime(parseConfig({
    SLUICE_KV: kvPath,
    SLUICE_SECRET: OPS_SECRET,
    SLUICE_ROOT_TOKEN: OPS_ROOT_TOKEN,
    SLUICE_ALLOW_PRIVATE_URLS: "1",
    SLUICE_DELIVERY_TIMEOUT: "2s",
    ...env,
  }));
  const app = createApp(rt);
  let workers: Promise<void> | undefined;
  const request = (path: string, init?: RequestInit) =>
    Promise.resolve(app.request(path, init, {
      remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
    }));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await rt.close();
    await workers?.catch(() => {});
  };
  return {
    rt,
    app,
    request,
    async get<T>(path: string, key: string): Promise<T> {
      const res = await request(path, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200, `GET ${path}: ${await res.clone().text()}`);
      return await res.json() as T;
    },
    startWorkers() {
      workers ??= rt.startWorkers();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A temporary folder, removed by `await using`. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "sluice-ops-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** A JSON POST (or `method`) with a Bearer key. */
export function post(body: unknown, key?: string, method = "POST"): RequestInit {
  return {
    method,
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify(body),
  };
}

/** Creates a workspace through the root token; answers its id and keys. */
export async function createWorkspace(
  s: OpsSluice,
  name = "Shop",
): Promise<{ id: string; public_id: string; ingest_key: string; admin_key: string }> {
  const res = await s.request(
    "/v1/workspaces",
    post({ name, allowed_origins: ["https://shop.example"] }, OPS_ROOT_TOKEN),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return await res.json();
}

/** Connects a Meta destination pointing at `endpoint`; answers its id. */
export async function connectMeta(s: OpsSluice, adminKey: string, endpoint: string) {
  const res = await s.request(
    "/v1/platforms",
    post({
      type: "meta",
      name: "Meta",
      config: { pixel_id: "1234567890", access_token: "EAAB-secret-token", endpoint },
    }, adminKey),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id as string;
}

/** Sends one purchase; asserts the status (202 by default). */
export async function sendPurchase(
  s: OpsSluice,
  ingestKey: string,
  eventId: string,
  status = 202,
): Promise<void> {
  const res = await s.request(
    "/v1/events",
    post({
      event_id: eventId,
      event_name: "Purchase",
      value: 42,
      currency: "EUR",
      action_source: "website",
      page: { url: "https://shop.example/thanks" },
      user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
    }, ingestKey),
  );
  assert.equal(res.status, status, await res.clone().text());
  await res.body?.cancel();
}

/** The KV limits of a local SQLite KV. */
export const LOCAL_LIMITS = kvLimits(100);

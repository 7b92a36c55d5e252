import { parseConfig } from "../lib/config.ts";
import { openRuntime, type Runtime } from "../lib/runtime.ts";
import { createApp } from "../routes/app.ts";
import type { App } from "../routes/_env.ts";

/** A Sluice on `:memory:` KV with one workspace, driven through `app.request`; `await using` closes it. */
export interface TestSluice extends AsyncDisposable {
  rt: Runtime;
  app: App;
  workspace: {
    id: string;
    public_id: string;
    ingest_key: string;
    admin_key: string;
  };
  /** `app.request` with the peer address a real server would pass. */
  request(path: string, init?: RequestInit, remoteIp?: string): Promise<Response>;
  close(): Promise<void>;
}

/** The root token test runtimes are configured with. */
export const TEST_ROOT_TOKEN = "root-token-for-tests-0123456789";

/** Opens a test Sluice; `env` overrides configuration variables, `kv` the KV handle. */
export async function openTestSluice(
  env: Record<string, string> = {},
  origins: string[] = ["https://shop.example"],
  options: { kv?: Deno.Kv } = {},
): Promise<TestSluice> {
  const rt = await openRuntime(
    parseConfig({
      SLUICE_KV: ":memory:",
      SLUICE_ROOT_TOKEN: TEST_ROOT_TOKEN,
      // Request and delivery lines would bury a failing test's output.
      SLUICE_LOG_LEVEL: "warn",
      ...env,
    }),
    options,
  );
  const workers = rt.startWorkers();
  const app = createApp(rt);
  const created = await rt.workspaces.create({ name: "Test shop", allowed_origins: origins });
  const request = (path: string, init?: RequestInit, remoteIp = "127.0.0.1") =>
    Promise.resolve(app.request(path, init, {
      remoteAddr: { transport: "tcp", hostname: remoteIp, port: 40000 },
    }));
  const close = async () => {
    await rt.close();
    await workers.catch(() => {});
  };
  return {
    rt,
    app,
    workspace: {
      id: created.workspace.id,
      public_id: created.workspace.public_id,
      ingest_key: created.ingestKey.secret,
      admin_key: created.adminKey.secret,
    },
    request,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** JSON request init with an optional Bearer key. */
export function jsonInit(body: unknown, key?: string, method = "POST"): RequestInit {
  return {
    method,
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Folder-private: what both benchmarks do to set up a Sluice and talk to it. */

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Random hex of `bytes` bytes (tokens, run ids). */
export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sends a request and answers its JSON object body; throws unless the status is `expected`. */
export async function requestJson(
  url: string,
  init: RequestInit,
  expected: number,
): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== expected) {
    throw new Error(`${init.method ?? "GET"} ${url}: ${res.status} ${text}`);
  }
  const body: unknown = JSON.parse(text);
  if (!isRecord(body)) throw new Error(`${url}: not an object: ${text}`);
  return body;
}

/** A string field of an answer; throws when absent. */
export function stringField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== "string") throw new Error(`Expected a string "${field}" in the answer`);
  return value;
}

/** The environment of a benchmarked Sluice: a fresh KV file, its own secrets. */
export function benchEnv(kvPath: string, rootToken: string): Record<string, string> {
  return { SLUICE_KV: kvPath, SLUICE_SECRET: randomToken(), SLUICE_ROOT_TOKEN: rootToken };
}

/** A workspace created through the API, its rate limit raised out of the benchmark's way. */
export interface BenchWorkspace {
  id: string;
  ingestKey: string;
  adminKey: string;
}

/** Creates a workspace with the root token and lifts its events/minute limit. */
export async function createBenchWorkspace(
  base: string,
  rootToken: string,
  name: string,
): Promise<BenchWorkspace> {
  const created = await requestJson(`${base}/v1/workspaces`, {
    method: "POST",
    headers: { authorization: `Bearer ${rootToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  }, 201);
  const workspace = {
    id: stringField(created, "id"),
    ingestKey: stringField(created, "ingest_key"),
    adminKey: stringField(created, "admin_key"),
  };
  const patched = await requestJson(`${base}/v1/workspace`, {
    method: "PATCH",
    headers: {
      authorization: `Bearer ${workspace.adminKey}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ settings: { rate_limit_per_minute: 100_000_000 } }),
  }, 200);
  const limit = isRecord(patched.settings) ? patched.settings.rate_limit_per_minute : undefined;
  if (limit !== 100_000_000) throw new Error(`Rate limit not raised: ${JSON.stringify(patched)}`);
  return workspace;
}

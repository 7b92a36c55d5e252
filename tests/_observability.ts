/** Helpers of the observability tests (metrics, logs, retention, erasure). */
import assert from "node:assert/strict";
import { jsonInit, type TestSluice } from "./_harness.ts";
import { bearer } from "./_http.ts";
import { eventually } from "./_wait.ts";

/** Samples of a Prometheus text exposition, by `name{label="v",…}` with labels sorted. */
export type Samples = Map<string, number>;

/** Parses the Prometheus text format (0.0.4) into samples; `# HELP`/`# TYPE` lines are checked. */
export function parsePrometheus(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /, line);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const [, name, labels = "", value] = match;
    const pairs = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(pairs.length ? `${name}{${pairs.join(",")}}` : name!, Number(value));
  }
  return samples;
}

/** The sample `name` with `labels`, or 0 when the series does not exist yet. */
export function sample(samples: Samples, name: string, labels: Record<string, string> = {}) {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort();
  return samples.get(pairs.length ? `${name}{${pairs.join(",")}}` : name) ?? 0;
}

/** `GET /metrics` parsed. */
export async function scrape(s: TestSluice, token?: string): Promise<Samples> {
  const res = await s.request("/metrics", { headers: token ? bearer(token) : {} });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(text);
}

/** Connects a Meta destination at `endpoint`; returns its id. */
export async function connectMeta(
  s: TestSluice,
  endpoint: string,
  accessToken = "EAAB-token-secret",
): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta",
      config: { pixel_id: "1234567890", access_token: accessToken, endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

/** Posts one event or a batch to `POST /v1/events`; returns the status. */
export async function ingest(s: TestSluice, body: unknown): Promise<number> {
  const res = await s.request("/v1/events", jsonInit(body, s.workspace.ingest_key));
  await res.body?.cancel();
  return res.status;
}

/** One delivery row as `GET /v1/events/:event_id` shows it. */
export interface DeliveryRowJson {
  platform_id: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at?: string;
  updated_at: string;
}

/** Waits until every delivery row of an event is settled as `status`. */
export async function settled(
  s: TestSluice,
  eventId: string,
  status = "delivered",
): Promise<DeliveryRowJson[]> {
  return await eventually(`${eventId} ${status}`, async () => {
    const res = await s.request(`/v1/events/${encodeURIComponent(eventId)}`, {
      headers: bearer(s.workspace.admin_key),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const rows = (await res.json()).deliveries as DeliveryRowJson[];
    return rows.length > 0 && rows.every((r) => r.status === status) ? rows : undefined;
  });
}

/**
 * End to end, real processes: a server delivering to a (mock) Meta destination is SIGKILLed
 * while deliveries are in flight, then restarted on the same KV file. Every acknowledged
 * event must reach the destination at least once; repeats may only be sends that were in
 * flight at the kill (at-least-once delivery).
 *
 * The server runs with SLUICE_QUEUE=kv-outbox: the kv-queue adapter (Deno KV queues, SQLite)
 * redelivers a message that was running at a SIGKILL only in KV's periodic cleanup (~60 s),
 * which would make this test far too slow; the outbox reclaims such a message when its
 * lease (SLUICE_OUTBOX_LEASE, 4 s here, renewed every third of it) runs out.
 */
import assert from "node:assert/strict";
import { SpawnedServer } from "./_server.ts";

const ROOT_TOKEN = "root-token-for-the-delivery-crash-test-0123456789";
const SECRET = "delivery-crash-test-master-secret-0123456789abcdef";
const EVENTS = 2_000;
const BATCH = 50;
const SENDERS = 4;
/** The mock answers each request after this delay. */
const MOCK_DELAY_MS = 50;
/** The kill happens inside the mock's handler once this many distinct events have arrived. */
const KILL_AFTER = 1_000;
/** An answered send is still "in flight" until the server records it: this much slack. */
const RECORD_SLACK_MS = 250;
/** The outbox lease (4 s) plus slack for the restart and the re-run. */
const WAIT_AFTER_KILL_MS = 12_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const SERVER_ENV = {
  SLUICE_SECRET: SECRET,
  SLUICE_ROOT_TOKEN: ROOT_TOKEN,
  SLUICE_ALLOW_PRIVATE_URLS: "1",
  SLUICE_QUEUE: "kv-outbox",
  SLUICE_OUTBOX_LEASE: "4s",
  SLUICE_DELIVERY_RETRY_SCHEDULE: "200ms,500ms,1s",
  SLUICE_DELIVERY_TIMEOUT: "5s",
};

/** One request the mock received. */
interface Received {
  ids: string[];
  arrivedAt: number;
  /** When the mock answered (undefined while it holds the request). */
  answeredAt?: number;
}

interface Mock {
  url: string;
  requests: Received[];
  /** Times each event_id was received. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

/** A mock Meta on 127.0.0.1: answers 200 after MOCK_DELAY_MS; `onRequest` runs on arrival. */
function startMock(onRequest: (mock: Mock) => void): Mock {
  const mock: Mock = {
    url: "",
    requests: [],
    counts: new Map(),
    close: () => Promise.resolve(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body: unknown = await req.json().catch(() => undefined);
    const data = isRecord(body) && Array.isArray(body.data) ? body.data : [];
    const ids = data.flatMap((e) =>
      isRecord(e) && typeof e.event_id === "string" ? [e.event_id] : []
    );
    const received: Received = { ids, arrivedAt: Date.now() };
    mock.requests.push(received);
    for (const id of ids) mock.counts.set(id, (mock.counts.get(id) ?? 0) + 1);
    onRequest(mock);
    await sleep(MOCK_DELAY_MS);
    received.answeredAt = Date.now();
    return Response.json({ events_received: ids.length, fbtrace_id: "mock" });
  });
  mock.url = `http://127.0.0.1:${server.addr.port}`;
  mock.close = () => server.shutdown();
  return mock;
}

function purchase(eventId: string): Record<string, unknown> {
  return {
    event_id: eventId,
    event_name: "purchase",
    action_source: "website",
    value: 49.9,
    currency: "EUR",
    order_id: eventId,
    page: { url: "https://shop.example/checkout" },
    user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA test" },
  };
}

async function postJson(
  url: string,
  token: string,
  body: unknown,
  expected: number,
): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, expected, `POST ${url}: ${text}`);
  const parsed: unknown = JSON.parse(text);
  assert.ok(isRecord(parsed), text);
  return parsed;
}

function sample<T>(items: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

Deno.test({
  name: "e2e: deliveries survive a SIGKILL mid-flight: nothing lost, repeats only in-flight sends",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-e2e-delivery-crash-" });
    const kvPath = `${dir}/sluice.kv`;
    const servers: SpawnedServer[] = [];
    let killedAt: number | undefined;
    /** Event ids in requests the mock held open at the kill. */
    let openAtKill: string[] = [];
    const mock = startMock((m) => {
      const first = servers[0];
      if (killedAt !== undefined || !first || m.counts.size < KILL_AFTER) return;
      // This request is open: the server is mid-send. Kill it now, from inside the handler.
      killedAt = Date.now();
      openAtKill = m.requests.filter((r) => r.answeredAt === undefined).flatMap((r) => r.ids);
      first.signal("SIGKILL");
    });
    let ingesting: Promise<unknown> = Promise.resolve();
    try {
      // 1. First life: a workspace, a meta destination on the mock, then ingest in batches.
      const first = new SpawnedServer(kvPath, SERVER_ENV);
      servers.push(first);
      await first.ready();
      const ws = await postJson(`${first.base}/v1/workspaces`, ROOT_TOKEN, {
        name: "Delivery crash test",
      }, 201);
      const ingestKey = String(ws.ingest_key);
      const adminKey = String(ws.admin_key);
      await postJson(`${first.base}/v1/platforms`, adminKey, {
        type: "meta",
        name: "Mock Meta",
        config: { pixel_id: "1234567890", access_token: "EAAB-crash-test", endpoint: mock.url },
      }, 201);

      const acked: string[] = [];
      let next = 0;
      ingesting = Promise.all(Array.from({ length: SENDERS }, async () => {
        while (next < EVENTS / BATCH && killedAt === undefined) {
          const b = next++;
          const ids = Array.from({ length: BATCH }, (_, i) => `crash-${b}-${i}`);
          let body: Record<string, unknown>;
          try {
            body = await postJson(`${first.base}/v1/events`, ingestKey, {
              events: ids.map(purchase),
            }, 202);
          } catch (error) {
            // Killed mid-request: no answer proves nothing either way.
            if (killedAt !== undefined && !(error instanceof assert.AssertionError)) return;
            throw error;
          }
          assert.ok(Array.isArray(body.results));
          for (const r of body.results) {
            if (isRecord(r) && r.status === "accepted" && typeof r.event_id === "string") {
              acked.push(r.event_id);
            }
          }
        }
      }));
      await ingesting;
      // Wait for the kill (it happens once KILL_AFTER events have arrived at the mock).
      const killDeadline = Date.now() + 15_000;
      while (killedAt === undefined && Date.now() < killDeadline) await sleep(10);
      assert.ok(killedAt !== undefined, `no kill: only ${mock.counts.size} events arrived`);
      const killed = await first.stop("SIGKILL");
      assert.equal(killed.signal, "SIGKILL");
      const killTime = killedAt;
      assert.ok(openAtKill.length > 0, "no delivery was in flight at the kill");
      // Sends in flight at the kill: held open by the mock, or answered so recently that the
      // server may not have recorded the answer yet. Only these may be sent again.
      const inFlight = new Set([
        ...openAtKill,
        ...mock.requests.filter((r) =>
          r.arrivedAt <= killTime && r.answeredAt !== undefined &&
          r.answeredAt >= killTime - RECORD_SLACK_MS
        ).flatMap((r) => r.ids),
      ]);
      const receivedBeforeKill = new Set(
        mock.requests.filter((r) => r.arrivedAt <= killTime).flatMap((r) => r.ids),
      );
      console.log(
        `kill: ${acked.length} events acknowledged, ${receivedBeforeKill.size} received by the mock, ` +
          `${openAtKill.length} in open requests, ${inFlight.size} counted in flight`,
      );
      assert.ok(acked.length >= KILL_AFTER, `only ${acked.length} events acknowledged`);

      // 2. Second life on the same KV file: wait until every acknowledged event has arrived.
      const second = new SpawnedServer(kvPath, SERVER_ENV);
      servers.push(second);
      await second.ready();
      const waitDeadline = killTime + WAIT_AFTER_KILL_MS;
      let missing = acked.filter((id) => !mock.counts.has(id));
      while (missing.length > 0 && Date.now() < waitDeadline) {
        assert.ok(!second.exited, `the restarted server exited:\n${second.output}`);
        await sleep(100);
        missing = missing.filter((id) => !mock.counts.has(id));
      }
      console.log(
        `after restart: all acknowledged events received ${
          ((Date.now() - killTime) / 1000).toFixed(1)
        } s after the kill (${missing.length} missing)`,
      );
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged events lost`);

      // Let the re-run settle, then count repeats.
      await sleep(500);
      const duplicates = [...mock.counts].filter(([, n]) => n > 1).map(([id]) => id);
      const unexpected = duplicates.filter((id) => !inFlight.has(id));
      console.log(
        `duplicates: ${duplicates.length} events received more than once ` +
          `(${inFlight.size} were in flight at the kill)`,
      );
      assert.ok(duplicates.length <= inFlight.size);
      assert.deepEqual(
        unexpected.slice(0, 20),
        [],
        `${unexpected.length} events sent again that were not in flight at the kill`,
      );
      // No event unknown to the ingest was sent.
      const ackedSet = new Set(acked);
      const foreign = [...mock.counts.keys()].filter((id) =>
        !ackedSet.has(id) && !id.startsWith("crash-")
      );
      assert.deepEqual(foreign, []);

      // The delivery rows say delivered, for a spread sample (in-flight ones included).
      const watch = [...new Set([...sample(acked, 30), ...[...inFlight].slice(0, 10)])]
        .filter((id) => ackedSet.has(id));
      let notDelivered: string[] = watch;
      let states: string[] = [];
      // Sends cut off by the kill are settled once their outbox lease (4 s) runs out.
      const rowDeadline = Date.now() + 10_000;
      while (notDelivered.length > 0 && Date.now() < rowDeadline) {
        const still: string[] = [];
        states = [];
        for (const id of notDelivered) {
          const res = await fetch(`${second.base}/v1/events/${encodeURIComponent(id)}`, {
            headers: { authorization: `Bearer ${adminKey}` },
          });
          const body: unknown = await res.json();
          assert.equal(res.status, 200, JSON.stringify(body));
          const rows = isRecord(body) && Array.isArray(body.deliveries) ? body.deliveries : [];
          const ok = rows.length === 1 && isRecord(rows[0]) && rows[0].status === "delivered";
          if (!ok) {
            still.push(id);
            states.push(`${id}: ${JSON.stringify(rows)}`);
          }
        }
        notDelivered = still;
        if (still.length > 0) await sleep(200);
      }
      assert.deepEqual(states.slice(0, 5), [], `${notDelivered.length} not delivered`);
    } catch (error) {
      for (const [i, server] of servers.entries()) {
        console.error(`--- server ${i + 1} output ---\n${server.output}`);
      }
      throw error;
    } finally {
      await Promise.all(servers.map((server) => server.stop("SIGKILL")));
      await ingesting.catch(() => {});
      await mock.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

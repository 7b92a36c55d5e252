/**
 * Sluice on a KV that refuses commits with more than 10 checks, as self-hosted denokv and
 * KV Connect do: with SLUICE_KV_MAX_CHECKS=10 every batcher stays within it, end to end.
 */
import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

/** What the limited KV saw: the most checks in one commit, and the commits it refused. */
interface CheckStats {
  most: number;
  refused: number;
}

/** A KV handle whose atomic commits fail past `maxChecks` checks, as a remote KV's do. */
function checkLimitedKv(kv: Deno.Kv, maxChecks: number, stats: CheckStats): Deno.Kv {
  const limitedAtomic = () => {
    const op = kv.atomic();
    let checks = 0;
    const proxy: Deno.AtomicOperation = new Proxy(op, {
      get(target, name) {
        if (name === "check") {
          return (...given: Deno.AtomicCheck[]) => {
            checks += given.length;
            target.check(...given);
            return proxy;
          };
        }
        if (name === "commit") {
          return () => {
            stats.most = Math.max(stats.most, checks);
            if (checks <= maxChecks) return target.commit();
            stats.refused++;
            return Promise.reject(new TypeError(`too many checks (${checks} > ${maxChecks})`));
          };
        }
        const value = Reflect.get(target, name, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          return result === target ? proxy : result;
        };
      },
    });
    return proxy;
  };
  return new Proxy(kv, {
    get(target, name) {
      if (name === "atomic") return limitedAtomic;
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function batch(count: number, offset = 0) {
  return {
    events: Array.from({ length: count }, (_, i) => ({
      event_id: `order-${offset + i}`,
      event_name: "purchase",
      value: 10,
      currency: "EUR",
      action_source: "website",
      page: { url: "https://shop.example/thanks" },
      user_data: {
        email: `buyer${offset + i}@example.com`,
        client_ip: "203.0.113.9",
        user_agent: "UA",
      },
    })),
  };
}

Deno.test("ingest → fan-out → delivery stays within a 10-check KV with SLUICE_KV_MAX_CHECKS=10", async () => {
  const received: string[] = [];
  await using meta = mockPlatform((_, request) => {
    const body = request.json as { data: { event_id: string }[] };
    received.push(...body.data.map((e) => e.event_id));
    return Response.json({ events_received: body.data.length });
  });
  const stats = { most: 0, refused: 0 };
  await using s = await openTestSluice(
    { SLUICE_KV_MAX_CHECKS: "10", SLUICE_ALLOW_PRIVATE_URLS: "1" },
    undefined,
    { kv: checkLimitedKv(await Deno.openKv(":memory:"), 10, stats) },
  );
  const connected = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta",
      config: { pixel_id: "1234567890", access_token: "token", endpoint: meta.url },
    }, s.workspace.admin_key),
  );
  assert.equal(connected.status, 201);
  const answers = await Promise.all([0, 1].map(async (n) => {
    const res = await s.request(
      "/v1/events",
      jsonInit(batch(125, n * 125), s.workspace.ingest_key),
    );
    return [res.status, (await res.json()).accepted];
  }));
  assert.deepEqual(answers, [[202, 125], [202, 125]]);
  await eventually(
    "every event delivered to Meta",
    () => received.length >= 250 || undefined,
  );
  assert.equal(new Set(received).size, 250);
  const again = await s.request("/v1/events", jsonInit(batch(20), s.workspace.ingest_key));
  assert.equal((await again.json()).duplicates, 20, "dedup holds within the limit");
  assert.deepEqual(stats, { most: 10, refused: 0 }, "groups of 10 checks, none refused");
});

Deno.test("the 10-check KV refuses Sluice's commits when SLUICE_KV_MAX_CHECKS is left at 100", async () => {
  const stats = { most: 0, refused: 0 };
  await using s = await openTestSluice({}, undefined, {
    kv: checkLimitedKv(await Deno.openKv(":memory:"), 10, stats),
  });
  const res = await s.request("/v1/events", jsonInit(batch(50), s.workspace.ingest_key));
  await res.body?.cancel();
  assert.ok(stats.refused > 0, "a 50-event group commit holds 50 checks: the wrapper bites");
});

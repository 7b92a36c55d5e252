/** `POST /v1/deliveries/retry`: bulk resend of a filtered set, and the paused-platform recovery. */
import assert from "node:assert/strict";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { eventually } from "./_wait.ts";

const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_RETRY_SCHEDULE: "100ms" };

async function connectMeta(s: TestSluice, endpoint: string): Promise<string> {
  const res = await s.request(
    "/v1/platforms",
    jsonInit({
      type: "meta",
      name: "Meta",
      config: { pixel_id: "1234567890", access_token: "EAAB-token", endpoint },
    }, s.workspace.admin_key),
  );
  assert.equal(res.status, 201);
  return (await res.json()).id;
}

async function send(s: TestSluice, ids: string[]): Promise<void> {
  const events = ids.map((event_id) => ({
    event_id,
    event_name: "purchase",
    value: 10,
    currency: "EUR",
    action_source: "website",
    page: { url: "https://shop.example/thanks" },
    user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
  }));
  const res = await s.request("/v1/events", jsonInit({ events }, s.workspace.ingest_key));
  assert.equal(res.status, 202);
  await res.body?.cancel();
}

async function statusOf(s: TestSluice, eventId: string): Promise<string | undefined> {
  const res = await s.request(`/v1/events/${eventId}`, {
    headers: { authorization: `Bearer ${s.workspace.admin_key}` },
  });
  return (await res.json()).deliveries[0]?.status;
}

function settled(s: TestSluice, ids: string[], status: string) {
  return eventually(`${ids.length} events ${status}`, async () => {
    const all = await Promise.all(ids.map((id) => statusOf(s, id)));
    return all.every((one) => one === status) || undefined;
  });
}

async function retry(s: TestSluice, body: unknown): Promise<Record<string, unknown>> {
  const res = await s.request("/v1/deliveries/retry", jsonInit(body, s.workspace.admin_key));
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json();
}

Deno.test("POST /v1/deliveries/retry counts with dry_run, then resends only the failed ones", async () => {
  let failing = true;
  const received: string[] = [];
  await using meta = mockPlatform((_, request) => {
    const data = (request.json as { data: { event_id: string }[] }).data;
    received.push(...data.map((e) => e.event_id));
    return failing
      ? Response.json({ error: { message: "Invalid parameter", code: 100 } }, { status: 400 })
      : Response.json({ events_received: data.length });
  });
  await using s = await openTestSluice(ENV);
  const id = await connectMeta(s, meta.url);
  const ids = ["r-1", "r-2", "r-3"];
  await send(s, ids);
  await settled(s, ids, "failed");
  assert.deepEqual(
    await retry(s, { platform_id: id, statuses: ["failed"], dry_run: true }),
    { matched: 3, queued: 0, truncated: false },
  );
  assert.deepEqual(await retry(s, { statuses: ["skipped"] }), {
    matched: 0,
    queued: 0,
    truncated: false,
  });
  failing = false;
  assert.deepEqual(await retry(s, { platform_id: id, statuses: ["failed"] }), {
    matched: 3,
    queued: 3,
    truncated: false,
  });
  await settled(s, ids, "delivered");
  assert.deepEqual(
    received.sort(),
    [...ids, ...ids].sort(),
    "each sent twice: failed, then resent",
  );
  assert.deepEqual(await retry(s, { statuses: ["failed"], dry_run: true }), {
    matched: 0,
    queued: 0,
    truncated: false,
  });
});

Deno.test("a paused platform's skipped and failed events are resent in one call once it is fixed", async () => {
  let tokenValid = false;
  await using meta = mockPlatform((_, request) => {
    if (!tokenValid) {
      return Response.json({ error: { message: "Session expired", code: 190 } }, { status: 401 });
    }
    const data = (request.json as { data: unknown[] }).data;
    return Response.json({ events_received: data.length });
  });
  await using s = await openTestSluice(ENV);
  const id = await connectMeta(s, meta.url);
  await send(s, ["p-1"]);
  await settled(s, ["p-1"], "failed");
  await send(s, ["p-2", "p-3"]);
  await settled(s, ["p-2", "p-3"], "skipped");
  tokenValid = true;
  const fixed = await s.request(
    `/v1/platforms/${id}`,
    jsonInit({ config: { access_token: "EAAB-new-token" } }, s.workspace.admin_key, "PATCH"),
  );
  assert.equal(fixed.status, 200);
  assert.equal((await fixed.json()).health.status, "healthy");
  assert.deepEqual(await retry(s, { platform_id: id, statuses: ["failed", "skipped"] }), {
    matched: 3,
    queued: 3,
    truncated: false,
  });
  await settled(s, ["p-1", "p-2", "p-3"], "delivered");
});

Deno.test("POST /v1/deliveries/retry refuses bad filters naming the field", async () => {
  await using s = await openTestSluice(ENV);
  const bad = await s.request(
    "/v1/deliveries/retry",
    jsonInit({ statuses: ["lost"], start: "yesterday" }, s.workspace.admin_key),
  );
  assert.equal(bad.status, 400);
  const problem = await bad.json();
  assert.deepEqual(problem.errors.map((e: { path: string }) => e.path).sort(), [
    "start",
    "statuses.0",
  ]);
  const unknown = await s.request(
    "/v1/deliveries/retry",
    jsonInit({ platform_id: "dst_nope", statuses: ["failed"] }, s.workspace.admin_key),
  );
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const reader = await s.request("/v1/deliveries/retry", jsonInit({ statuses: ["failed"] }));
  assert.equal(reader.status, 401);
  await reader.body?.cancel();
});

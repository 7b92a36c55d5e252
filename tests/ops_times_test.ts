import assert from "node:assert/strict";
import { jsonInit, openTestSluice } from "./_harness.ts";
import { bearer, expectJson } from "./_http.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { connectMeta, ingest } from "./_observability.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";
import { eventually } from "./_wait.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Field names that hold a point in time. */
const TIME_FIELD = /(_at|_time|_since|^since|_until)$/;

/** Every time field in a JSON answer, with its path (JSON Schemas in the catalogue left out). */
function timeFields(value: unknown, path = ""): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => timeFields(v, `${path}.${i}`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).filter(([key]) => key !== "schema").flatMap(([key, v]) => [
    ...(TIME_FIELD.test(key) ? [[`${path}.${key}`, v] as [string, unknown]] : []),
    ...timeFields(v, `${path}.${key}`),
  ]);
}

function assertIsoTimes(answer: unknown, what: string): string[] {
  const fields = timeFields(answer);
  for (const [path, value] of fields) {
    if (value === null) continue;
    assert.equal(typeof value, "string", `${what} ${path} = ${JSON.stringify(value)}`);
    assert.match(value as string, ISO, `${what} ${path}`);
  }
  return fields.map(([path]) => path);
}

Deno.test("every time in API answers and webhook bodies is ISO 8601, retrying rows' next_attempt_at included", async () => {
  await using meta = mockPlatform(undefined, () => new Response("{}", { status: 500 }));
  await using receiver = webhookReceiver(() => new Response(null, { status: 500 }));
  await using s = await openTestSluice({
    SLUICE_ALLOW_PRIVATE_URLS: "1",
    SLUICE_DELIVERY_RETRY_SCHEDULE: "1h",
    SLUICE_WEBHOOK_RETRY_SCHEDULE: "1h",
  });
  const admin = bearer(s.workspace.admin_key);
  await connectMeta(s, meta.url);
  const hookRes = await s.request(
    "/v1/webhooks",
    jsonInit({ url: receiver.url, events: ["conversion.created"] }, s.workspace.admin_key),
  );
  const hook = await expectJson<{ id: string }>(hookRes, 201);
  const eventTime = Math.floor(Date.now() / 1000) - 60;
  assert.equal(
    await ingest(s, {
      event_id: "t-1",
      event_name: "purchase",
      value: 5,
      currency: "EUR",
      event_time: eventTime,
      action_source: "website",
      page: { url: "https://shop.example/thanks" },
      user_data: { email: "ada@example.com", client_ip: "203.0.113.9", user_agent: "UA" },
    }),
    202,
  );
  const detail = await eventually("the delivery to be retrying", async () => {
    const res = await s.request("/v1/events/t-1", { headers: admin });
    const body = await res.json();
    return body.deliveries?.[0]?.status === "retrying" ? body : undefined;
  });
  const seen = assertIsoTimes(detail, "GET /v1/events/t-1");
  for (
    const path of [
      ".event.event_time",
      ".event.received_at",
      ".handed_off_at",
      ".deliveries.0.next_attempt_at",
      ".deliveries.0.updated_at",
    ]
  ) {
    assert.ok(seen.includes(path), `${path} in ${seen}`);
  }
  assert.equal(detail.event.event_time, new Date(eventTime * 1000).toISOString());
  assert.ok(Date.parse(detail.deliveries[0].next_attempt_at) > Date.now() + 30 * 60_000);

  const webhookDeliveries = await eventually("the webhook to be retrying", async () => {
    const res = await s.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: admin });
    const body = await res.json();
    return body.data?.[0]?.status === "retrying" ? body : undefined;
  });
  assert.ok(assertIsoTimes(webhookDeliveries, "deliveries").includes(".data.0.next_attempt_at"));
  const [sent] = receiver.received;
  assert.equal(sent!.json.data.event_time, new Date(eventTime * 1000).toISOString());
  assert.match(sent!.json.data.received_at, ISO);

  for (
    const path of [
      "/v1/events",
      "/v1/workspace",
      "/v1/api-keys",
      "/v1/platforms",
      "/v1/rules",
      "/v1/webhooks",
      `/v1/webhooks/${hook.id}`,
      "/v1/webhook-events",
    ]
  ) {
    const res = await s.request(path, { headers: admin });
    assertIsoTimes(await expectJson(res, 200), path);
  }
  const rotated = await s.request(`/v1/webhooks/${hook.id}/rotate-secret`, {
    method: "POST",
    headers: admin,
  });
  assertIsoTimes(await rotated.json(), "rotate-secret");
});

Deno.test("GET /openapi.json types every time field of the API as a string", async () => {
  await using s = await openTestSluice();
  const doc = await expectJson<{ components: { schemas: Record<string, unknown> } }>(
    await s.request("/openapi.json"),
    200,
  );
  const offenders: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node !== "object" || node === null) return;
    const properties = (node as { properties?: Record<string, { type?: unknown }> }).properties;
    for (const [name, schema] of Object.entries(properties ?? {})) {
      if (TIME_FIELD.test(name) && (schema.type === "number" || schema.type === "integer")) {
        offenders.push(`${path}.${name}`);
      }
    }
    for (const [key, child] of Object.entries(node)) walk(child, `${path}.${key}`);
  };
  walk(doc.components.schemas, "components.schemas");
  assert.deepEqual(offenders, []);
});

Deno.test("new webhook and webhook delivery ids are typed (wh_, whd_); stored untyped ids still work", async () => {
  await using receiver = webhookReceiver();
  await using s = await openTestSluice({ SLUICE_ALLOW_PRIVATE_URLS: "1" });
  const admin = bearer(s.workspace.admin_key);
  const created = await expectJson<{ id: string }>(
    await s.request("/v1/webhooks", jsonInit({ url: receiver.url }, s.workspace.admin_key)),
    201,
  );
  assert.match(created.id, /^wh_[0-9a-z]{26}$/);
  const ping = await expectJson<{ delivery_id: string; message_id: string }>(
    await s.request(`/v1/webhooks/${created.id}/test`, { method: "POST", headers: admin }),
    200,
  );
  assert.match(ping.delivery_id, /^whd_[0-9a-z]{26}$/);
  assert.match(ping.message_id, /^msg_/);

  // A webhook stored before ids were typed keeps its id and answers as before.
  const legacyId = "01JD2Q7K1X9V3C8M5T4R6N2B0A";
  const stored = (await s.rt.kv.get<Record<string, unknown>>(["hook", s.workspace.id, created.id]))
    .value!;
  await s.rt.kv.set(["hook", s.workspace.id, legacyId], { ...stored, id: legacyId });
  const legacy = await expectJson<{ id: string }>(
    await s.request(`/v1/webhooks/${legacyId}`, { headers: admin }),
    200,
  );
  assert.equal(legacy.id, legacyId);
  const legacyPing = await s.request(`/v1/webhooks/${legacyId}/test`, {
    method: "POST",
    headers: admin,
  });
  assert.equal(legacyPing.status, 200);
  await legacyPing.body?.cancel();
});

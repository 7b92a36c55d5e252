import assert from "node:assert/strict";
import { configureLog } from "../lib/log.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import {
  bearer,
  type EventPageJson,
  expectJson,
  expectProblem,
  jsonWith,
  segmentBasic,
} from "./_http.ts";

/** Runs `fn` with console.error captured; returns what it printed. */
async function capturingErrors(fn: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const before = configureLog({
    sink: (level, line) => {
      if (level === "error") printed.push(line);
    },
  });
  try {
    await fn();
  } finally {
    configureLog(before);
  }
  return printed;
}

/** Every KV key the runtime reads (get, getMany, list prefix) while `fn` runs. */
async function kvReadsDuring(s: TestSluice, fn: () => Promise<void>): Promise<Deno.KvKey[]> {
  const kv = s.rt.kv;
  const read = { get: kv.get.bind(kv), getMany: kv.getMany.bind(kv), list: kv.list.bind(kv) };
  const keys: Deno.KvKey[] = [];
  Object.assign(kv, {
    get(key: Deno.KvKey) {
      keys.push(key);
      return read.get(key);
    },
    getMany(list: Deno.KvKey[]) {
      keys.push(...list);
      return read.getMany(list);
    },
    list(selector: Deno.KvListSelector, options?: Deno.KvListOptions) {
      if ("prefix" in selector) keys.push(selector.prefix);
      return read.list(selector, options);
    },
  });
  try {
    await fn();
  } finally {
    for (const name of Object.keys(read)) Reflect.deleteProperty(kv, name);
  }
  return keys;
}

Deno.test("management JSON bodies keep their 415, 413 and 400 answers, and unknown fields stay refused", async () => {
  await using s = await openTestSluice();
  const admin = s.workspace.admin_key;
  const post = (body: string, type = "application/json") =>
    s.request("/v1/rules", {
      method: "POST",
      headers: { ...bearer(admin), "content-type": type },
      body,
    });
  const rule = { name: "drop tests", action: { type: "drop" } };
  await expectProblem(await post(JSON.stringify(rule), "text/plain"), 415);
  await expectProblem(
    await s.request("/v1/rules", { method: "POST", headers: bearer(admin) }),
    415,
  );
  await expectProblem(await post(JSON.stringify({ ...rule, name: "x".repeat(70_000) })), 413);
  await expectProblem(await post("{"), 400);
  await expectProblem(await post(""), 400);
  await expectProblem(await post(JSON.stringify({ ...rule, colour: "blue" })), 400, [""]);
  await expectProblem(
    await post(JSON.stringify({ name: "", action: { type: "send" } })),
    400,
    ["name", "action.destinations"],
  );
  // Credentials come first: no key is 401 whatever the body.
  const anonymous = await s.request("/v1/rules", { method: "POST", body: "{" });
  await expectProblem(anonymous, 401);
  assert.deepEqual(await s.rt.rules.list(s.workspace.id), []);
});

Deno.test("an unexpected error on a management route answers 500 quoting the trace id, and logs method, route and trace id only", async () => {
  await using s = await openTestSluice();
  s.rt.events.getByEventId = () => Promise.reject(new Error("KV is down"));
  let problem: { detail: string } | undefined;
  const printed = await capturingErrors(async () => {
    problem = await expectProblem(
      await s.request("/v1/events/order-7?email=ada%40example.com", {
        headers: bearer(s.workspace.admin_key),
      }),
      500,
    );
  });
  const traceId = /trace ([0-9a-f]+)/.exec(problem?.detail ?? "")?.[1];
  assert.ok(traceId, `the detail quotes the trace id: ${problem?.detail}`);
  assert.equal(printed.length, 1, printed.join("\n"));
  const line = JSON.parse(printed[0]!);
  assert.equal(line.msg, "Unhandled error");
  assert.equal(line.method, "GET");
  assert.equal(line.route, "/v1/events/:event_id");
  assert.equal(line.trace_id, traceId);
  assert.match(line.error, /KV is down/);
  assert.ok(!printed[0]!.includes("ada"), "the query string is not logged");
  assert.ok(!printed[0]!.includes("order-7"), "the path (its id) is not logged");
});

Deno.test("a storage failure on an ingest route answers 503 with Retry-After so the sender retries", async () => {
  await using s = await openTestSluice();
  s.rt.ingestor.ingest = () => Promise.reject(new Error("KV is down"));
  const key = s.workspace.ingest_key;
  const sends: [string, RequestInit][] = [
    [
      "/v1/events",
      jsonInit({ event_name: "lead", user_data: { email: "ada@example.com" } }, key),
    ],
    ["/v1/track", jsonWith({ event: "Lead", messageId: "m-1" }, segmentBasic(key))],
    [`/collect/hook?k=${key}&event=lead`, {}],
  ];
  const printed = await capturingErrors(async () => {
    for (const [path, init] of sends) {
      const res = await s.request(path, init);
      assert.equal(res.headers.get("retry-after"), "5", path);
      await expectProblem(res, 503);
    }
  });
  assert.equal(printed.length, sends.length);
  for (const line of printed) assert.ok(!line.includes("ada@example.com"), line);
});

Deno.test("over-long ids in every id path parameter answer 404 before KV is read", async () => {
  await using s = await openTestSluice();
  const admin = bearer(s.workspace.admin_key);
  const hook = await expectJson<{ id: string }>(
    await s.request(
      "/v1/webhooks",
      jsonInit({ url: "https://93.184.215.14/x" }, s.workspace.admin_key),
    ),
    201,
  );
  const long = "i".repeat(2_100);
  const longEvent = "e".repeat(129);
  const requests: [string, string][] = [
    ["GET", `/v1/platforms/${long}`],
    ["PATCH", `/v1/platforms/${long}`],
    ["DELETE", `/v1/platforms/${long}`],
    ["POST", `/v1/platforms/${long}/test`],
    ["GET", `/v1/rules/${long}`],
    ["PUT", `/v1/rules/${long}`],
    ["DELETE", `/v1/rules/${long}`],
    ["DELETE", `/v1/api-keys/${long}`],
    ["GET", `/v1/webhooks/${long}`],
    ["PATCH", `/v1/webhooks/${long}`],
    ["DELETE", `/v1/webhooks/${long}`],
    ["POST", `/v1/webhooks/${long}/rotate-secret`],
    ["POST", `/v1/webhooks/${long}/test`],
    ["GET", `/v1/webhooks/${long}/deliveries`],
    ["GET", `/v1/webhooks/${hook.id}/deliveries/${long}`],
    ["POST", `/v1/webhooks/${hook.id}/deliveries/${long}/redeliver`],
    ["GET", `/v1/events/${longEvent}`],
    ["POST", `/v1/events/${longEvent}/replay`],
    ["POST", `/v1/events/${longEvent}/retry-failed`],
  ];
  const bodies: Record<string, unknown> = {
    PATCH: { name: "x" },
    PUT: { name: "x", action: { type: "drop" } },
  };
  const keys = await kvReadsDuring(s, async () => {
    for (const [method, path] of requests) {
      const body = bodies[method];
      const init = body === undefined
        ? { method, headers: admin }
        : jsonInit(body, s.workspace.admin_key, method);
      const problem = await expectProblem(await s.request(path, init), 404);
      assert.match(problem.detail, /longer than any id/, `${method} ${path.slice(0, 40)}`);
    }
  });
  const tooLong = keys.filter((key) => key.some((part) => String(part).length > 128));
  assert.deepEqual(tooLong, []);
  // The longest event id that can be stored is still looked up: 404 because it is unknown.
  const problem = await expectProblem(
    await s.request(`/v1/events/${"e".repeat(128)}`, { headers: admin }),
    404,
  );
  assert.doesNotMatch(problem.detail, /longer than any id/);
});

Deno.test("a cursor the list did not issue answers 400 naming cursor, even one KV would read", async () => {
  await using s = await openTestSluice();
  const admin = bearer(s.workspace.admin_key);
  for (const eventId of ["c-1", "c-2", "c-3"]) {
    await expectJson(
      await s.request(
        "/v1/events",
        jsonInit({ event_id: eventId, event_name: "lead" }, s.workspace.ingest_key),
      ),
      202,
    );
  }
  const first = await expectJson<EventPageJson>(
    await s.request("/v1/events?limit=1", { headers: admin }),
    200,
  );
  assert.ok(first.next_cursor);
  const hook = await expectJson<{ id: string }>(
    await s.request(
      "/v1/webhooks",
      jsonInit({ url: "https://93.184.215.14/x" }, s.workspace.admin_key),
    ),
    201,
  );
  const other = await s.rt.workspaces.create({ name: "Other" });
  const cursor = encodeURIComponent(first.next_cursor);
  const refused: [string, Record<string, string>][] = [
    // Base64 KV reads as a position (an empty page, not an error).
    ["/v1/events?cursor=AAAA", admin],
    ["/v1/events?cursor=AjAxSjMA", admin],
    ["/v1/events?cursor=garbage", admin],
    [`/v1/events?cursor=${cursor.slice(0, -2)}`, admin],
    // A real cursor, from another list: another workspace, another endpoint.
    [`/v1/events?cursor=${cursor}`, bearer(other.adminKey.secret)],
    [`/v1/webhooks/${hook.id}/deliveries?cursor=${cursor}`, admin],
    [`/v1/webhooks/${hook.id}/deliveries?cursor=AAAA`, admin],
  ];
  for (const [path, headers] of refused) {
    await expectProblem(await s.request(path, { headers }), 400, ["cursor"]);
  }
  const rest = await expectJson<EventPageJson>(
    await s.request(`/v1/events?cursor=${cursor}`, { headers: admin }),
    200,
  );
  assert.deepEqual(rest.data.map((e) => e.event_id), ["c-2", "c-1"]);
});

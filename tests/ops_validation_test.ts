import assert from "node:assert/strict";
import { itemSchema, nativeEventSchema, userDataSchema } from "../core/event.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, type FieldErrorJson, type ProblemJson, segmentBasic } from "./_http.ts";

/** zod's own words, which name no expectation ("Invalid input") or read as code ("Too big: expected string to have <=100 characters"). */
const ZOD_DEFAULT =
  /^(Invalid (input|option|string|number|key|value)|Too (big|small)|Unrecognized key|Invalid discriminator)\b/;

function assertHelpful(errors: readonly FieldErrorJson[], context: string): void {
  for (const { path, message } of errors) {
    assert.doesNotMatch(message, ZOD_DEFAULT, `${context} ${path}`);
    assert.ok(message.length >= 12, `${context} ${path}: "${message}" says what it wanted`);
  }
}

/** Values of the wrong kind for any field: objects for scalars, scalars for objects, extremes. */
const BAD_VALUES: unknown[] = [{ nested: true }, 5, true, null, [], "", "x".repeat(5000), -1];

/** Every native field, nested ones too, as a path and the event that sets it to `value`. */
function fieldCases(): { path: string; event: (value: unknown) => Record<string, unknown> }[] {
  const cases: { path: string; event: (value: unknown) => Record<string, unknown> }[] = [];
  const base = { event_name: "purchase" };
  for (const field of Object.keys(nativeEventSchema.shape)) {
    cases.push({ path: field, event: (value) => ({ ...base, [field]: value }) });
  }
  for (const field of Object.keys(userDataSchema.shape)) {
    cases.push({
      path: `user_data.${field}`,
      event: (value) => ({ ...base, user_data: { [field]: value } }),
    });
  }
  for (const field of ["fbp", "fbc"]) {
    cases.push({
      path: `user_data.browser_ids.${field}`,
      event: (value) => ({ ...base, user_data: { browser_ids: { [field]: value } } }),
    });
  }
  cases.push({
    path: "user_data.click_ids.gclid",
    event: (value) => ({ ...base, user_data: { click_ids: { gclid: value } } }),
  });
  for (const field of Object.keys(itemSchema.shape)) {
    cases.push({
      path: `items.0.${field}`,
      event: (value) => ({ ...base, items: [{ id: "sku", [field]: value }] }),
    });
  }
  for (const field of ["url", "path", "referrer", "title"]) {
    cases.push({
      path: `page.${field}`,
      event: (value) => ({ ...base, page: { [field]: value } }),
    });
  }
  for (const field of ["ad_user_data", "ad_personalization", "analytics_storage"]) {
    cases.push({
      path: `consent.${field}`,
      event: (value) => ({ ...base, consent: { [field]: value } }),
    });
  }
  return cases;
}

async function problemOf(res: Response): Promise<ProblemJson> {
  return JSON.parse(await res.text()) as ProblemJson;
}

Deno.test("POST /v1/events: a bad value in any native field is answered with what the field must be", async () => {
  await using s = await openTestSluice();
  const cases = fieldCases();
  assert.ok(cases.length > 40, `${cases.length} fields`);
  for (const { path, event } of cases) {
    let refused = 0;
    for (const value of BAD_VALUES) {
      const res = await s.request("/v1/events", jsonInit(event(value), s.workspace.ingest_key));
      if (res.status === 202) {
        await res.body?.cancel();
        continue;
      }
      assert.equal(res.status, 400, `${path} = ${JSON.stringify(value)?.slice(0, 20)}`);
      const problem = await problemOf(res);
      assert.ok(problem.errors?.length, `${path}: ${JSON.stringify(problem)}`);
      assertHelpful(problem.errors!, `${path} = ${JSON.stringify(value)?.slice(0, 20)}`);
      if (problem.errors!.some((e) => e.path === path || e.path.startsWith(`${path}.`))) refused++;
    }
    assert.ok(refused > 0, `some bad value of ${path} is refused naming it`);
  }
});

Deno.test('the value the new user sent ({value: "abc"}) is answered with what value must be', async () => {
  await using s = await openTestSluice();
  const res = await s.request(
    "/v1/events",
    jsonInit({ event_name: "purchase", value: "abc", event_id: {} }, s.workspace.ingest_key),
  );
  const problem = await problemOf(res);
  assert.equal(res.status, 400);
  assert.deepEqual(problem.errors, [
    { path: "event_id", message: "must be a string or a number" },
    { path: "value", message: 'must be a number; "abc" is not one' },
  ]);
});

/** Management requests with bad fields, and the paths they must name. */
function managementCases(s: TestSluice): [string, RequestInit][] {
  const admin = s.workspace.admin_key;
  return [
    ["/v1/platforms", jsonInit({ type: "nope", name: 5, config: [] }, admin)],
    ["/v1/platforms", jsonInit({ type: "meta", name: "M", config: { pixel_id: 5 } }, admin)],
    ["/v1/rules", jsonInit({ name: "", actions: [{ type: "nope" }], priority: "high" }, admin)],
    [
      "/v1/rules",
      jsonInit({ name: "r", actions: [{ type: "send" }], when: { value_min: "x" } }, admin),
    ],
    ["/v1/webhooks", jsonInit({ url: "not a url", events: ["nope"], enabled: "yes" }, admin)],
    ["/v1/api-keys", jsonInit({ name: "", scopes: ["root"] }, admin)],
    [
      "/v1/workspace",
      jsonInit({ settings: { retention_days: 0, dedup_window_seconds: "1" } }, admin, "PATCH"),
    ],
    ["/v1/events?limit=0&status=lost&start=yesterday", { headers: bearer(admin) }],
    ["/v1/deliveries/retry", jsonInit({ statuses: ["lost"], dry_run: "yes" }, admin)],
    ["/v1/erasure", jsonInit({ email: 5 }, admin)],
    ["/v1/track", {
      method: "POST",
      headers: { "content-type": "application/json", ...segmentBasic(s.workspace.ingest_key) },
      body: JSON.stringify({ type: "track", event: "x", userId: {}, timestamp: [] }),
    }],
  ];
}

Deno.test("management and Segment validation errors say what each field must be", async () => {
  await using s = await openTestSluice();
  for (const [path, init] of managementCases(s)) {
    const res = await s.request(path, init);
    if (res.status === 404) {
      // A route another branch adds (e.g. /v1/deliveries/retry) is not here yet.
      await res.body?.cancel();
      continue;
    }
    const problem = await problemOf(res);
    assert.equal(res.status, 400, `${path}: ${JSON.stringify(problem)}`);
    assert.ok(problem.errors?.length, `${path}: ${JSON.stringify(problem)}`);
    assertHelpful(problem.errors!, path);
  }
});

import assert from "node:assert/strict";
import { mapEvents } from "./map_events.ts";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import { sha256Hex } from "../core/digest.ts";
import { meta, metaActionSource, metaExternalId, metaSettings, metaUserData } from "./meta.ts";

const NOW = 1_767_225_600_000;
const settings = metaSettings.parse({ pixel_id: "123", access_token: "tok" });

Deno.test("metaSettings applies the documented defaults and rejects bad values", () => {
  assert.equal(settings.api_version, "v25.0");
  assert.equal(settings.endpoint, "https://graph.facebook.com");
  assert.equal(metaSettings.safeParse({ pixel_id: "abc", access_token: "t" }).success, false);
  assert.equal(metaSettings.safeParse({ pixel_id: "1", access_token: "" }).success, false);
  assert.equal(
    metaSettings.safeParse({ pixel_id: "1", access_token: "t", api_version: "25" }).success,
    false,
  );
});

Deno.test("meta.map() splits more than 1,000 events into several requests", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests, skipped } = meta.map(events, settings, { now: NOW });
  assert.deepEqual(skipped, []);
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
  assert.equal(requests[2]?.eventIndexes[0], 2000);
});

Deno.test("meta.map() maps canonical names to Meta standard events, custom names unchanged", () => {
  const names = ["initiate_checkout", "complete_registration", "add_payment_info", "my_custom"];
  const { requests } = meta.map(
    names.map((event_name) => testEvent({ event_name })),
    settings,
    { now: NOW },
  );
  const body = JSON.parse(requests[0]?.body ?? "{}");
  assert.deepEqual(
    body.data.map((e: { event_name: string }) => e.event_name),
    ["InitiateCheckout", "CompleteRegistration", "AddPaymentInfo", "my_custom"],
  );
});

Deno.test("meta.map() skips events with too little customer information", () => {
  const { requests, skipped } = meta.map(
    [
      testEvent({ user_data: {} }),
      testEvent({ user_data: { first_name: "Ada", gender: "f" } }),
      testEvent({ user_data: { country: "US", city: "Paris", user_agent: "UA" } }),
    ],
    settings,
    { now: NOW },
  );
  assert.equal(requests.length, 0);
  assert.deepEqual(skipped.map((s) => s.index), [0, 1, 2]);
});

Deno.test("meta events: physical_store is kept up to 62 days, others 7", () => {
  const old = NOW - 30 * 86_400_000;
  const { requests, skipped } = mapEvents(
    meta,
    [
      testEvent({ event_time: old, action_source: "physical_store" }),
      testEvent({ event_time: old }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(requests[0]?.eventIndexes, [0]);
  assert.equal(skipped[0]?.index, 1);
});

Deno.test("metaExternalId() trims and lowercases, as Meta's SDK does", () => {
  assert.equal(metaExternalId(" CUST-42 "), "cust-42");
  assert.equal(metaExternalId("   "), undefined);
  const user = metaUserData({ customer_id: "CUST-42", external_ids: ["cust-42", "Crm-7"] }, 0);
  assert.deepEqual(user.external_id, [sha256Hex("cust-42"), sha256Hex("crm-7")]);
});

Deno.test("metaUserData() passes SHA-256 digests through and hashes 32-hex ids", () => {
  const digest = sha256Hex("ada@example.com");
  const user = metaUserData({
    email: digest.toUpperCase(),
    customer_id: "6BA7B8109DAD11D180B400C04FD430C8",
  }, 0);
  assert.deepEqual(user.em, [digest]);
  assert.deepEqual(user.external_id, [sha256Hex("6ba7b8109dad11d180b400c04fd430c8")]);
});

Deno.test("metaActionSource() follows the documented rule", () => {
  assert.equal(metaActionSource(testEvent({ action_source: "email" })), "email");
  assert.equal(metaActionSource(testEvent({ action_source: "WEB" })), "website");
  assert.equal(metaActionSource(testEvent({ action_source: "offline" })), "physical_store");
  assert.equal(metaActionSource(testEvent({ page: { url: "https://x.example/" } })), "website");
  assert.equal(metaActionSource(testEvent({ source: "web" })), "website");
  assert.equal(metaActionSource(testEvent({ dialect: "browser" })), "website");
  assert.equal(metaActionSource(testEvent({ source: "app" })), "app");
  assert.equal(metaActionSource(testEvent({ source: "crm" })), "system_generated");
  assert.equal(metaActionSource(testEvent({ source: "server" })), "other");
});

Deno.test("outcomeOf(meta, ) keeps events_received and fbtrace_id on 2xx", () => {
  assert.deepEqual(
    outcomeOf(meta, answer(200, { events_received: 2, messages: [], fbtrace_id: "AbC" })),
    { kind: "delivered", detail: "events_received=2 fbtrace_id=AbC" },
  );
  assert.deepEqual(outcomeOf(meta, answer(200, "")), { kind: "delivered" });
});

Deno.test("outcomeOf(meta, ) retries 429 honouring Retry-After", () => {
  const result = outcomeOf(meta, answer(429, "slow down", { "retry-after": "30" }));
  assert.equal(result.kind, "retry");
  assert.equal(result.kind === "retry" && result.afterMs, 30_000);
  const dated = outcomeOf(
    meta,
    answer(429, "", {
      "retry-after": "Wed, 31 Dec 2025 00:01:00 GMT",
      date: "Wed, 31 Dec 2025 00:00:00 GMT",
    }),
  );
  assert.equal(dated.kind === "retry" && dated.afterMs, 60_000);
});

Deno.test("outcomeOf(meta, ) retries 5xx and Meta's transient and throttling codes", () => {
  assert.equal(outcomeOf(meta, answer(500, "oops")).kind, "retry");
  assert.equal(outcomeOf(meta, answer(503, "")).kind, "retry");
  for (const code of [1, 2, 4, 17, 341, 368, 80003]) {
    const result = outcomeOf(meta, answer(400, { error: { message: "busy", code } }));
    assert.equal(result.kind, "retry", `code ${code}`);
  }
  assert.equal(
    outcomeOf(meta, answer(400, { error: { message: "x", code: 999, is_transient: true } })).kind,
    "retry",
  );
});

Deno.test("outcomeOf(meta, ) reports code 190, code 200 and 401/403 as auth_failed", () => {
  const expired = outcomeOf(
    meta,
    answer(400, {
      error: {
        message: "Error validating access token: Session has expired",
        type: "OAuthException",
        code: 190,
        error_subcode: 463,
        fbtrace_id: "T1",
      },
    }),
  );
  assert.deepEqual(expired, {
    kind: "auth_failed",
    reason:
      "Meta error 190/463: Error validating access token: Session has expired (fbtrace_id T1)",
  });
  assert.equal(
    outcomeOf(meta, answer(403, { error: { message: "Permissions error", code: 200 } })).kind,
    "auth_failed",
  );
  assert.equal(outcomeOf(meta, answer(401, "")).kind, "auth_failed");
  assert.equal(outcomeOf(meta, answer(403, "forbidden")).kind, "auth_failed");
});

Deno.test("outcomeOf(meta, ) fails code 100 keeping error_user_msg, else message", () => {
  assert.deepEqual(
    outcomeOf(
      meta,
      answer(400, {
        error: {
          message: "Invalid parameter",
          type: "OAuthException",
          code: 100,
          error_subcode: 2804003,
          error_user_title: "Event Timestamp Too Old",
          error_user_msg: "The timestamp for this event is too far in the past.",
        },
      }),
    ),
    {
      kind: "failed",
      reason: "Meta error 100/2804003: The timestamp for this event is too far in the past.",
    },
  );
  assert.deepEqual(
    outcomeOf(meta, answer(400, { error: { message: "Invalid parameter", code: 100 } })),
    { kind: "failed", reason: "Meta error 100: Invalid parameter" },
  );
  assert.equal(outcomeOf(meta, answer(404, "not found")).kind, "failed");
});

Deno.test("meta.map() in test mode sends nothing without a test_event_code", () => {
  const { requests, skipped } = meta.map([testEvent()], settings, { now: NOW, test: true });
  assert.equal(requests.length, 0);
  assert.match(skipped[0]?.reason ?? "", /test_event_code/);
  const withCode = metaSettings.parse({ ...settings, test_event_code: "TEST1" });
  const sent = meta.map([testEvent()], withCode, { now: NOW, test: true }).requests;
  assert.equal(JSON.parse(sent[0]?.body ?? "{}").test_event_code, "TEST1");
});

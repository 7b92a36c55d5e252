import assert from "node:assert/strict";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import { ga4, ga4ClientId, ga4EventName, ga4SessionId, ga4Settings } from "./ga4.ts";

const NOW = 1_767_225_600_000;
const settings = ga4Settings.parse({ measurement_id: "G-TEST123", api_secret: "sec" });

Deno.test("ga4Settings defaults the endpoint and checks the measurement id", () => {
  assert.equal(settings.endpoint, "https://www.google-analytics.com");
  assert.equal(ga4Settings.safeParse({ measurement_id: "123", api_secret: "x" }).success, false);
});

Deno.test("ga4ClientId() reads the _ga cookie, then anonymous_id, then customer_id", () => {
  assert.equal(ga4ClientId({ browser_ids: { ga: "GA1.1.123456.7654321" } }), "123456.7654321");
  assert.equal(ga4ClientId({ browser_ids: { ga: "GA1.2.99.88" }, anonymous_id: "a" }), "99.88");
  assert.equal(ga4ClientId({ anonymous_id: "anon-1", customer_id: "c" }), "anon-1");
  assert.match(ga4ClientId({ customer_id: "c-1" }) ?? "", /^\d+\.\d+$/);
  assert.equal(ga4ClientId({ customer_id: "c-1" }), ga4ClientId({ customer_id: "c-1" }));
  assert.equal(ga4ClientId({}), undefined);
});

Deno.test("ga4SessionId() reads bare numbers and GS1/GS2 cookie values", () => {
  assert.equal(ga4SessionId("1767225000"), "1767225000");
  assert.equal(ga4SessionId("GS1.1.1767225000.3.1.1767225100.0.0.0"), "1767225000");
  assert.equal(ga4SessionId("GS2.1.s1767225000$o3$g1$t1767225100"), "1767225000");
  assert.equal(ga4SessionId("junk"), undefined);
  assert.equal(ga4SessionId(undefined), undefined);
  assert.equal(ga4SessionId("GA1.1.123.456"), undefined);
  assert.equal(ga4SessionId("GS2.1.o1$s2"), undefined);
  assert.equal(ga4SessionId("GS1.1.12"), undefined);
});

Deno.test("ga4EventName() maps canonical names and refuses reserved or invalid ones", () => {
  assert.deepEqual(ga4EventName("initiate_checkout"), { name: "begin_checkout" });
  assert.deepEqual(ga4EventName("lead"), { name: "generate_lead" });
  assert.deepEqual(ga4EventName("complete_registration"), { name: "sign_up" });
  assert.deepEqual(ga4EventName("view_content"), { name: "view_item" });
  assert.deepEqual(ga4EventName("add_to_wishlist"), { name: "add_to_wishlist" });
  assert.deepEqual(ga4EventName("my_event"), { name: "my_event" });
  for (const bad of ["session_start", "first_visit", "ad_click", "app_open", "_x", "ga_x"]) {
    assert.ok("error" in ga4EventName(bad), bad);
  }
  assert.ok("error" in ga4EventName("has space"));
  assert.ok("error" in ga4EventName("x".repeat(41)));
});

Deno.test("ga4.map() sends at most 25 events per request and one client per request", () => {
  const events = [
    ...Array.from({ length: 30 }, () => testEvent({ user_data: { anonymous_id: "a" } })),
    testEvent({ user_data: { anonymous_id: "b" } }),
  ];
  const { requests } = ga4.map(events, settings, { now: NOW });
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [25, 5, 1]);
  assert.deepEqual(
    requests.map((r) => JSON.parse(r.body ?? "{}").client_id),
    ["a", "a", "b"],
  );
});

Deno.test("outcomeOf(ga4, ) delivers 2xx and retries 5xx and 429", () => {
  assert.deepEqual(outcomeOf(ga4, answer(204)), { kind: "delivered" });
  assert.deepEqual(outcomeOf(ga4, answer(200, { validationMessages: [] })), { kind: "delivered" });
  assert.equal(outcomeOf(ga4, answer(500, "err")).kind, "retry");
  const limited = outcomeOf(ga4, answer(429, "", { "retry-after": "5" }));
  assert.equal(limited.kind === "retry" && limited.afterMs, 5000);
});

Deno.test("outcomeOf(ga4, ) fails other statuses and debug validation messages", () => {
  assert.equal(outcomeOf(ga4, answer(400, "bad")).kind, "failed");
  assert.equal(outcomeOf(ga4, answer(403, "forbidden")).kind, "failed");
  assert.deepEqual(
    outcomeOf(
      ga4,
      answer(200, {
        validationMessages: [{
          fieldPath: "events",
          description: "Event at index: [0] has invalid name [_badEventName].",
          validationCode: "NAME_INVALID",
        }],
      }),
    ),
    {
      kind: "failed",
      reason:
        "GA4 validation: NAME_INVALID events Event at index: [0] has invalid name [_badEventName].",
    },
  );
});

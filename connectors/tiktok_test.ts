import assert from "node:assert/strict";
import { answer, testEvent } from "./_test_events.ts";
import { mapEvents } from "./map_events.ts";
import {
  namedRows,
  tiktok,
  tiktokClassify,
  tiktokEventName,
  tiktokSettings,
  tiktokUser,
} from "./tiktok.ts";
import type { OutboundRequest, PlatformResponse } from "./types.ts";

const NOW = 1_767_225_600_000;
const settings = tiktokSettings.parse({ pixel_code: "CAB1234567890ABCDEFG", access_token: "tok" });

function bodyOf(request: OutboundRequest | undefined): {
  event_source: string;
  event_source_id: string;
  test_event_code?: string;
  data: Record<string, unknown>[];
} {
  return JSON.parse(request?.body ?? "{}");
}

/** A request carrying `count` events, for classify() tests. */
function carrying(count: number): OutboundRequest {
  return {
    method: "POST",
    url: "",
    headers: {},
    eventIndexes: Array.from({ length: count }, (_, i) => i),
  };
}

function classifyOne(response: PlatformResponse) {
  return tiktokClassify(response, carrying(1)).outcome;
}

Deno.test("tiktokSettings applies the defaults and refuses bad values", () => {
  assert.equal(settings.endpoint, "https://business-api.tiktok.com");
  assert.equal(settings.event_source, "web");
  assert.equal(tiktokSettings.safeParse({ pixel_code: "C4 A", access_token: "t" }).success, false);
  assert.equal(tiktokSettings.safeParse({ pixel_code: "CAB123", access_token: "" }).success, false);
  assert.equal(
    tiktokSettings.safeParse({ pixel_code: "CAB123", access_token: "t", event_source: "crm" })
      .success,
    false,
  );
});

Deno.test("tiktok.map() posts to /open_api/v1.3/event/track/ with the Access-Token header", () => {
  const { requests } = tiktok.map([testEvent()], settings, { now: NOW });
  assert.equal(requests[0]?.url, "https://business-api.tiktok.com/open_api/v1.3/event/track/");
  assert.equal(requests[0]?.headers["access-token"], "tok");
  const body = bodyOf(requests[0]);
  assert.equal(body.event_source, "web");
  assert.equal(body.event_source_id, "CAB1234567890ABCDEFG");
  assert.equal(body.data[0]?.event_time, 1_767_225_600, "seconds");
  assert.equal(body.data[0]?.event_id, "evt-1", "the dedup key is the event id");
});

Deno.test("tiktok.map() splits more than 1,000 events into several requests", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests } = tiktok.map(events, settings, { now: NOW });
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
});

Deno.test("tiktok.map() sends each event alone while a test_event_code is set", () => {
  const withCode = tiktokSettings.parse({ ...settings, test_event_code: "TEST04030" });
  const events = [testEvent({ event_id: "a" }), testEvent({ event_id: "b" })];
  const { requests } = tiktok.map(events, withCode, { now: NOW });
  assert.deepEqual(requests.map((r) => r.eventIndexes), [[0], [1]]);
  assert.equal(bodyOf(requests[1]).test_event_code, "TEST04030");
});

Deno.test("tiktok.map() in test mode sends nothing without a test_event_code", () => {
  const { requests, skipped } = tiktok.map([testEvent()], settings, { now: NOW, test: true });
  assert.equal(requests.length, 0);
  assert.match(skipped[0]?.reason ?? "", /test_event_code/);
});

Deno.test("tiktokEventName() maps canonical names, keeps standard names as sent, custom names unchanged", () => {
  const name = (over: Parameters<typeof testEvent>[0], source: "web" | "offline" = "web") =>
    tiktokEventName(testEvent(over), source);
  assert.deepEqual(name({ event_name: "initiate_checkout" }), { name: "InitiateCheckout" });
  assert.deepEqual(name({ event_name: "purchase" }), { name: "Purchase" });
  assert.deepEqual(
    name({ event_name: "purchase", original_event_name: "CompletePayment" }),
    { name: "CompletePayment" },
  );
  assert.deepEqual(
    name({ event_name: "purchase", original_event_name: "Order Completed" }),
    { name: "Purchase" },
  );
  // A rule renamed the event: the name as sent no longer applies.
  assert.deepEqual(
    name({ event_name: "big_order", original_event_name: "CompletePayment" }),
    { name: "big_order" },
  );
  assert.deepEqual(name({ event_name: "ClickButton" }), { name: "ClickButton" });
  assert.deepEqual(name({ event_name: "page_view" }), { name: "PageView" });
  assert.deepEqual(name({ event_name: "quiz_completed" }), { name: "quiz_completed" });
});

Deno.test("tiktokEventName() gives offline event sets their own names and nothing custom", () => {
  const offline = (over: Parameters<typeof testEvent>[0]) =>
    tiktokEventName(testEvent(over), "offline");
  assert.deepEqual(offline({ event_name: "purchase" }), { name: "CompletePayment" });
  assert.deepEqual(
    offline({ event_name: "purchase", original_event_name: "Purchase" }),
    { name: "CompletePayment" },
  );
  assert.deepEqual(offline({ event_name: "lead" }), { name: "SubmitForm" });
  assert.ok("error" in offline({ event_name: "start_trial" }));
  assert.ok("error" in offline({ event_name: "quiz_completed" }));
});

Deno.test("tiktokUser() hashes identifiers, keeps location raw and sends web ids only on web", () => {
  const user = {
    email: "Ada@Example.com",
    phone: "(650) 555-1212",
    country: "US",
    state: "California",
    city: "Menlo Park",
    zip: "94025-1234",
    customer_id: "cust-42",
    client_ip: "203.0.113.9",
    user_agent: "UA",
    click_ids: { ttclid: "E.C.P.abc" },
    browser_ids: { ttp: "ttp-1" },
  };
  const web = tiktokUser(user, "web");
  assert.deepEqual(web.phone, [
    "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8",
  ], "+16505551212");
  assert.equal(web.city, "menlopark");
  assert.equal(web.state, "ca");
  assert.equal(web.country, "us");
  assert.equal(web.ttclid, "E.C.P.abc");
  assert.equal(web.ttp, "ttp-1");
  assert.equal(web.ip, "203.0.113.9");
  assert.deepEqual(Object.keys(tiktokUser(user, "offline")), ["email", "phone"]);
});

Deno.test("tiktok.map() flags Limited Data Use on web when ad_personalization is denied", () => {
  const events = [
    testEvent({ consent: { ad_user_data: "granted", ad_personalization: "denied" } }),
    testEvent({ consent: { ad_user_data: "granted", ad_personalization: "granted" } }),
  ];
  const data = bodyOf(tiktok.map(events, settings, { now: NOW }).requests[0]).data;
  assert.equal(data[0]?.limited_data_use, true);
  assert.equal(data[1]?.limited_data_use, undefined);
});

Deno.test("tiktok events older than 28 days are skipped before mapping", () => {
  const { requests, skipped } = mapEvents(
    tiktok,
    [
      testEvent({ event_time: NOW - 27 * 86_400_000 }),
      testEvent({ event_time: NOW - 29 * 86_400_000 }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(requests[0]?.eventIndexes, [0]);
  assert.deepEqual(skipped, [{
    index: 1,
    reason: "event is older than TikTok Events API accepts (28 days)",
  }]);
});

Deno.test("namedRows() reads the rows TikTok names in a message", () => {
  assert.deepEqual(namedRows("data.1.user.email: Not a valid SHA256 value", 3), [1]);
  assert.deepEqual(namedRows("data[2].event_time: too old; data[0].event: missing", 3), [2, 0]);
  assert.deepEqual(namedRows("Batch.0.properties.contents.0.content_id: Not a valid string", 2), [
    0,
  ]);
  assert.deepEqual(namedRows("data.7.event: out of range", 3), []);
  assert.deepEqual(namedRows("Invalid access token", 3), []);
});

Deno.test("tiktokClassify() delivers code 0 and keeps the request_id", () => {
  assert.deepEqual(
    classifyOne(
      answer(200, { code: 0, message: "OK", request_id: "2025062217554691FA1E", data: {} }),
    ),
    { kind: "delivered", detail: "request_id=2025062217554691FA1E" },
  );
});

Deno.test("tiktokClassify() retries 40100 (throttled inside HTTP 200), 40700 and 5xxxx", () => {
  const throttled = classifyOne(
    answer(200, { code: 40100, message: "Too many requests. Please retry in some time." }),
  );
  assert.deepEqual(throttled, {
    kind: "retry",
    reason: "TikTok code 40100: Too many requests. Please retry in some time.",
  });
  const later = classifyOne(answer(200, { code: 40100, message: "slow" }, { "retry-after": "5" }));
  assert.equal(later.kind === "retry" && later.afterMs, 5000);
  assert.equal(classifyOne(answer(200, { code: 40700, message: "busy" })).kind, "retry");
  assert.equal(classifyOne(answer(200, { code: 50002, message: "system error" })).kind, "retry");
});

Deno.test("tiktokClassify() reports refused tokens and permissions as auth_failed", () => {
  const noPermission = classifyOne(answer(200, {
    code: 40001,
    message: "No permission to operate pixel code: BU35TSQHT2A1QT375OMG. You must be an admin " +
      "or operator of this advertiser account.",
    request_id: "R1",
  }));
  assert.equal(noPermission.kind, "auth_failed");
  assert.match(
    noPermission.kind === "auth_failed" ? noPermission.reason : "",
    /^TikTok code 40001: No permission to operate pixel code.*\(request_id R1\)$/,
  );
  for (const code of [40102, 40104, 40105]) {
    assert.equal(
      classifyOne(answer(200, { code, message: "Access token invalid" })).kind,
      "auth_failed",
    );
  }
  assert.equal(classifyOne(answer(401, "")).kind, "auth_failed");
});

Deno.test("tiktokClassify() fails only the row a 40002 names and sends its neighbours again", () => {
  const result = tiktokClassify(
    answer(200, { code: 40002, message: "data.1.user.email: Not a valid SHA256 value" }),
    carrying(3),
  );
  assert.equal(result.outcome.kind, "retry");
  assert.deepEqual(result.events, [
    undefined,
    { kind: "failed", reason: "TikTok code 40002: data.1.user.email: Not a valid SHA256 value" },
    undefined,
  ]);
});

Deno.test("tiktokClassify() fails the whole request when a 40002 names no row", () => {
  const result = tiktokClassify(
    answer(200, { code: 40002, message: "event_source_id: pixel not found" }),
    carrying(2),
  );
  assert.deepEqual(result, {
    outcome: { kind: "failed", reason: "TikTok code 40002: event_source_id: pixel not found" },
  });
  assert.equal(
    classifyOne(answer(200, { code: 40002, message: "data.0.event_time: Not a valid integer" }))
      .kind,
    "failed",
  );
});

Deno.test("tiktokClassify() delivers a partial success except the rows it names", () => {
  const named = tiktokClassify(
    answer(200, { code: 20001, message: "Partial success. data.0.event_time: too old" }),
    carrying(2),
  );
  assert.equal(named.outcome.kind, "delivered");
  assert.equal(named.events?.[0]?.kind, "failed");
  assert.equal(named.events?.[1], undefined);
  const unnamed = classifyOne(answer(200, { code: 20001, message: "Partial success" }));
  assert.deepEqual(unnamed, { kind: "delivered", detail: "TikTok code 20001: Partial success" });
});

Deno.test("tiktokClassify() never takes an answer without a code as delivered", () => {
  assert.equal(classifyOne(answer(200, "")).kind, "retry");
  assert.equal(classifyOne(answer(200, "<html>ok</html>")).kind, "retry");
  assert.equal(
    classifyOne(answer(502, "<html><head><title>502 Bad Gateway</title></head></html>")).kind,
    "retry",
  );
  assert.equal(classifyOne(answer(404, "not found")).kind, "failed");
});

Deno.test("tiktok.map() leaves out an empty user, properties and page", () => {
  const { requests } = tiktok.map([testEvent({ user_data: {} })], settings, { now: NOW });
  assert.deepEqual(bodyOf(requests[0]).data[0], {
    event: "Purchase",
    event_time: 1_767_225_600,
    event_id: "evt-1",
  });
});

import assert from "node:assert/strict";
import { answer, testEvent } from "./_test_events.ts";
import { mapEvents } from "./map_events.ts";
import {
  snapActionSource,
  snapchat,
  snapchatSettings,
  snapClassify,
  snapEventName,
  snapUserData,
} from "./snapchat.ts";
import type { OutboundRequest, PlatformResponse } from "./types.ts";

const NOW = 1_767_225_600_000;
const PIXEL = "1ec32188-754e-4be2-8e55-c949a984a39f";
const settings = snapchatSettings.parse({ pixel_id: PIXEL, access_token: "tok" });

/** A web event Snap takes: a page URL and an email. */
function webEvent(over: Parameters<typeof testEvent>[0] = {}) {
  return testEvent({
    event_name: "view_content",
    page: { url: "https://shop.example/p/1" },
    ...over,
  });
}

function dataOf(request: OutboundRequest | undefined): Record<string, unknown>[] {
  return JSON.parse(request?.body ?? "{}").data;
}

function carrying(count: number): OutboundRequest {
  return {
    method: "POST",
    url: "",
    headers: {},
    eventIndexes: Array.from({ length: count }, (_, i) => i),
  };
}

function classifyOne(response: PlatformResponse) {
  return snapClassify(response, carrying(1)).outcome;
}

Deno.test("snapchatSettings applies the default endpoint and wants a UUID pixel id", () => {
  assert.equal(settings.endpoint, "https://tr.snapchat.com");
  assert.equal(snapchatSettings.safeParse({ pixel_id: "12345", access_token: "t" }).success, false);
  assert.equal(snapchatSettings.safeParse({ pixel_id: PIXEL, access_token: " " }).success, false);
});

Deno.test("snapchat.map() posts to /v3/{pixel_id}/events, test mode to /events/validate", () => {
  const live = snapchat.map([webEvent()], settings, { now: NOW }).requests[0];
  assert.equal(live?.url, `https://tr.snapchat.com/v3/${PIXEL}/events?access_token=tok`);
  const test = snapchat.map([webEvent()], settings, { now: NOW, test: true }).requests[0];
  assert.equal(test?.url, `https://tr.snapchat.com/v3/${PIXEL}/events/validate?access_token=tok`);
  assert.equal(test?.body, live?.body, "the validation endpoint takes the same body");
});

Deno.test("snapchat.map() splits more than 2,000 events into several requests", () => {
  const events = Array.from({ length: 4001 }, (_, i) => webEvent({ event_id: `e${i}` }));
  const { requests } = snapchat.map(events, settings, { now: NOW });
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [2000, 2000, 1]);
});

Deno.test("snapchat.map() sends seconds, the event id as dedup key, and LDU when personalization is denied", () => {
  const [event] = dataOf(
    snapchat.map(
      [webEvent({ consent: { ad_user_data: "granted", ad_personalization: "denied" } })],
      settings,
      { now: NOW },
    ).requests[0],
  );
  assert.equal(event?.event_time, 1_767_225_600);
  assert.equal(event?.event_id, "evt-1");
  assert.deepEqual(event?.data_processing_options, ["LDU"]);
});

Deno.test("snapUserData() matches Snap's documented normalisation examples", () => {
  const data = snapUserData({
    email: "Person@Example.com",
    phone: "+44 844 412 4653",
    first_name: "John",
    last_name: "Raphaël",
  });
  assert.deepEqual(data.em, ["542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"]);
  assert.deepEqual(data.ph, ["dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"]);
  assert.equal(data.fn, "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a");
  assert.equal(data.ln, "e74bb89e718fe1e19c422a48382870399f8bf7ca8dfa008739e75b0be76627b7");
});

Deno.test("snapUserData() keeps click id, cookie, IP and UA raw and lowercases the madid", () => {
  const data = snapUserData({
    client_ip: "2001:db8::1",
    user_agent: "UA",
    madid: "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    click_ids: { sccid: "Sc-Click-1" },
    browser_ids: { scid: "Cookie-1" },
  });
  assert.deepEqual(data, {
    client_ip_address: "2001:db8::1",
    client_user_agent: "UA",
    sc_click_id: "Sc-Click-1",
    sc_cookie1: "Cookie-1",
    madid: "6d92078a-8246-4ba4-ae5b-76104861e7dc",
  });
});

Deno.test("snapActionSource() follows the documented rule", () => {
  assert.equal(snapActionSource(testEvent({ action_source: "website" })), "WEB");
  assert.equal(snapActionSource(testEvent({ action_source: "physical_store" })), "OFFLINE");
  assert.equal(snapActionSource(testEvent({ action_source: "phone_call" })), "OFFLINE");
  assert.equal(snapActionSource(testEvent({ action_source: "app" })), "MOBILE_APP");
  assert.equal(snapActionSource(testEvent({ page: { url: "https://x.example/" } })), "WEB");
  assert.equal(snapActionSource(testEvent({ dialect: "browser" })), "WEB");
  assert.equal(snapActionSource(testEvent({ source: "app" })), "MOBILE_APP");
  assert.equal(snapActionSource(testEvent({ source: "server" })), "OFFLINE");
});

Deno.test("snapEventName() maps canonical names, keeps Snap names, refuses custom names", () => {
  const name = (over: Parameters<typeof testEvent>[0]) => snapEventName(testEvent(over));
  assert.deepEqual(name({ event_name: "add_to_cart" }), { name: "ADD_CART" });
  assert.deepEqual(name({ event_name: "add_payment_info" }), { name: "ADD_BILLING" });
  assert.deepEqual(name({ event_name: "view_category" }), { name: "LIST_VIEW" });
  assert.deepEqual(name({ event_name: "CUSTOM_EVENT_2" }), { name: "CUSTOM_EVENT_2" });
  assert.deepEqual(
    name({ event_name: "app_install", original_event_name: "APP_INSTALL" }),
    { name: "APP_INSTALL" },
  );
  const custom = name({ event_name: "quiz_completed" });
  assert.match("error" in custom ? custom.error : "", /CUSTOM_EVENT_1/);
});

Deno.test("snapchat.map() skips what Snap's validator refuses, each with its reason", () => {
  const { requests, skipped } = snapchat.map(
    [
      webEvent({ page: undefined, action_source: "website" }),
      webEvent({ user_data: { client_ip: "203.0.113.9" } }),
      webEvent({ event_name: "purchase", value: 10 }),
      webEvent({ event_name: "purchase", value: 10, currency: "USD" }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(requests[0]?.eventIndexes, [3]);
  assert.deepEqual(skipped.map((s) => s.index), [0, 1, 2]);
  assert.match(skipped[0]?.reason ?? "", /event_source_url/);
  assert.match(skipped[1]?.reason ?? "", /both IP and user agent/);
  assert.match(skipped[2]?.reason ?? "", /value and currency/);
});

Deno.test("snapchat events older than 37 days are skipped before mapping", () => {
  const { requests, skipped } = mapEvents(
    snapchat,
    [
      webEvent({ event_time: NOW - 36 * 86_400_000 }),
      webEvent({ event_time: NOW - 38 * 86_400_000 }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(requests[0]?.eventIndexes, [0]);
  assert.equal(
    skipped[0]?.reason,
    "event is older than Snapchat Conversions API accepts (37 days)",
  );
});

Deno.test("snapClassify() delivers VALID and SUCCESS answers", () => {
  assert.deepEqual(classifyOne(answer(200, { status: "VALID" })), { kind: "delivered" });
  assert.deepEqual(
    classifyOne(answer(200, { status: "SUCCESS", reason: "events received" })),
    { kind: "delivered", detail: "Snap SUCCESS (HTTP 200): events received" },
  );
});

Deno.test("snapClassify() reads INVALID on every status, naming Snap's codes and messages", () => {
  assert.deepEqual(
    classifyOne(answer(400, {
      status: "INVALID",
      reason: "Invalid request",
      errors: { codes: ["MISSING_PRICE"], error_msgs: ["Price and currency are required"] },
    })),
    {
      kind: "failed",
      reason: "Snap INVALID (HTTP 400): Invalid request; MISSING_PRICE: Price and currency are " +
        "required",
    },
  );
  assert.equal(classifyOne(answer(200, { status: "INVALID", reason: "bad" })).kind, "failed");
});

Deno.test("snapClassify() fails the row Snap names and sends its neighbours again", () => {
  const result = snapClassify(
    answer(400, { status: "INVALID", event: 2, reason: "Timestamp invalid or out of range" }),
    carrying(3),
  );
  assert.equal(result.outcome.kind, "retry");
  assert.deepEqual(result.events, [undefined, undefined, {
    kind: "failed",
    reason: "Snap INVALID (HTTP 400): Timestamp invalid or out of range",
  }]);
  assert.equal(
    snapClassify(answer(400, { status: "INVALID", event: 9, reason: "x" }), carrying(3)).outcome
      .kind,
    "failed",
    "a row outside the request fails it whole",
  );
});

Deno.test("snapClassify() takes the validation endpoint's verdict per event", () => {
  const result = snapClassify(
    answer(200, {
      status: "VALID",
      test_event: true,
      event_logs: [
        { event: 0, status: "VALID", warnings: ["Missing recommended field: event_id"] },
        {
          event: 1,
          status: "INVALID",
          errors: { codes: ["UNHASHED_PII"], error_msgs: ["em must be SHA-256 hashed"] },
        },
      ],
    }),
    carrying(2),
  );
  assert.deepEqual(result.events, [
    {
      kind: "delivered",
      detail: "validated by Snap (test mode, not recorded); Missing recommended field: event_id",
    },
    {
      kind: "failed",
      reason: "Snap INVALID (HTTP 200): UNHASHED_PII: em must be SHA-256 hashed",
    },
  ]);
});

Deno.test("snapClassify() pauses on refused tokens and retries 429 and 5xx with Retry-After", () => {
  const refused = classifyOne(answer(401, { status: "INVALID", reason: "Invalid access token" }));
  assert.deepEqual(refused, {
    kind: "auth_failed",
    reason: "Snap INVALID (HTTP 401): Invalid access token",
  });
  assert.equal(classifyOne(answer(403, "forbidden")).kind, "auth_failed");
  const limited = classifyOne(
    answer(429, { status: "INVALID", reason: "rate" }, { "retry-after": "3" }),
  );
  assert.equal(limited.kind === "retry" && limited.afterMs, 3000);
  assert.equal(classifyOne(answer(503, "<html>busy</html>")).kind, "retry");
});

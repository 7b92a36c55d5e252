import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { answer, testEvent } from "./_test_events.ts";
import {
  rateLimitResetMs,
  reddit,
  redditActionSource,
  redditDataProcessing,
  redditMetadata,
  redditSettings,
} from "./reddit.ts";
import type { OutboundRequest } from "./types.ts";

const NOW = 1_767_225_600_000;
const settings = redditSettings.parse({ pixel_id: "a2_pixel", access_token: "tok" });

/** The events of the first request's body. */
function sentEvents(events: SluiceEvent[], options = { now: NOW }): Record<string, unknown>[] {
  const { requests } = reddit.map(events, settings, options);
  return JSON.parse(requests[0]?.body ?? "{}").data?.events ?? [];
}

function requestOf(count: number): OutboundRequest {
  return {
    method: "POST",
    url: "",
    headers: {},
    eventIndexes: Array.from({ length: count }, (_, i) => i),
  };
}

Deno.test("redditSettings takes pixel_id or ad_account_id, and refuses neither", () => {
  assert.equal(settings.endpoint, "https://ads-api.reddit.com");
  const byAccount = redditSettings.parse({ ad_account_id: "t2_abc", access_token: "t" });
  const url = reddit.map([testEvent()], byAccount, { now: NOW }).requests[0]?.url;
  assert.equal(url, "https://ads-api.reddit.com/api/v3/pixels/t2_abc/conversion_events");
  const both = redditSettings.parse({ pixel_id: "a2_p", ad_account_id: "t2_a", access_token: "t" });
  assert.match(reddit.map([testEvent()], both, { now: NOW }).requests[0]?.url ?? "", /a2_p/);
  const neither = redditSettings.safeParse({ access_token: "t" });
  assert.equal(neither.success, false);
  assert.match(JSON.stringify(neither.error?.issues), /pixel_id/);
  assert.equal(redditSettings.safeParse({ pixel_id: "a2/../x", access_token: "t" }).success, false);
});

Deno.test("reddit.map() sends Bearer auth, JSON and a descriptive user agent", () => {
  const request = reddit.map([testEvent()], settings, { now: NOW }).requests[0];
  assert.deepEqual(request?.headers, {
    authorization: "Bearer tok",
    "content-type": "application/json",
    "user-agent": "server:sluice:1 (conversions gateway)",
  });
});

Deno.test("reddit.map() splits more than 1,000 events into several requests", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests, skipped } = reddit.map(events, settings, { now: NOW });
  assert.deepEqual(skipped, []);
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
});

Deno.test("reddit.map() maps canonical names to tracking types, others as CUSTOM", () => {
  const names = ["page_view", "view_content", "search", "add_to_wishlist", "complete_registration"];
  const types = sentEvents(
    [...names, "Quiz Finished"].map((event_name) => testEvent({ event_name })),
  )
    .map((e) => e.type);
  assert.deepEqual(types, [
    { tracking_type: "PAGE_VISIT" },
    { tracking_type: "VIEW_CONTENT" },
    { tracking_type: "SEARCH" },
    { tracking_type: "ADD_TO_WISHLIST" },
    { tracking_type: "SIGN_UP" },
    { tracking_type: "CUSTOM", custom_event_name: "Quiz Finished" },
  ]);
});

Deno.test("reddit.map() sends event_at in epoch milliseconds and the event id as conversion_id", () => {
  const [event] = sentEvents([testEvent({ event_id: "order-1001", event_time: NOW - 1234 })]);
  assert.equal(event?.event_at, NOW - 1234);
  assert.deepEqual(event?.metadata, { conversion_id: "order-1001" });
});

Deno.test("redditMetadata() sends value with currency only, and only for revenue types", () => {
  const event = testEvent({ value: 20, currency: "EUR", items: [{ id: "a", quantity: 3 }] });
  assert.deepEqual(redditMetadata(event, "PURCHASE"), {
    conversion_id: "evt-1",
    value: 20,
    currency: "EUR",
    item_count: 3,
    products: [{ id: "a", quantity: 3 }],
  });
  assert.deepEqual(redditMetadata(event, "LEAD"), {
    conversion_id: "evt-1",
    value: 20,
    currency: "EUR",
    products: [{ id: "a", quantity: 3 }],
  });
  assert.deepEqual(redditMetadata(event, "PAGE_VISIT"), {
    conversion_id: "evt-1",
    products: [{ id: "a", quantity: 3 }],
  });
  assert.deepEqual(redditMetadata(testEvent({ value: 20 }), "PURCHASE"), {
    conversion_id: "evt-1",
  });
});

Deno.test("redditActionSource() follows the documented rule", () => {
  assert.equal(redditActionSource(testEvent({ action_source: "website" })), "WEBSITE");
  assert.equal(redditActionSource(testEvent({ action_source: "POS" })), "PHYSICAL_STORE");
  assert.equal(redditActionSource(testEvent({ action_source: "mobile_app" })), "APP");
  assert.equal(redditActionSource(testEvent({ action_source: "email" })), "OTHER");
  assert.equal(redditActionSource(testEvent({ page: { url: "https://x.example/" } })), "WEBSITE");
  assert.equal(redditActionSource(testEvent({ dialect: "collect" })), "WEBSITE");
  assert.equal(redditActionSource(testEvent({ source: "app" })), "APP");
  assert.equal(redditActionSource(testEvent({ source: "crm" })), "OTHER");
});

Deno.test("redditDataProcessing() sets LDU when ad personalisation is denied", () => {
  const user = { email: "a@example.com", country: "United States", state: "ca" };
  assert.equal(redditDataProcessing(testEvent({ user_data: user })), undefined);
  assert.equal(
    redditDataProcessing(
      testEvent({ user_data: user, consent: { ad_personalization: "granted" } }),
    ),
    undefined,
  );
  assert.deepEqual(
    redditDataProcessing(testEvent({ user_data: user, consent: { ad_personalization: "denied" } })),
    { modes: ["LDU"], country: "US", region: "US-CA" },
  );
  assert.deepEqual(
    redditDataProcessing(testEvent({ consent: { ad_user_data: "denied" } })),
    { modes: ["LDU"] },
  );
});

Deno.test("reddit.map() sends the rdt_cid click id and the _rdt_uuid cookie raw", () => {
  const [event] = sentEvents([
    testEvent({
      user_data: {
        click_ids: { rdt_cid: "CaseSensitive_123" },
        browser_ids: { rdt_uuid: "1677712978045.b8f7eb7d-b357-437b-8bd3-e1c8166c7132" },
      },
    }),
  ]);
  assert.equal(event?.click_id, "CaseSensitive_123");
  assert.deepEqual(event?.user, { uuid: "1677712978045.b8f7eb7d-b357-437b-8bd3-e1c8166c7132" });
});

Deno.test("reddit.map() hashes the IDFA of iOS devices and sends no ad id without a platform", () => {
  const madid = "8a2e4f6d-0852-4b2a-b9d5-79334de14b16";
  const [ios, unknown] = sentEvents([
    testEvent({ user_data: { madid, user_agent: "MyApp/2.1 CFNetwork/1490 Darwin/23.2.0" } }),
    testEvent({ user_data: { madid, email: "a@example.com", user_agent: "curl/8" } }),
  ]);
  const user = ios?.user as Record<string, unknown>;
  assert.match(String(user.idfa), /^[a-f0-9]{64}$/);
  assert.equal(user.aaid, undefined);
  assert.equal((unknown?.user as Record<string, unknown>).idfa, undefined);
});

Deno.test("reddit.map() skips events Reddit would refuse, naming why", () => {
  const { requests, skipped } = reddit.map(
    [
      testEvent({ user_data: { user_agent: "UA" } }),
      testEvent({ user_data: { client_ip: "203.0.113.1" } }),
      testEvent({ event_name: "alias" }),
      testEvent({ event_name: "x".repeat(65) }),
      testEvent({ event_name: "x".repeat(64) }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(skipped.map((s) => s.index), [0, 1, 2, 3]);
  assert.match(skipped[0]?.reason ?? "", /no Reddit match key/);
  assert.match(skipped[2]?.reason ?? "", /not conversions/);
  assert.match(skipped[3]?.reason ?? "", /at most 64 characters/);
  assert.deepEqual(requests[0]?.eventIndexes, [4]);
});

Deno.test("reddit.map() in test mode sends nothing without a test_id", () => {
  const { requests, skipped } = reddit.map([testEvent()], settings, { now: NOW, test: true });
  assert.equal(requests.length, 0);
  assert.match(skipped[0]?.reason ?? "", /test_id/);
  const plain = reddit.map([testEvent()], { ...settings, test_id: "T1" }, { now: NOW });
  assert.equal(JSON.parse(plain.requests[0]?.body ?? "{}").data.test_id, undefined);
});

Deno.test("reddit.classify() keeps Reddit's success message", () => {
  const result = reddit.classify(
    answer(200, { data: { message: "Successfully processed 3 conversion events." } }),
    requestOf(3),
  );
  assert.deepEqual(result, {
    outcome: { kind: "delivered", detail: "Successfully processed 3 conversion events." },
  });
  assert.deepEqual(reddit.classify(answer(200, ""), requestOf(1)), {
    outcome: { kind: "delivered" },
  });
});

Deno.test("reddit.classify() fails a 400 whole when it names no event", () => {
  const result = reddit.classify(
    answer(400, {
      error: {
        code: 400,
        message: "There were 2 invalid conversion events. None were processed.",
      },
    }),
    requestOf(2),
  );
  assert.deepEqual(result, {
    outcome: {
      kind: "failed",
      reason: "Reddit HTTP 400: There were 2 invalid conversion events. None were processed.",
    },
  });
});

Deno.test("reddit.classify() fails the events a 400 names and sends the others again", () => {
  const result = reddit.classify(
    answer(400, {
      error: {
        code: 400,
        message: "There were 1 invalid conversion events. None were processed.",
        fields: [{ field: "data.events[1].type.tracking_type", message: "invalid value" }],
      },
    }),
    requestOf(3),
  );
  assert.equal(result.outcome.kind, "retry");
  assert.match(result.outcome.kind === "retry" ? result.outcome.reason : "", /not processed/);
  assert.equal(result.events?.[0], undefined);
  assert.deepEqual(result.events?.[1], {
    kind: "failed",
    reason: "Reddit refused this event: data.events[1].type.tracking_type: invalid value",
  });
  assert.equal(result.events?.[2], undefined);
});

Deno.test("reddit.classify() pauses on 401 and 403 with Reddit's message", () => {
  assert.deepEqual(
    reddit.classify(answer(401, { error: { code: 401, message: "UNAUTHORIZED" } }), requestOf(1)),
    { outcome: { kind: "auth_failed", reason: "Reddit HTTP 401: UNAUTHORIZED" } },
  );
  const forbidden = reddit.classify(
    answer(403, {
      error: {
        code: 403,
        message: "You're not authorized to post conversions to Pixel ID a2_x.",
      },
    }),
    requestOf(1),
  );
  assert.equal(forbidden.outcome.kind, "auth_failed");
  assert.deepEqual(
    reddit.classify(answer(401, "Authorization Required"), requestOf(1)).outcome,
    { kind: "auth_failed", reason: "Reddit HTTP 401: Authorization Required" },
  );
});

Deno.test("reddit.classify() retries 429 after Retry-After, else after the RateLimit reset", () => {
  const limited = reddit.classify(
    answer(429, { error: { code: 429, message: "Too many requests/events within timeframe." } }, {
      ratelimit: '"ads-conversion-events-rps";r=0;t=2,"ads-conversion-events-eps";r=40;t=1',
    }),
    requestOf(1),
  ).outcome;
  assert.equal(limited.kind, "retry");
  assert.equal(limited.kind === "retry" && limited.afterMs, 2000);
  const told = reddit.classify(
    answer(429, "", { "retry-after": "9", ratelimit: '"x";r=0;t=2' }),
    requestOf(1),
  ).outcome;
  assert.equal(told.kind === "retry" && told.afterMs, 9000);
  assert.equal(reddit.classify(answer(500, "down"), requestOf(1)).outcome.kind, "retry");
  assert.equal(reddit.classify(answer(404, "no pixel"), requestOf(1)).outcome.kind, "failed");
});

Deno.test("rateLimitResetMs() takes the longest exhausted policy", () => {
  const headers = new Headers({ ratelimit: '"a";r=0;t=5,"b";r=0;t=42,"c";r=3;t=60' });
  assert.equal(rateLimitResetMs(headers), 42_000);
  assert.equal(rateLimitResetMs(new Headers({ ratelimit: '"a";r=1;t=5' })), undefined);
  assert.equal(rateLimitResetMs(new Headers()), undefined);
});

import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { answer, testEvent } from "./_test_events.ts";
import {
  microsoft,
  microsoftClickId,
  microsoftCustomData,
  microsoftSettings,
  microsoftUserData,
} from "./microsoft.ts";
import type { OutboundRequest } from "./types.ts";

const NOW = 1_767_225_600_000;
const settings = microsoftSettings.parse({ uet_tag_id: "343210987", access_token: "tok" });

function sent(events: SluiceEvent[], options: { now: number; test?: boolean } = { now: NOW }) {
  const { requests } = microsoft.map(events, settings, options);
  return JSON.parse(requests[0]?.body ?? "{}") as {
    data: Record<string, unknown>[];
    continueOnValidationError: boolean;
  };
}

function requestOf(count: number): OutboundRequest {
  return {
    method: "POST",
    url: "",
    headers: {},
    eventIndexes: Array.from({ length: count }, (_, i) => i),
  };
}

/** Microsoft's documented 400 answer, for one event. */
const VALIDATION_ERROR = {
  error: {
    code: "ValidationError",
    message: "One or multiple parameters did not pass validation checks, see details.",
    details: [
      {
        index: 0,
        propertyName: "data[0].eventType",
        errorMessage: "'eventType' must be one of the following: pageLoad, custom.",
      },
      {
        index: 0,
        propertyName: "data[0].userData.em",
        errorMessage: "'em' must be a valid SHA256 string.",
      },
    ],
  },
};

Deno.test("microsoftSettings takes a numeric UET tag id and the default endpoint", () => {
  assert.equal(settings.endpoint, "https://capi.uet.microsoft.com");
  assert.equal(
    microsoftSettings.safeParse({ uet_tag_id: "abc", access_token: "t" }).success,
    false,
  );
  assert.equal(microsoftSettings.safeParse({ uet_tag_id: "1", access_token: "" }).success, false);
});

Deno.test("microsoft.map() posts to /v1/{tag}/events with Bearer auth, always continuing on validation errors", () => {
  const { requests } = microsoft.map([testEvent()], settings, { now: NOW });
  assert.equal(requests[0]?.url, "https://capi.uet.microsoft.com/v1/343210987/events");
  assert.deepEqual(requests[0]?.headers, {
    authorization: "Bearer tok",
    "content-type": "application/json",
  });
  assert.equal(sent([testEvent()]).continueOnValidationError, true);
});

Deno.test("microsoft.map() splits more than 1,000 events into several requests", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests, skipped } = microsoft.map(events, settings, { now: NOW });
  assert.deepEqual(skipped, []);
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
});

Deno.test("microsoft.map() sends eventTime in Unix seconds and the event id as eventId", () => {
  const [event] = sent([testEvent({ event_id: "order-7", event_time: NOW + 999 })]).data;
  assert.equal(event?.eventTime, NOW / 1000);
  assert.equal(event?.eventId, "order-7");
});

Deno.test("microsoft.map() sends page views as pageLoad and the rest as custom events", () => {
  const events = [
    testEvent({ event_name: "page_view", page: { url: "https://shop.example/" }, value: 5 }),
    testEvent({ event_name: "initiate_checkout" }),
    testEvent({ event_name: "complete_registration" }),
    testEvent({ event_name: "add_to_cart" }),
    testEvent({ event_name: "Quiz Finished" }),
  ];
  const data = sent(events).data;
  assert.deepEqual(data.map((e) => [e.eventType, e.eventName]), [
    ["pageLoad", undefined],
    ["custom", "begin_checkout"],
    ["custom", "sign_up"],
    ["custom", "add_to_cart"],
    ["custom", "Quiz Finished"],
  ]);
  assert.equal(data[0]?.customData, undefined, "page loads carry no revenue");
});

Deno.test("microsoft.map() sets adStorageConsent from ad_user_data, and D on test sends", () => {
  const data = sent([
    testEvent({ consent: { ad_user_data: "granted" } }),
    testEvent({ consent: { ad_user_data: "denied" } }),
    testEvent({ consent: { ad_personalization: "denied" } }),
  ]).data;
  assert.deepEqual(data.map((e) => e.adStorageConsent), ["G", "D", undefined]);
  const test = sent([testEvent({ consent: { ad_user_data: "granted" } })], {
    now: NOW,
    test: true,
  });
  assert.equal(test.data[0]?.adStorageConsent, "D");
});

Deno.test("microsoftClickId() prefers the landing msclkid and strips the _uet cookie prefix", () => {
  assert.equal(
    microsoftClickId({
      click_ids: { msclkid: "fresh123" },
      browser_ids: { uet_msclkid: "_uetold456" },
    }),
    "fresh123",
  );
  assert.equal(
    microsoftClickId({ browser_ids: { uet_msclkid: "_uetb1240587f865192a03586c5b000314f5" } }),
    "b1240587f865192a03586c5b000314f5",
  );
  assert.equal(microsoftClickId({ browser_ids: { uet_msclkid: "plainid" } }), "plainid");
  assert.equal(microsoftClickId({}), undefined);
});

Deno.test("microsoftUserData() hashes em, ph and externalId, and sends the rest raw", () => {
  assert.deepEqual(
    microsoftUserData({
      email: "John@Contoso.com",
      phone: "+1 425 555 1234",
      customer_id: "111222",
      anonymous_id: "b171a9b06ce011ecafcd1b209be8601b",
      client_ip: "127.0.0.1",
      user_agent: "Mozilla/5.0 (Linux; Android 14)",
      madid: "38400000-8cf0-11bd-b23e-10b96e40000d",
    }),
    {
      em: "ec81f3ac7b2b19675bab9d54cf416f9f18cff87c97da5cca82c0f0891bc40602",
      ph: "c59475d96e9f01d7d18d06cfad84dd02333207f02c0c2c5663ef2782cda0390e",
      externalId: "92c7d71b95dc6540fc58e891dbe649fe72ae5e93b5f42fd7fbdeefe6cef3e51d",
      anonymousId: "b171a9b06ce011ecafcd1b209be8601b",
      clientIpAddress: "127.0.0.1",
      clientUserAgent: "Mozilla/5.0 (Linux; Android 14)",
      gaid: "38400000-8cf0-11bd-b23e-10b96e40000d",
    },
  );
});

Deno.test("microsoftCustomData() adds the retail page type and ecommTotalValue on purchase and cart", () => {
  assert.deepEqual(
    microsoftCustomData(
      testEvent({ event_name: "view_cart", value: 83.3, currency: "USD", items: [{ id: "p1" }] }),
    ),
    {
      value: 83.3,
      currency: "USD",
      items: [{ id: "p1" }],
      itemIds: ["p1"],
      pageType: "cart",
      ecommTotalValue: 83.3,
    },
  );
  assert.deepEqual(microsoftCustomData(testEvent({ event_name: "view_content" })), {
    pageType: "product",
  });
  assert.equal(microsoftCustomData(testEvent({ event_name: "lead", currency: "USD" })), undefined);
});

Deno.test("microsoft.map() leaves out URLs Microsoft would refuse and skips what it cannot send", () => {
  const { requests, skipped } = microsoft.map(
    [
      testEvent({ page: { url: "/relative", referrer: "javascript:alert(1)" } }),
      testEvent({ event_name: "page_view", page: { url: "not a url" } }),
      testEvent({ event_name: "group" }),
      testEvent({ user_data: {} }),
    ],
    settings,
    { now: NOW },
  );
  const body = JSON.parse(requests[0]?.body ?? "{}");
  assert.equal(body.data[0].eventSourceUrl, undefined);
  assert.equal(body.data[0].referrerUrl, undefined);
  assert.deepEqual(skipped.map((s) => s.index), [1, 2, 3]);
  assert.match(skipped[0]?.reason ?? "", /pageLoad events need eventSourceUrl/);
});

Deno.test("microsoft.classify() keeps eventsReceived and traceId on success", () => {
  assert.deepEqual(
    microsoft.classify(answer(200, { eventsReceived: 2, traceId: "t-1" }), requestOf(2)),
    { outcome: { kind: "delivered", detail: "eventsReceived=2 traceId=t-1" } },
  );
  assert.deepEqual(microsoft.classify(answer(200, ""), requestOf(1)), {
    outcome: { kind: "delivered" },
  });
});

Deno.test("microsoft.classify() fails only the events a 2xx names, keeping warnings as detail", () => {
  const result = microsoft.classify(
    answer(200, {
      eventsReceived: 1,
      error: {
        code: "ValidationError",
        message: "One or multiple parameters did not pass validation checks, see details.",
        details: [
          {
            index: 1,
            propertyName: "data[1].userData.em",
            errorMessage: "'em' must be a valid SHA256 string.",
          },
          {
            index: 2,
            propertyName: "data[2].referrerUrl",
            errorMessage: "'referrerUrl' looks odd.",
            isWarning: true,
          },
        ],
      },
    }),
    requestOf(3),
  );
  assert.deepEqual(result.outcome, { kind: "delivered", detail: "eventsReceived=1" });
  assert.equal(result.events?.[0], undefined);
  assert.deepEqual(result.events?.[1], {
    kind: "failed",
    reason: "Microsoft ValidationError: data[1].userData.em: 'em' must be a valid SHA256 string.",
  });
  assert.deepEqual(result.events?.[2], {
    kind: "delivered",
    detail: "warning: data[2].referrerUrl: 'referrerUrl' looks odd.",
  });
});

Deno.test("microsoft.classify() fails an event Microsoft's documented 400 names, with every detail", () => {
  const result = microsoft.classify(answer(400, VALIDATION_ERROR), requestOf(1));
  assert.equal(result.outcome.kind, "failed");
  assert.deepEqual(result.events?.[0], {
    kind: "failed",
    reason: "Microsoft ValidationError: data[0].eventType: 'eventType' must be one of the " +
      "following: pageLoad, custom.; data[0].userData.em: 'em' must be a valid SHA256 string.",
  });
});

Deno.test("microsoft.classify() sends again the events a 400 did not name", () => {
  const result = microsoft.classify(
    answer(400, {
      error: {
        code: "ValidationError",
        details: [{
          propertyName: "data[1].eventTime",
          errorMessage: "'eventTime' must not be empty.",
        }],
      },
    }),
    requestOf(3),
  );
  assert.equal(result.outcome.kind, "retry");
  assert.deepEqual(result.events?.map((e) => e?.kind), [undefined, "failed", undefined]);
});

Deno.test("microsoft.classify() pauses on 401, retries 429 and 5xx, fails other 4xx", () => {
  assert.deepEqual(
    microsoft.classify(
      answer(401, {
        error: { code: "Unauthorized", message: "You are not authorized to access this resource." },
      }),
      requestOf(1),
    ),
    {
      outcome: {
        kind: "auth_failed",
        reason: "Microsoft Unauthorized: You are not authorized to access this resource.",
      },
    },
  );
  const limited = microsoft.classify(answer(429, "", { "retry-after": "3" }), requestOf(1));
  assert.deepEqual(limited.outcome, {
    kind: "retry",
    reason: "Microsoft HTTP 429: no body",
    afterMs: 3000,
  });
  assert.equal(microsoft.classify(answer(503, "busy"), requestOf(1)).outcome.kind, "retry");
  assert.equal(microsoft.classify(answer(400, "bad"), requestOf(2)).outcome.kind, "failed");
  assert.equal(microsoft.classify(answer(404, ""), requestOf(1)).outcome.kind, "failed");
});

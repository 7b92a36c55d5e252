import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import type { SluiceEvent } from "../core/event.ts";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import {
  pinterest,
  pinterestActionSource,
  pinterestClassify,
  pinterestEventName,
  pinterestSettings,
  pinterestUserData,
} from "./pinterest.ts";

const NOW = 1_767_225_600_000;
const settings = pinterestSettings.parse({ ad_account_id: "549755885175", access_token: "tok" });

function sentEvents(events: SluiceEvent[], test = false): Record<string, unknown>[] {
  const { requests } = pinterest.map(events, settings, { now: NOW, test });
  return JSON.parse(requests[0]?.body ?? '{"data":[]}').data;
}

Deno.test("pinterestSettings applies the default endpoint and rejects bad values", () => {
  assert.equal(settings.endpoint, "https://api.pinterest.com");
  assert.equal(
    pinterestSettings.safeParse({ ad_account_id: "act_1", access_token: "t" }).success,
    false,
  );
  assert.equal(
    pinterestSettings.safeParse({ ad_account_id: "1", access_token: " " }).success,
    false,
  );
  const typo = pinterestSettings.safeParse({ ad_account_id: "1", access_token: "t", test: true });
  assert.match(JSON.stringify(typo.error?.issues), /"test"/);
});

Deno.test("pinterestUserData() hashes email trimmed and lowercased, phone as digits without +", () => {
  const vectors: [Partial<SluiceEvent["user_data"]>, string, string][] = [
    [{ email: "  Joe@Smith.COM " }, "em", "joe@smith.com"],
    [{ phone: "+1 (650) 555-1212" }, "ph", "16505551212"],
    [{ phone: "(650) 555-1212", country: "US" }, "ph", "16505551212"],
    [{ phone: "06 12 34 56 78", country: "FR" }, "ph", "33612345678"],
    [{ phone: "0044 20 7946 0958" }, "ph", "442079460958"],
    [{ first_name: " Valéry " }, "fn", "valéry"],
    [{ last_name: "O'Brien-Smith" }, "ln", "obriensmith"],
    [{ city: "New York" }, "ct", "newyork"],
    [{ state: "California", country: "US" }, "st", "ca"],
    [{ country: "Deutschland" }, "country", "de"],
    [{ date_of_birth: "1990-03-07" }, "db", "19900307"],
    [{ gender: "non-binary" }, "ge", "n"],
    [{ customer_id: " cust-42 " }, "external_id", "cust-42"],
  ];
  for (const [user, key, normalized] of vectors) {
    assert.deepEqual(pinterestUserData(user)[key], [sha256Hex(normalized)], key);
  }
});

Deno.test("pinterestUserData() passes hashed values through lowercased and never hashes twice", () => {
  const hash = sha256Hex("joe@smith.com");
  assert.deepEqual(pinterestUserData({ email: hash.toUpperCase(), phone: hash }), {
    em: [hash],
    ph: [hash],
  });
});

Deno.test("pinterestUserData() sends IP, user agent and epik raw, preferring the URL epik", () => {
  assert.deepEqual(
    pinterestUserData({
      client_ip: "2001:db8::1",
      user_agent: "Mozilla/5.0",
      click_ids: { epik: "dj0yJnU9FromUrl" },
      browser_ids: { epik: "dj0yJnU9FromCookie" },
    }),
    {
      client_ip_address: "2001:db8::1",
      client_user_agent: "Mozilla/5.0",
      click_id: "dj0yJnU9FromUrl",
    },
  );
});

Deno.test("pinterestActionSource() follows the documented rule", () => {
  const cases: [Partial<SluiceEvent>, string | undefined][] = [
    [{ action_source: "website" }, "web"],
    [{ action_source: "physical_store" }, "offline"],
    [{ action_source: "IOS" }, "app_ios"],
    [{ action_source: "app", user_data: { user_agent: "App/1 (iPhone; iOS 17)" } }, "app_ios"],
    [{ source: "app", user_data: { user_agent: "okhttp (Linux; Android 14)" } }, "app_android"],
    [{ source: "app", user_data: {} }, undefined],
    [{ source: "crm" }, "offline"],
    [{ source: "server" }, "web"],
    [{ source: "web", dialect: "browser" }, "web"],
  ];
  for (const [over, expected] of cases) {
    assert.equal(pinterestActionSource(testEvent(over)), expected, JSON.stringify(over));
  }
});

Deno.test("pinterestEventName() maps canonical names, keeps Pinterest's, sends others as custom", () => {
  assert.equal(pinterestEventName("purchase"), "checkout");
  assert.equal(pinterestEventName("page_view"), "page_visit");
  assert.equal(pinterestEventName("complete_registration"), "signup");
  assert.equal(pinterestEventName("watch_video"), "watch_video");
  assert.equal(pinterestEventName("app_open"), "app_open");
  assert.equal(pinterestEventName("refund"), "custom");
  assert.equal(pinterestEventName("Newsletter Signup"), "custom");
});

Deno.test("pinterest.map() sends value, prices and predicted LTV as strings, event_time in seconds", () => {
  const [sent] = sentEvents([testEvent({
    event_time: 1_767_225_599_999,
    value: 0.1 + 0.2,
    currency: "EUR",
    items: [{ id: "a", price: 10, quantity: 2 }, { id: "b" }],
    properties: { predicted_ltv: 250, query: "red shoes" },
  })]);
  assert.equal(sent?.event_time, 1_767_225_599);
  assert.deepEqual(sent?.custom_data, {
    currency: "EUR",
    value: "0.30000000000000004",
    content_ids: ["a", "b"],
    contents: [{ id: "a", item_price: "10", quantity: 2 }, { id: "b" }],
    num_items: 3,
    search_string: "red shoes",
    predicted_ltv: "250",
  });
});

Deno.test("pinterest.map() sets opt_out from ad_personalization and LDP from ad_user_data", () => {
  const [personal, limited, granted] = sentEvents([
    testEvent({ consent: { ad_personalization: "denied" } }),
    testEvent({ consent: { ad_user_data: "denied" } }),
    testEvent({ consent: { ad_user_data: "granted", ad_personalization: "granted" } }),
  ]);
  assert.equal(personal?.opt_out, true);
  assert.equal(personal?.custom_data, undefined);
  assert.deepEqual(limited?.custom_data, { opt_out_type: "LDP" });
  assert.equal("opt_out" in (granted ?? {}), false);
});

Deno.test("pinterest.map() skips events Pinterest would refuse, with the reason", () => {
  const { requests, skipped } = pinterest.map(
    [
      testEvent({ user_data: { phone: "+16505551212", first_name: "Ada" } }),
      testEvent({ user_data: { client_ip: "203.0.113.9" } }),
      testEvent({ action_source: "app", user_data: { email: "a@example.com" } }),
      testEvent({ user_data: { madid: "6D92078A-8246-4BA4-AE5B-76104861E7DC" } }),
      testEvent({ user_data: { client_ip: "203.0.113.9", user_agent: "Mozilla/5.0" } }),
    ],
    settings,
    { now: NOW },
  );
  assert.deepEqual(skipped.map((s) => s.index), [0, 1, 2]);
  assert.match(skipped[0]?.reason ?? "", /email, a mobile ad id, or both the IP address/);
  assert.match(skipped[2]?.reason ?? "", /app_ios or app_android/);
  assert.deepEqual(requests[0]?.eventIndexes, [3, 4]);
});

Deno.test("pinterest.map() splits more than 1,000 events and adds ?test=true in test mode", () => {
  const events = Array.from({ length: 2001 }, (_, i) => testEvent({ event_id: `e${i}` }));
  const { requests } = pinterest.map(events, settings, { now: NOW, test: true });
  assert.deepEqual(requests.map((r) => r.eventIndexes.length), [1000, 1000, 1]);
  assert.equal(
    requests[0]?.url,
    "https://api.pinterest.com/v5/ad_accounts/549755885175/events?test=true",
  );
  assert.equal(requests[0]?.headers.authorization, "Bearer tok");
});

Deno.test("pinterestClassify() reads each event's status from a 200", () => {
  const result = pinterestClassify(answer(200, {
    num_events_received: 3,
    num_events_processed: 2,
    events: [
      { status: "processed", error_message: "", warning_message: "" },
      {
        status: "failed",
        error_message: "Invalid event_name parameter. Given event_name: purchase",
        warning_message: "",
      },
      { status: "processed", error_message: "", warning_message: "currency is not standard" },
    ],
  }));
  assert.deepEqual(result.outcome, {
    kind: "delivered",
    detail: "Pinterest processed 2 of 3 events",
  });
  assert.deepEqual(result.events, [
    { kind: "delivered" },
    {
      kind: "failed",
      reason:
        "Pinterest refused the event: Invalid event_name parameter. Given event_name: purchase",
    },
    { kind: "delivered", detail: "Pinterest warning: currency is not standard" },
  ]);
});

Deno.test("pinterestClassify() reads the per-event list inside a 422 DetailedError", () => {
  // The answer Segment's connector received for a stale event (segmentio/action-destinations#2465).
  const body = {
    code: 953,
    message:
      "The action could not be processed properly due to some or all data provided being invalid.",
    details: {
      num_events_processed: 0,
      num_events_received: 1,
      events: [{
        status: "failed",
        error_message:
          "Invalid event_timestamp parameter. Given timestamp is in the past. Current timestamp: 1727469267, Given event_timestamp: 1678203524",
        warning_message: "",
      }],
    },
  };
  const result = pinterestClassify(answer(422, body));
  assert.equal(result.outcome.kind, "failed");
  assert.match(
    result.outcome.kind === "failed" ? result.outcome.reason : "",
    /^Pinterest error 953 \(HTTP 422\): The action could not be processed/,
  );
  assert.deepEqual(result.events, [{
    kind: "failed",
    reason: `Pinterest refused the event: ${body.details.events[0]!.error_message}`,
  }]);
});

Deno.test("outcomeOf(pinterest, ) maps the documented error codes", () => {
  assert.deepEqual(
    outcomeOf(pinterest, answer(401, { code: 2, message: "Authentication failed." })),
    { kind: "auth_failed", reason: "Pinterest error 2 (HTTP 401): Authentication failed." },
  );
  assert.equal(
    outcomeOf(
      pinterest,
      answer(403, { code: 29, message: "You are not permitted to access that resource." }),
    ).kind,
    "auth_failed",
  );
  const throttled = outcomeOf(
    pinterest,
    answer(429, { code: 8, message: "This request exceeded a rate limit." }, {
      "retry-after": "12",
    }),
  );
  assert.deepEqual(throttled, {
    kind: "retry",
    reason: "Pinterest error 8 (HTTP 429): This request exceeded a rate limit.",
    afterMs: 12_000,
  });
  assert.equal(
    outcomeOf(
      pinterest,
      answer(503, { code: 4197, message: "The endpoint has been ramped down" }),
    ).kind,
    "retry",
  );
  assert.deepEqual(
    outcomeOf(pinterest, answer(400, { code: 4196, message: "The request was invalid." })),
    { kind: "failed", reason: "Pinterest error 4196 (HTTP 400): The request was invalid." },
  );
  assert.deepEqual(outcomeOf(pinterest, answer(404, "")), {
    kind: "failed",
    reason: "HTTP 404: no body",
  });
});

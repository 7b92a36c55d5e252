import assert from "node:assert/strict";
import type { SluiceEvent } from "../../core/event.ts";
import { eventTimeMs, parseEvent, type ParseResult, type RequestContext } from "./event_input.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function ctx(extra: Partial<RequestContext> = {}): RequestContext {
  return {
    workspaceId: "ws_test",
    dialect: "native",
    receivedAt: NOW,
    traceId: "trace-1",
    defaultSource: "server",
    ...extra,
  };
}

function accepted(result: ParseResult): SluiceEvent {
  if (!result.ok) assert.fail(`expected the event to be accepted: ${JSON.stringify(result)}`);
  return result.event;
}

function rejected(result: ParseResult): Extract<ParseResult, { ok: false }> {
  if (result.ok) assert.fail(`expected the event to be rejected: ${JSON.stringify(result.event)}`);
  return result;
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

Deno.test("parseEvent() builds a complete SluiceEvent from a minimal native event", () => {
  const result = parseEvent({ event_id: "e-1", event_name: "purchase" }, ctx());
  const event = accepted(result);
  assert.match(event.id, ULID);
  assert.deepEqual({ ...event, id: "" }, {
    id: "",
    workspace_id: "ws_test",
    event_id: "e-1",
    event_name: "purchase",
    event_time: NOW,
    received_at: NOW,
    source: "server",
    dialect: "native",
    user_data: {},
    properties: {},
    trace_id: "trace-1",
  });
  assert.ok(result.ok);
  assert.equal(result.json, JSON.stringify(event));
});

Deno.test("parseEvent() canonicalises the name and keeps the original when they differ", () => {
  const event = accepted(parseEvent({ event_name: "Order Completed" }, ctx()));
  assert.equal(event.event_name, "purchase");
  assert.equal(event.original_event_name, "Order Completed");
  const same = accepted(parseEvent({ event_name: "purchase" }, ctx()));
  assert.equal("original_event_name" in same, false);
  const custom = accepted(parseEvent({ event_name: "Quote Requested" }, ctx()));
  assert.equal(custom.event_name, "Quote Requested");
  assert.equal("original_event_name" in custom, false);
});

Deno.test("parseEvent() keeps the sender's source and action_source over the default", () => {
  const event = accepted(
    parseEvent({ event_name: "x", source: "crm", action_source: "website" }, ctx()),
  );
  assert.equal(event.source, "crm");
  assert.equal(event.action_source, "website");
});

Deno.test("parseEvent() generates a UUID event_id when absent and stringifies numeric ids", () => {
  const generated = accepted(parseEvent({ event_name: "x" }, ctx()));
  assert.match(generated.event_id, UUID);
  const other = accepted(parseEvent({ event_name: "x" }, ctx()));
  assert.notEqual(other.event_id, generated.event_id);
  assert.equal(accepted(parseEvent({ event_name: "x", event_id: 1001 }, ctx())).event_id, "1001");
  assert.equal(
    accepted(parseEvent({ event_name: "x", event_id: "  a-1 " }, ctx())).event_id,
    "a-1",
  );
});

Deno.test("parseEvent() reads event_time in seconds, milliseconds and numeric strings", () => {
  const cases: [number | string, number][] = [
    [1_795_435_000, 1_795_435_000_000],
    [1_795_435_000_123, 1_795_435_000_123],
    ["1795435000", 1_795_435_000_000],
    ["1795435000.5", 1_795_435_000_500],
    [1_795_435_000.25, 1_795_435_000_250],
  ];
  for (const [input, ms] of cases) {
    const event = accepted(parseEvent({ event_name: "x", event_time: input }, ctx()));
    assert.equal(event.event_time, ms, `event_time ${input}`);
  }
});

Deno.test("parseEvent() reads event_time as ISO 8601 with Z, an offset or a date only", () => {
  const cases: [string, number][] = [
    ["2026-11-23T11:00:00Z", Date.UTC(2026, 10, 23, 11, 0, 0)],
    ["2026-11-23T11:00:00.250Z", Date.UTC(2026, 10, 23, 11, 0, 0, 250)],
    ["2026-11-23T12:30:00+01:00", Date.UTC(2026, 10, 23, 11, 30, 0)],
    ["2026-11-23T06:30:00-05:00", Date.UTC(2026, 10, 23, 11, 30, 0)],
    ["2026-11-23", Date.UTC(2026, 10, 23)],
  ];
  for (const [input, ms] of cases) {
    const event = accepted(parseEvent({ event_name: "x", event_time: input }, ctx()));
    assert.equal(event.event_time, ms, `event_time ${input}`);
  }
});

Deno.test('parseEvent() reads "YYYY-MM-DD HH:MM:SS" without a zone as UTC, whatever the host zone', () => {
  const event = accepted(
    parseEvent({ event_name: "x", event_time: "2026-11-23 11:00:00" }, ctx()),
  );
  assert.equal(event.event_time, Date.UTC(2026, 10, 23, 11, 0, 0));
});

Deno.test("parseEvent() defaults event_time to the time the request was received", () => {
  assert.equal(accepted(parseEvent({ event_name: "x" }, ctx())).event_time, NOW);
});

Deno.test("parseEvent() accepts an event_time up to five minutes in the future", () => {
  const event = accepted(parseEvent({ event_name: "x", event_time: NOW + 300_000 }, ctx()));
  assert.equal(event.event_time, NOW + 300_000);
});

Deno.test("parseEvent() rejects an event_time more than five minutes in the future", () => {
  const result = rejected(
    parseEvent({ event_id: "f-1", event_name: "x", event_time: NOW + 301_000 }, ctx(), "events.2"),
  );
  assert.deepEqual(result, {
    ok: false,
    event_id: "f-1",
    errors: [{
      path: "events.2.event_time",
      message: "is 301 s in the future; at most 300 s of clock skew is accepted",
    }],
  });
});

Deno.test("parseEvent() rejects an event_time older than 90 days", () => {
  const old = (NOW - 90 * 86_400_000 - 1000) / 1000;
  const result = rejected(parseEvent({ event_name: "x", event_time: old }, ctx()));
  assert.deepEqual(result.errors, [{
    path: "event_time",
    message: "is older than 90 days, the oldest any platform accepts",
  }]);
  const edge = (NOW - 90 * 86_400_000) / 1000;
  assert.equal(
    accepted(parseEvent({ event_name: "x", event_time: edge }, ctx())).event_time,
    edge * 1000,
  );
});

Deno.test("parseEvent() rejects an event_time that is not a time", () => {
  assert.deepEqual(
    rejected(parseEvent({ event_name: "x", event_time: "yesterday" }, ctx())).errors,
    [{
      path: "event_time",
      message: '"yesterday" is neither unix seconds nor a valid ISO 8601 date-time',
    }],
  );
  assert.deepEqual(
    rejected(parseEvent({ event_name: "x", event_time: "2026-13-01" }, ctx())).errors,
    [{
      path: "event_time",
      message: '"2026-13-01" is neither unix seconds nor a valid ISO 8601 date-time',
    }],
  );
  assert.deepEqual(rejected(parseEvent({ event_name: "x", event_time: "1.7e9" }, ctx())).errors, [{
    path: "event_time",
    message: '"1.7e9" is neither unix seconds nor a valid ISO 8601 date-time',
  }]);
  const typed = rejected(parseEvent({ event_name: "x", event_time: true }, ctx()));
  assert.deepEqual(typed.errors.map((e) => e.path), ["event_time"]);
});

Deno.test("parseEvent() refuses an event_time with an impossible UTC offset", () => {
  for (const zone of ["+99:99", "+14:01", "-15:00", "+05:60", "+0099"]) {
    const text = `2026-11-23T12:00:00${zone}`;
    assert.deepEqual(rejected(parseEvent({ event_name: "x", event_time: text }, ctx())).errors, [{
      path: "event_time",
      message:
        `"${text}" has the UTC offset "${zone}"; offsets run from -14:00 to +14:00 with minutes below 60`,
    }], zone);
  }
  for (const [zone, hours] of [["+14:00", 14], ["-12:00", -12], ["+0545", 5.75]] as const) {
    const event = accepted(parseEvent({
      event_name: "x",
      event_time: `2026-11-22T11:00:00${zone}`,
    }, ctx()));
    assert.equal(event.event_time, Date.UTC(2026, 10, 22, 11) - hours * 3_600_000, zone);
  }
});

Deno.test("eventTimeMs() refuses a numeric string too large for a time", () => {
  assert.equal(eventTimeMs("9".repeat(400), NOW), `"${"9".repeat(40)}…" is too large for a time`);
});

// Regression (fixed): lib/event_input.ts eventTimeMs() accepts impossible calendar dates because
// V8's Date.parse rolls them over: "2026-09-31" is read as 2026-10-01 instead of rejected.
Deno.test({
  name: "eventTimeMs() rejects a calendar date that does not exist",
  fn() {
    assert.equal(typeof eventTimeMs("2026-09-31", NOW), "string");
    assert.equal(typeof eventTimeMs("2026-02-30T10:00:00Z", Date.UTC(2026, 2, 1)), "string");
  },
});

Deno.test("eventTimeMs() returns now when no time is given", () => {
  assert.equal(eventTimeMs(undefined, NOW), NOW);
});

Deno.test("parseEvent() moves an fbclid from page.url into click_ids and derives fbc", () => {
  const event = accepted(parseEvent({
    event_name: "page_view",
    page: { url: "https://shop.example/p/1?fbclid=IwAR_AbC-xyz&utm_source=meta&utm_medium=cpc" },
  }, ctx()));
  assert.deepEqual(event.user_data, {
    click_ids: { fbclid: "IwAR_AbC-xyz" },
    browser_ids: { fbc: `fb.1.${NOW}.IwAR_AbC-xyz` },
  });
  assert.deepEqual(event.page, {
    url: "https://shop.example/p/1?fbclid=IwAR_AbC-xyz&utm_source=meta&utm_medium=cpc",
    path: "/p/1",
  });
  assert.deepEqual(event.utm, { source: "meta", medium: "cpc" });
});

Deno.test("parseEvent() keeps an explicit fbc instead of deriving one from the fbclid", () => {
  const page = { url: "https://shop.example/?fbclid=NewClick" };
  const explicit = accepted(parseEvent({
    event_name: "x",
    page,
    user_data: { browser_ids: { fbc: "fb.1.1.OldClick" } },
  }, ctx()));
  assert.deepEqual(explicit.user_data.browser_ids, { fbc: "fb.1.1.OldClick" });
  const topLevel = accepted(
    parseEvent({ event_name: "x", page, user_data: { fbc: "fb.1.2.Top" } }, ctx()),
  );
  assert.deepEqual(topLevel.user_data.browser_ids, { fbc: "fb.1.2.Top" });
  const cookie = accepted(
    parseEvent({ event_name: "x", page }, ctx({ cookies: new Map([["_fbc", "fb.1.3.Cookie"]]) })),
  );
  assert.deepEqual(cookie.user_data.browser_ids, { fbc: "fb.1.3.Cookie" });
  assert.deepEqual(cookie.user_data.click_ids, { fbclid: "NewClick" });
});

Deno.test("parseEvent() moves click ids at the top of user_data into click_ids", () => {
  const event = accepted(parseEvent({
    event_name: "x",
    user_data: { email: "ada@example.com", gclid: "Cj0_Top", TTCLID: "TtUpper", wbraid: "Wb" },
  }, ctx()));
  assert.deepEqual(event.user_data, {
    email: "ada@example.com",
    click_ids: { gclid: "Cj0_Top", ttclid: "TtUpper", wbraid: "Wb" },
  });
});

Deno.test("parseEvent() ranks explicit click_ids over top-level user_data over page.url", () => {
  const event = accepted(parseEvent({
    event_name: "x",
    page: { url: "https://shop.example/?gclid=FromUrl&msclkid=MsUrl&ttclid=TtUrl" },
    user_data: { gclid: "FromTop", msclkid: "MsTop", click_ids: { gclid: "FromClickIds" } },
  }, ctx()));
  assert.deepEqual(event.user_data.click_ids, {
    gclid: "FromClickIds",
    msclkid: "MsTop",
    ttclid: "TtUrl",
  });
});

Deno.test("parseEvent() moves user_data.fbp into browser_ids", () => {
  const event = accepted(parseEvent({
    event_name: "x",
    user_data: { fbp: "fb.1.1700000000000.42" },
  }, ctx()));
  assert.deepEqual(event.user_data, { browser_ids: { fbp: "fb.1.1700000000000.42" } });
});

Deno.test("parseEvent() mirrors cookies into browser_ids, explicit ids winning", () => {
  const cookies = new Map([
    ["_fbp", "fb.1.1.cookie"],
    ["_ga", "GA1.1.5.6"],
    ["_ga_ABC", "GS2.1.s1795435000$o1"],
    ["_ttp", "TtpCookie"],
  ]);
  const event = accepted(parseEvent({
    event_name: "x",
    user_data: { browser_ids: { ttp: "TtpExplicit" } },
  }, ctx({ cookies })));
  assert.deepEqual(event.user_data.browser_ids, {
    fbp: "fb.1.1.cookie",
    ga: "GA1.1.5.6",
    ga_session_id: "1795435000",
    ttp: "TtpExplicit",
  });
});

Deno.test("parseEvent() mirrors the li_fat_id cookie into click_ids; the page URL and explicit ids win", () => {
  const cookies = new Map([["li_fat_id", "li-cookie"]]);
  const mirrored = accepted(parseEvent({ event_name: "x" }, ctx({ cookies })));
  assert.deepEqual(mirrored.user_data.click_ids, { li_fat_id: "li-cookie" });
  const fromUrl = accepted(parseEvent({
    event_name: "x",
    page: { url: "https://shop.example/?li_fat_id=li-url" },
  }, ctx({ cookies })));
  assert.equal(fromUrl.user_data.click_ids?.li_fat_id, "li-url");
  const explicit = accepted(parseEvent({
    event_name: "x",
    user_data: { click_ids: { li_fat_id: "li-explicit" } },
  }, ctx({ cookies })));
  assert.equal(explicit.user_data.click_ids?.li_fat_id, "li-explicit");
});

Deno.test("parseEvent() fills client_ip and user_agent from the request only when absent", () => {
  const request = ctx({ clientIp: "203.0.113.9", userAgent: "Mozilla/5.0 Test" });
  const filled = accepted(parseEvent({ event_name: "x" }, request));
  assert.deepEqual(filled.user_data, { client_ip: "203.0.113.9", user_agent: "Mozilla/5.0 Test" });
  const kept = accepted(parseEvent({
    event_name: "x",
    user_data: { client_ip: "198.51.100.1", user_agent: "Server UA" },
  }, request));
  assert.deepEqual(kept.user_data, { client_ip: "198.51.100.1", user_agent: "Server UA" });
  const long = accepted(parseEvent({ event_name: "x" }, ctx({ userAgent: "u".repeat(2000) })));
  assert.equal(long.user_data.user_agent, "u".repeat(1024));
});

Deno.test("parseEvent() takes client_ip and user_agent only from the connection for browser dialects", () => {
  const sent = { client_ip: "198.51.100.1", user_agent: "Forged UA", email: "ada@example.com" };
  for (const dialect of ["browser", "collect"] as const) {
    const connection = ctx({ dialect, clientIp: "203.0.113.9", userAgent: "Mozilla/5.0 Test" });
    const event = accepted(parseEvent({ event_name: "x", user_data: sent }, connection));
    assert.deepEqual(event.user_data, {
      email: "ada@example.com",
      client_ip: "203.0.113.9",
      user_agent: "Mozilla/5.0 Test",
    }, dialect);
    // Without a known peer, the body's claim is still dropped.
    const unknown = accepted(parseEvent({ event_name: "x", user_data: sent }, ctx({ dialect })));
    assert.deepEqual(unknown.user_data, { email: "ada@example.com" }, dialect);
  }
  for (const dialect of ["native", "segment", "hook"] as const) {
    const event = accepted(parseEvent({ event_name: "x", user_data: sent }, ctx({ dialect })));
    assert.deepEqual(event.user_data, sent, dialect);
  }
});

Deno.test("parseEvent() keeps unknown top-level fields in properties, explicit ones winning", () => {
  const event = accepted(parseEvent({
    event_name: "x",
    plan: "pro",
    coupon: "BF",
    nested: { a: [1, 2] },
    properties: { coupon: "EXPLICIT", color: "red" },
  }, ctx()));
  assert.deepEqual(event.properties, {
    plan: "pro",
    coupon: "EXPLICIT",
    nested: { a: [1, 2] },
    color: "red",
  });
});

Deno.test("parseEvent() keeps value, currency, order, items and consent normalised", () => {
  const event = accepted(parseEvent({
    event_name: "purchase",
    value: "49.90",
    currency: " eur ",
    order_id: 1001,
    items: [{ id: 7, quantity: "2", price: "24.95", name: "Shoe" }],
    consent: { ad_user_data: true, ad_personalization: "DENIED", analytics_storage: "granted" },
  }, ctx()));
  assert.equal(event.value, 49.9);
  assert.equal(event.currency, "EUR");
  assert.equal(event.order_id, "1001");
  assert.deepEqual(event.items, [{ id: "7", quantity: 2, price: 24.95, name: "Shoe" }]);
  assert.deepEqual(event.consent, {
    ad_user_data: "granted",
    ad_personalization: "denied",
    analytics_storage: "granted",
  });
});

Deno.test("parseEvent() normalises every consent spelling", () => {
  const cases: [unknown, string][] = [
    [true, "granted"],
    [false, "denied"],
    ["granted", "granted"],
    ["GRANTED", "granted"],
    ["denied", "denied"],
    ["DENIED", "denied"],
  ];
  for (const [input, state] of cases) {
    const event = accepted(
      parseEvent({ event_name: "x", consent: { ad_user_data: input } }, ctx()),
    );
    assert.deepEqual(event.consent, { ad_user_data: state }, `consent ${JSON.stringify(input)}`);
  }
  const bad = rejected(parseEvent({ event_name: "x", consent: { ad_user_data: "yes" } }, ctx()));
  assert.deepEqual(bad.errors.map((e) => e.path), ["consent.ad_user_data"]);
});

Deno.test("parseEvent() coerces numeric-string values and rejects other strings", () => {
  assert.equal(accepted(parseEvent({ event_name: "x", value: "-5" }, ctx())).value, -5);
  assert.equal(accepted(parseEvent({ event_name: "x", value: " 12 " }, ctx())).value, 12);
  assert.equal(accepted(parseEvent({ event_name: "x", value: 0 }, ctx())).value, 0);
  const bad = rejected(parseEvent({ event_name: "x", value: "49,90" }, ctx(), "events.3"));
  assert.deepEqual(bad.errors.map((e) => e.path), ["events.3.value"]);
});

Deno.test("parseEvent() refuses a numeric string too large for a double in every numeric field", () => {
  const huge = "9".repeat(400);
  const message = `must be a number a double can hold; "${"9".repeat(40)}…" is too large`;
  const result = rejected(parseEvent(
    {
      event_name: "purchase",
      value: huge,
      items: [{ id: "sku-1", price: huge, quantity: `-${huge}` }],
    },
    ctx(),
    "events.0",
  ));
  assert.deepEqual(result.errors, [
    { path: "events.0.value", message },
    {
      path: "events.0.items.0.quantity",
      message: `must be a number a double can hold; "-${"9".repeat(39)}…" is too large`,
    },
    { path: "events.0.items.0.price", message },
  ]);
  // 1e400 in JSON parses to Infinity.
  assert.deepEqual(rejected(parseEvent({ event_name: "x", value: Infinity }, ctx())).errors, [
    { path: "value", message: "must be a finite number" },
  ]);
  const longButFinite = accepted(parseEvent({ event_name: "x", value: "9".repeat(300) }, ctx()));
  assert.equal(longButFinite.value, Number("9".repeat(300)));
});

Deno.test("parseEvent() validates currency as a 3-letter code", () => {
  for (const currency of ["EURO", "E1R", "", "€"]) {
    const result = rejected(parseEvent({ event_name: "x", currency }, ctx()));
    assert.deepEqual(result.errors, [{
      path: "currency",
      message: "must be a 3-letter ISO 4217 code",
    }], `currency ${currency}`);
  }
  assert.equal(accepted(parseEvent({ event_name: "x", currency: "usd" }, ctx())).currency, "USD");
});

Deno.test("parseEvent() reports wrong types with dotted paths under the path prefix", () => {
  const result = rejected(parseEvent(
    {
      event_id: "bad-1",
      event_name: "x",
      value: true,
      user_data: { email: 5, click_ids: { foo: "x" } },
      items: [{ quantity: 1 }],
    },
    ctx(),
    "events.3",
  ));
  assert.equal(result.event_id, "bad-1");
  assert.deepEqual(result.errors, [
    {
      path: "events.3.user_data.email",
      message: "must be a string, not a number",
    },
    {
      path: "events.3.user_data.click_ids",
      message: 'must not hold the field "foo" (not a field of this object)',
    },
    { path: "events.3.value", message: "must be a number, not true" },
    { path: "events.3.items.0.id", message: "is required (a string or a number)" },
  ]);
});

Deno.test("parseEvent() reports a missing event_name and a non-object event", () => {
  assert.deepEqual(rejected(parseEvent({}, ctx())).errors.map((e) => e.path), ["event_name"]);
  assert.deepEqual(rejected(parseEvent({ event_name: "   " }, ctx())).errors.map((e) => e.path), [
    "event_name",
  ]);
  for (const input of [null, "purchase", 42, ["a"]]) {
    assert.deepEqual(rejected(parseEvent(input, ctx(), "events.0")), {
      ok: false,
      errors: [{ path: "events.0", message: "must be a JSON object" }],
    });
  }
  assert.deepEqual(rejected(parseEvent(null, ctx())).errors, [
    { path: "", message: "must be a JSON object" },
  ]);
});

Deno.test("parseEvent() rejects event_name over 100 and event_id over 128 characters", () => {
  const result = rejected(
    parseEvent({ event_name: "n".repeat(101), event_id: "i".repeat(129) }, ctx()),
  );
  assert.deepEqual(result.errors, [
    { path: "event_id", message: "must be at most 128 characters" },
    { path: "event_name", message: "must be at most 100 characters" },
  ]);
  const edge = accepted(
    parseEvent({ event_name: "n".repeat(100), event_id: "i".repeat(128) }, ctx()),
  );
  assert.equal(edge.event_name.length, 100);
  assert.equal(edge.event_id.length, 128);
});

Deno.test("parseEvent() rejects nesting deeper than 10 levels and accepts 10", () => {
  accepted(parseEvent({ event_name: "x", properties: nested(9) }, ctx()));
  const result = rejected(
    parseEvent({ event_name: "x", properties: nested(10) }, ctx(), "events.1"),
  );
  assert.deepEqual(result.errors, [{
    path: "events.1.properties.a.a.a.a.a.a.a.a.a",
    message: "is nested deeper than 10 levels",
  }]);
  const arrays = rejected(parseEvent({ event_name: "x", deep: [[[[[[[[[[1]]]]]]]]]] }, ctx()));
  assert.deepEqual(arrays.errors, [{
    path: "deep.0.0.0.0.0.0.0.0.0",
    message: "is nested deeper than 10 levels",
  }]);
});

Deno.test("parseEvent() rejects an event larger than 32 KiB", () => {
  const result = rejected(
    parseEvent(
      { event_id: "big", event_name: "x", properties: { blob: "b".repeat(33_000) } },
      ctx(),
    ),
  );
  assert.equal(result.event_id, "big");
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0]!.path, "");
  assert.match(result.errors[0]!.message, /^event is 33\d{3} bytes; at most 32768 are accepted$/);
  const fits = parseEvent({ event_name: "x", properties: { blob: "b".repeat(32_000) } }, ctx());
  assert.ok(fits.ok && new TextEncoder().encode(fits.json).length <= 32 * 1024);
});

Deno.test("parseEvent() counts the size in UTF-8 bytes when text is not ASCII", () => {
  const result = rejected(
    parseEvent({ event_name: "x", properties: { note: "€".repeat(12_000) } }, ctx()),
  );
  assert.match(result.errors[0]!.message, /^event is 36\d{3} bytes; at most 32768 are accepted$/);
  const mixed = parseEvent({ event_name: "x", properties: { a: "é😀€", b: "x" } }, ctx());
  if (!mixed.ok) assert.fail("expected the event to be accepted");
  assert.equal(mixed.json, JSON.stringify(mixed.event));
});

Deno.test("parseEvent() keeps __proto__ keys out of properties and user_data", () => {
  const input = JSON.parse(
    '{"event_name":"x","__proto__":{"polluted":true},"constructor":"c",' +
      '"user_data":{"__proto__":{"email":"evil@example.com"},"toString":"t"}}',
  );
  const event = accepted(parseEvent(input, ctx()));
  assert.deepEqual(Object.keys(event.properties), ["constructor"]);
  assert.equal(Object.getPrototypeOf(event.properties), Object.prototype);
  assert.equal(Object.hasOwn(event.properties, "polluted"), false);
  assert.deepEqual(Object.keys(event.user_data), ["toString"]);
  assert.equal(event.user_data.email, undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

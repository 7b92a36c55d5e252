import assert from "node:assert/strict";
import { z } from "zod";
import type { Connector, OutboundRequest } from "../../connectors/types.ts";
import { AccessTokens } from "./access_tokens.ts";
import type { Destination } from "./destinations.ts";
import { sendPlatformTest } from "./platform_test_send.ts";
import type { SendResult } from "./send.ts";

const settings = z.object({ endpoint: z.string() }).strict();
const NOW = Date.UTC(2026, 11, 4);

const connector = {
  id: "fake",
  label: "Fake Ads",
  docsUrl: "https://fake.example/docs",
  settings,
  secretFields: [],
  urlFields: ["endpoint"],
  batchLimit: 10,
  consent: "ads",
  maxEventAgeMs: () => undefined,
  testMode: "Sends with ?test=true",
  map: (events, s, options) => ({
    requests: [{
      method: "POST",
      url: `${s.endpoint}/events${options.test ? "?test=true" : ""}`,
      headers: {},
      body: JSON.stringify(events.map((e) => e.event_name)),
      eventIndexes: events.map((_, i) => i),
    }],
    skipped: [],
  }),
  classify: (response) => ({
    outcome: response.status === 200 ? { kind: "delivered" } : { kind: "failed", reason: "nope" },
  }),
} satisfies Connector<typeof settings>;

const destination = { id: "dst_1", workspace_id: "ws_1", updated_at: "t" } as Destination;

function recorder(status = 200) {
  const sent: OutboundRequest[] = [];
  const send = (request: OutboundRequest): Promise<SendResult> => {
    sent.push(request);
    return Promise.resolve({
      response: { status, headers: new Headers(), body: '{"ok":true}' },
      latencyMs: 4.2,
      bodySnippet: '{"ok":true}',
    });
  };
  return { sent, deps: { send, tokens: new AccessTokens(send), now: () => NOW } };
}

Deno.test("sendPlatformTest() sends the test purchase in test mode and answers what the platform said", async () => {
  const { sent, deps } = recorder();
  const result = await sendPlatformTest(deps, {
    destination,
    connector,
    settings: { endpoint: "http://fake.test" },
  });
  assert.deepEqual(sent.map((r) => [r.url, r.body]), [[
    "http://fake.test/events?test=true",
    '["purchase"]',
  ]]);
  assert.deepEqual(result, {
    ok: true,
    sent: true,
    checked: "event",
    test_mode: "Sends with ?test=true",
    outcome: { kind: "delivered" },
    status: 200,
    response: '{"ok":true}',
    latency_ms: 4,
  });
});

Deno.test("sendPlatformTest() sends nothing to a platform without a test mode, and says so", async () => {
  const { sent, deps } = recorder();
  const result = await sendPlatformTest(deps, {
    destination,
    connector: { ...connector, testMode: null },
    settings: { endpoint: "http://fake.test" },
  });
  assert.deepEqual(sent, []);
  assert.deepEqual([result.ok, result.sent, result.checked, result.test_mode], [
    false,
    false,
    "nothing",
    null,
  ]);
  assert.deepEqual(result.outcome, {
    kind: "failed",
    reason: "Fake Ads has no test mode, so no event was sent",
  });
});

/** The fake connector without a test mode, with an OAuth step whose token endpoint answers `status`. */
function oauthConnector(): Connector<typeof settings> {
  return {
    ...connector,
    testMode: null,
    authorize: {
      request: () => ({
        method: "POST",
        url: "http://fake.test/token",
        headers: {},
        eventIndexes: [],
      }),
      read: (response) =>
        response.status === 200
          ? { accessToken: "tok", expiresInMs: 60_000 }
          : { kind: "auth_failed", reason: "invalid_grant" },
    },
  };
}

Deno.test("sendPlatformTest() passes a platform without a test mode whose credentials are accepted, sending no event", async () => {
  const { sent, deps } = recorder();
  const result = await sendPlatformTest(deps, {
    destination,
    connector: oauthConnector(),
    settings: { endpoint: "http://fake.test" },
  });
  assert.deepEqual(sent.map((r) => r.url), ["http://fake.test/token"]);
  assert.deepEqual(result, {
    ok: true,
    sent: false,
    checked: "credentials",
    test_mode: null,
    outcome: {
      kind: "delivered",
      detail: "Fake Ads has no test mode, so no event was sent; its credentials were accepted",
    },
    status: null,
    response: "",
    latency_ms: 0,
  });
});

Deno.test("sendPlatformTest() fails on refused credentials and sends no event", async () => {
  const { sent, deps } = recorder(401);
  const result = await sendPlatformTest(deps, {
    destination,
    connector: { ...oauthConnector(), testMode: "Sends with ?test=true" },
    settings: { endpoint: "http://fake.test" },
  });
  assert.deepEqual(sent.map((r) => r.url), ["http://fake.test/token"]);
  assert.deepEqual([result.ok, result.sent, result.checked], [false, false, "credentials"]);
  assert.equal(result.outcome.kind, "auth_failed");
});

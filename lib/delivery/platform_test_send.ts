/**
 * `POST /v1/platforms/:id/test`: a synthetic purchase sent in the platform's test mode, and
 * what the platform said; nothing is sent to a platform that has no test mode.
 *
 * @module
 */
import { mapEvents } from "../../connectors/map_events.ts";
import type { Connector, Outcome } from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { AccessTokens } from "./access_tokens.ts";
import { classifySend } from "./attempt.ts";
import type { Destination } from "./destinations.ts";
import type { Sender } from "./send.ts";

/** What a platform test gave. */
export interface PlatformTestResult {
  /** The platform took the test event (or, without a test mode, the credentials). */
  ok: boolean;
  /** Whether a request went to the platform. */
  sent: boolean;
  /** How the platform's test mode works; null when it has none. */
  test_mode: string | null;
  outcome: Outcome;
  /** The platform's HTTP status, null when nothing was answered. */
  status: number | null;
  /** The first 2 KiB of the platform's answer. */
  response: string;
  latency_ms: number;
}

/** The synthetic purchase `POST /v1/platforms/:id/test` sends in the platform's test mode. */
export function testEvent(wsId: string, now: number): SluiceEvent {
  return {
    id: `test_${now}`,
    workspace_id: wsId,
    event_id: `sluice-test-${now}`,
    event_name: "purchase",
    event_time: now,
    received_at: now,
    source: "server",
    action_source: "website",
    dialect: "native",
    user_data: {
      email: "test@example.com",
      phone: "+16505551212",
      first_name: "Test",
      last_name: "User",
      country: "US",
      client_ip: "203.0.113.10",
      user_agent: "Mozilla/5.0 (Sluice platform test)",
      anonymous_id: "sluice-test-visitor",
    },
    value: 1,
    currency: "USD",
    order_id: `sluice-test-${now}`,
    page: { url: "https://example.com/sluice-test" },
    properties: { sluice_test: true },
    trace_id: "sluice-test",
  };
}

/**
 * Sends the synthetic purchase to a destination in its platform's test mode (after the
 * `authorize` step, for OAuth platforms) and reads the answer. A platform without a test
 * mode gets nothing: sending would record a real conversion. Its access token is still
 * fetched where it has an `authorize` step, which checks the credentials.
 */
export async function sendPlatformTest(
  deps: { send: Sender; tokens: AccessTokens; now: () => number },
  target: { destination: Destination; connector: Connector; settings: unknown },
): Promise<PlatformTestResult> {
  const { destination, connector, settings } = target;
  const base = { test_mode: connector.testMode, status: null, response: "", latency_ms: 0 };
  const token = connector.authorize
    ? await deps.tokens.get(destination, connector, settings, { fresh: true })
    : undefined;
  if (token && "outcome" in token) {
    return { ...base, ok: false, sent: true, outcome: token.outcome };
  }
  if (connector.testMode === null) {
    const reason = `${connector.label} has no test mode, so no event was sent` +
      (token?.token ? "; its credentials were accepted" : "");
    return {
      ...base,
      ok: token?.token !== undefined,
      sent: false,
      outcome: { kind: "failed", reason },
    };
  }
  const now = deps.now();
  const { requests, skipped } = mapEvents(
    connector,
    [testEvent(destination.workspace_id, now)],
    settings,
    {
      now,
      test: true,
      accessToken: token?.token,
    },
  );
  const request = requests[0];
  if (!request) {
    const reason = skipped[0]?.reason ?? "the connector made no request for the test event";
    return { ...base, ok: false, sent: false, outcome: { kind: "failed", reason } };
  }
  const answer = await deps.send(request);
  const outcome = classifySend(connector, request, answer).outcome;
  return {
    ok: outcome.kind === "delivered" || outcome.kind === "accepted",
    sent: true,
    test_mode: connector.testMode,
    outcome,
    status: answer.response?.status ?? null,
    response: answer.bodySnippet,
    latency_ms: Math.round(answer.latencyMs),
  };
}

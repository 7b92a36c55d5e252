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

/**
 * What a platform test checked: the test event (platforms with a test mode), only the
 * credentials (an OAuth token request, for platforms without one, or when the token was
 * refused before the event could go), or nothing.
 */
export type PlatformTestCheck = "event" | "credentials" | "nothing";

/** What a platform test gave. */
export interface PlatformTestResult {
  /**
   * The check passed: the platform took the test event, or, where the credentials were the
   * whole test, accepted them. Always false when nothing was checked.
   */
  ok: boolean;
  /** Whether the test event went to the platform. */
  sent: boolean;
  checked: PlatformTestCheck;
  /** How the platform's test mode works; null when it has none. */
  test_mode: string | null;
  /** The platform's answer to what was checked, as a delivery reads it. */
  outcome: Outcome;
  /** The platform's HTTP status to the test event, null when it was not sent. */
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
 * mode gets no event: sending would record a real conversion. Where it has an `authorize`
 * step, a fresh access token is fetched instead, and that credentials check is the test.
 */
export async function sendPlatformTest(
  deps: { send: Sender; tokens: AccessTokens; now: () => number },
  target: { destination: Destination; connector: Connector; settings: unknown },
): Promise<PlatformTestResult> {
  const { destination, connector, settings } = target;
  const base = {
    sent: false,
    test_mode: connector.testMode,
    status: null,
    response: "",
    latency_ms: 0,
  };
  const token = connector.authorize
    ? await deps.tokens.get(destination, connector, settings, { fresh: true })
    : undefined;
  if (token && "outcome" in token) {
    return { ...base, ok: false, checked: "credentials", outcome: token.outcome };
  }
  if (connector.testMode === null) {
    const noEvent = `${connector.label} has no test mode, so no event was sent`;
    if (token?.token === undefined) {
      return {
        ...base,
        ok: false,
        checked: "nothing",
        outcome: { kind: "failed", reason: noEvent },
      };
    }
    const detail = `${noEvent}; its credentials were accepted`;
    return { ...base, ok: true, checked: "credentials", outcome: { kind: "delivered", detail } };
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
    return { ...base, ok: false, checked: "nothing", outcome: { kind: "failed", reason } };
  }
  const answer = await deps.send(request);
  const outcome = classifySend(connector, request, answer).outcome;
  return {
    ok: outcome.kind === "delivered" || outcome.kind === "accepted",
    sent: true,
    checked: "event",
    test_mode: connector.testMode,
    outcome,
    status: answer.response?.status ?? null,
    response: answer.bodySnippet,
    latency_ms: Math.round(answer.latencyMs),
  };
}

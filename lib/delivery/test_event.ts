import type { SluiceEvent } from "../../core/event.ts";

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

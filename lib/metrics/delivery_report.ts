import type { SluiceEvent } from "../../core/event.ts";
import type { DeliveryRow } from "../delivery/rows.ts";
import type { SendResult } from "../delivery/send.ts";
import { log, logs } from "../log.ts";
import type { Metrics } from "./metrics.ts";

/** One event's settled attempt: its row after the answer, and the answer when one came. */
export interface SettledAttempt {
  /** The event's storage id and trace id (unknown when the event has expired). */
  event: Pick<SluiceEvent, "id"> & Partial<Pick<SluiceEvent, "trace_id">>;
  row: DeliveryRow;
  answer?: SendResult;
}

/** What kind of settlement is reported: an attempt (sent or closed unsent) or a follow-up check. */
export type SettleKind = "attempt" | "follow_up";

/**
 * Reports settled deliveries: one log line per event (trace id, workspace, destination id
 * and type, outcome, HTTP status, latency; never the platform's answer, which may echo the
 * user's data), the delivery counters by type and outcome, the retry counter, and the
 * latency of each request once (events of one request share its answer).
 */
export function reportDeliveries(
  metrics: Metrics | undefined,
  wsId: string,
  settled: readonly SettledAttempt[],
  options: { attempt: number; kind?: SettleKind },
): void {
  const kind = options.kind ?? "attempt";
  const timed = new Set<SendResult>();
  const logged = logs("info");
  for (const { event, row, answer } of settled) {
    metrics?.deliveries.inc({ type: row.type, outcome: row.status });
    if (kind === "attempt" && options.attempt > 1) {
      metrics?.deliveryRetries.inc({ type: row.type });
    }
    if (answer && answer.latencyMs > 0 && !timed.has(answer)) {
      timed.add(answer);
      metrics?.deliveryDuration.observe({ type: row.type }, answer.latencyMs / 1000);
    }
    if (!logged) continue;
    log.info(kind === "attempt" ? "delivery attempt" : "delivery follow-up", {
      trace_id: event.trace_id,
      workspace_id: wsId,
      event: event.id,
      destination_id: row.platform_id,
      destination_type: row.type,
      attempt: options.attempt,
      outcome: row.status,
      status: answer?.response?.status,
      latency_ms: answer ? Math.round(answer.latencyMs) : undefined,
    });
  }
}

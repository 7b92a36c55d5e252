import type { PlatformType } from "../../connectors/types.ts";
import { eventDeliveriesPrefix } from "../kv_keys.ts";

/** Where one event stands with one destination. */
export type DeliveryStatus = "pending" | "delivered" | "retrying" | "failed" | "skipped";

/** One event's delivery to one destination: the answer to "did it reach Meta, and what did Meta say?". */
export interface DeliveryRow {
  platform_id: string;
  type: PlatformType;
  status: DeliveryStatus;
  /** The name sent (after routing-rule renames). */
  event_name: string;
  attempts: number;
  /** HTTP status of the last answer. */
  last_status?: number;
  /** Why the last attempt did not deliver, or why the event was skipped. */
  last_error?: string;
  /** The first 2 KiB of the platform's last answer. */
  response?: string;
  latency_ms?: number;
  /** Epoch ms of the next attempt, while retrying. */
  next_attempt_at?: number;
  updated_at: string;
}

/** How long delivery rows are kept, ms (with the events they describe). */
export const DELIVERY_ROW_TTL_MS = 30 * 86_400_000;

/** One event's delivery rows. */
export async function deliveriesOf(
  kv: Deno.Kv,
  wsId: string,
  ulid: string,
): Promise<DeliveryRow[]> {
  const rows: DeliveryRow[] = [];
  for await (const entry of kv.list<DeliveryRow>({ prefix: eventDeliveriesPrefix(wsId, ulid) })) {
    rows.push(entry.value);
  }
  return rows;
}

/**
 * What a delivery row's change adds to the counters: the row leaves its old state (−1) and
 * enters its new one (+1) in the hour of its event, so every (event, destination) counts
 * once in exactly one state however often it is retried, replayed or settled later.
 *
 * @module
 */
import { decodeTime } from "ulid";
import type { SluiceEvent } from "../../core/event.ts";
import type { DeliveryRow, DeliveryStatus } from "../delivery/rows.ts";
import { issueExampleKey, missingOrderKey } from "../kv/keys.ts";
import { FAMILY } from "./counters.ts";
import { EXAMPLE_TTL_MS, issueExample } from "./examples.ts";
import { identifiersOf } from "./identifiers.ts";
import { nameLabel } from "./labels.ts";
import { latencyBin } from "./latency.ts";
import { reasonClassOf } from "./reasons.ts";
import type { AnalyticsWrites } from "./writes.ts";

/** The fields of a row its counters depend on. */
export type RowState = Pick<DeliveryRow, "status" | "event_name" | "last_status" | "last_error">;

/** What is known about a row's change besides the new row. */
export interface RowContext {
  /** The row (or fan-out's route) before; absent when the event had none there. */
  before?: RowState;
  /** The destination's platform type (which click and browser ids it reads). */
  type: string;
  /** The event, for its identifiers; needed when the row enters or leaves a sent state. */
  event?: SluiceEvent;
  /** The event is the first with its order id: it counts in reconciliation. */
  firstOfOrder?: boolean;
  /** Accept→delivery latency to record when the row enters a sent state (not on replays). */
  latencyMs?: number;
}

/** One row's change. */
export interface RowChange extends RowContext {
  /** The event's storage id: its time is the counters' bucket. */
  ulid: string;
  destinationId: string;
  after: RowState;
}

/** An order's delivery to one destination that has not been accepted. */
export interface MissingDelivery {
  order_id: string;
  status: DeliveryStatus;
  reason_class?: string;
  updated_at: number;
}

/** The identifier counters' dimension of the sent events themselves (their denominator). */
export const SENT = "_sent";

/** How long a missing-order entry is kept, ms (as long as delivery rows). */
export const MISSING_TTL_MS = 30 * 86_400_000;

/** Whether a status means the platform took the event. */
export function isSent(status: DeliveryStatus): boolean {
  return status === "delivered" || status === "accepted";
}

/** The reason class a row is counted under: failed and skipped rows only. */
function reasonOf(row: RowState): string {
  return row.status === "failed" || row.status === "skipped" ? reasonClassOf(row) : "";
}

function stateDims(destId: string, row: RowState): { row: string; state: string } {
  const reason = reasonOf(row);
  return {
    row: `${destId}|${nameLabel(row.event_name)}|${row.status}|${reason}`,
    state: reason === "" ? `${destId}|${row.status}` : `${destId}|${row.status}|${reason}`,
  };
}

/** Adds a row's change to `writes`: state counters, identifiers, latency, missing orders. */
export function countRowChange(writes: AnalyticsWrites, wsId: string, change: RowChange): void {
  const { counters } = writes;
  const at = decodeTime(change.ulid);
  const dest = change.destinationId;
  const move = (row: RowState, by: number) => {
    const dims = stateDims(dest, row);
    counters.add(wsId, at, FAMILY.deliveries, dims.row, by);
    counters.add(wsId, at, FAMILY.destinations, dims.state, by);
    if (change.firstOfOrder) counters.add(wsId, at, FAMILY.orders, dims.state, by);
  };
  if (change.before) move(change.before, -1);
  move(change.after, 1);
  if (change.after.status === "retrying") {
    counters.add(wsId, at, FAMILY.destinations, `${dest}|retries`, 1);
  }
  const reason = reasonOf(change.after);
  if (reason !== "") {
    writes.set(
      issueExampleKey(wsId, dest, `${change.after.status}|${reason}`),
      issueExample(change.event?.event_id, change.after.last_error ?? "", Date.now()),
      EXAMPLE_TTL_MS,
    );
  }
  const wasSent = change.before !== undefined && isSent(change.before.status);
  const nowSent = isSent(change.after.status);
  if (wasSent !== nowSent && change.event) {
    const by = nowSent ? 1 : -1;
    const purchase = change.event.event_name === "purchase";
    for (const identifier of [SENT, ...identifiersOf(change.event, change.type)]) {
      counters.add(wsId, at, FAMILY.identifiers, `${dest}|${identifier}`, by);
      if (purchase) counters.add(wsId, at, FAMILY.purchaseIdentifiers, `${dest}|${identifier}`, by);
    }
  }
  if (nowSent && !wasSent && change.latencyMs !== undefined) {
    const ms = Math.max(0, Math.round(change.latencyMs));
    const bin = `b${latencyBin(ms)}`;
    counters.add(wsId, at, FAMILY.latency, bin, 1);
    counters.add(wsId, at, FAMILY.latency, `${bin}|${dest}`, 1);
    counters.add(wsId, at, FAMILY.latency, `sum|${dest}`, ms);
    counters.add(wsId, at, FAMILY.latency, `n|${dest}`, 1);
  }
  const orderId = change.event?.order_id;
  if (change.firstOfOrder && orderId !== undefined) {
    const key = missingOrderKey(wsId, change.ulid, dest);
    if (isMissing(change.after.status)) {
      const missing: MissingDelivery = {
        order_id: orderId,
        status: change.after.status,
        updated_at: Date.now(),
        ...(reason === "" ? {} : { reason_class: reason }),
      };
      writes.set(key, missing, MISSING_TTL_MS);
    } else if (change.before && isMissing(change.before.status)) writes.delete(key);
  }
}

/**
 * Whether an order's delivery in this state is listed as missing: refused or waiting to
 * retry. A pending one (not answered yet) is only counted: listing it would cost a write and
 * a delete for nearly every order, which is delivered moments later.
 */
function isMissing(status: DeliveryStatus): boolean {
  return status === "failed" || status === "retrying" || status === "skipped";
}

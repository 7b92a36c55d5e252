import type { SluiceEvent } from "../../core/event.ts";
import { type EventRef, type PlatformRef } from "../webhooks/catalogue.ts";
import { eventRef, noticeSlices, type WebhookNotices } from "../webhooks/notices.ts";
import type { Destination } from "./destinations.ts";
import type { PlannedNotice, RowWrite } from "./row_writer.ts";

/** A destination as webhook notices name it. */
export function platformRef(destination: Destination): PlatformRef {
  return { id: destination.id, type: destination.type, name: destination.name };
}

/**
 * The `delivery.failed` notices (one per failure reason) and the `delivery.recovered` notice
 * that settled rows raise, to be committed with those rows. `attempt` is the attempt that
 * settled them; a delivery on a later attempt than the first is a recovery.
 */
export async function planDeliveryNotices(
  notices: WebhookNotices | undefined,
  wsId: string,
  destination: Destination,
  settled: { attempt: number; events: readonly SluiceEvent[]; writes: readonly RowWrite[] },
): Promise<PlannedNotice[]> {
  if (!notices) return [];
  const failedRows = settled.writes.filter(({ row }) => row.status === "failed");
  const recoveredRows = settled.attempt > 1
    ? settled.writes.filter(({ row }) => row.status === "delivered")
    : [];
  const [failedHooks, recoveredHooks] = await Promise.all([
    failedRows.length ? notices.subscribers(wsId, "delivery.failed") : [],
    recoveredRows.length ? notices.subscribers(wsId, "delivery.recovered") : [],
  ]);
  const platform = platformRef(destination);
  const byUlid = new Map(settled.events.map((event) => [event.id, event]));
  const failed = new Map<string, { reason: string; last_status?: number; events: EventRef[] }>();
  for (const { ulid, row } of failedHooks.length ? failedRows : []) {
    const reason = row.last_error ?? "failed";
    const group = failed.get(reason) ??
      { reason, ...(row.last_status ? { last_status: row.last_status } : {}), events: [] };
    group.events.push(eventRef(byUlid.get(ulid)!));
    failed.set(reason, group);
  }
  const planned: PlannedNotice[] = [];
  for (const group of failed.values()) {
    for (const slice of noticeSlices(group.events)) {
      planned.push({
        hooks: failedHooks,
        notice: {
          type: "delivery.failed",
          data: { platform, ...group, attempts: settled.attempt, events: slice },
        },
      });
    }
  }
  const recovered = recoveredHooks.length
    ? recoveredRows.map(({ ulid }) => eventRef(byUlid.get(ulid)!))
    : [];
  for (const slice of noticeSlices(recovered)) {
    planned.push({
      hooks: recoveredHooks,
      notice: {
        type: "delivery.recovered",
        data: { platform, attempts: settled.attempt, events: slice },
      },
    });
  }
  return planned;
}

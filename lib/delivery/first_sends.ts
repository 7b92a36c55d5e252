import type { SluiceEvent } from "../../core/event.ts";
import type { DeliverMessage } from "../queue/mod.ts";
import type { RouteDecision } from "./rules.ts";
import type { RoutedHandoff } from "./rows.ts";

/** Events with where each goes, by destination id. */
export interface Routed {
  event: SluiceEvent;
  decisions: Map<string, RouteDecision>;
}

/**
 * The first attempts for routed events: per destination, messages of at most its batch
 * limit, carrying the names that rules changed.
 */
export function firstSends(
  wsId: string,
  routed: readonly Routed[],
  batchLimitOf: (destinationId: string) => number,
  replay = false,
): DeliverMessage[] {
  const byDestination = new Map<string, [string, string | undefined][]>();
  for (const { event, decisions } of routed) {
    for (const [destinationId, decision] of decisions) {
      if (!decision.send) continue;
      const list = byDestination.get(destinationId) ?? [];
      const renamed = decision.event_name !== event.event_name;
      list.push([event.id, renamed ? decision.event_name : undefined]);
      byDestination.set(destinationId, list);
    }
  }
  const messages: DeliverMessage[] = [];
  for (const [destinationId, list] of byDestination) {
    const limit = Math.max(1, batchLimitOf(destinationId));
    for (let i = 0; i < list.length; i += limit) {
      const slice = list.slice(i, i + limit);
      const names = slice.filter((entry): entry is [string, string] => entry[1] !== undefined);
      messages.push({
        type: "deliver",
        workspace_id: wsId,
        destination_id: destinationId,
        ids: slice.map(([id]) => id),
        attempt: 1,
        ...(replay ? { replay: true } : {}),
        ...(names.length ? { names: Object.fromEntries(names) } : {}),
      });
    }
  }
  return messages;
}

/** The routing decisions a hand-off record keeps (none for a record without routes). */
export function decisionsOf(record: RoutedHandoff): Map<string, RouteDecision> {
  return new Map(
    Object.entries(record.routes ?? {}).map(([destinationId, route]) => [
      destinationId,
      route.skipped === undefined
        ? { send: true, event_name: route.event_name }
        : { send: false, reason: route.skipped },
    ]),
  );
}

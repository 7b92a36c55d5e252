import type { SluiceEvent } from "../core/event.ts";
import type { Connector, MapOptions, MapResult, SkippedEvent } from "./types.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function duration(ms: number): string {
  if (ms >= 7 * DAY_MS && ms % DAY_MS === 0) return `${ms / DAY_MS} days`;
  return `${Math.round(ms / HOUR_MS)} hours`;
}

/**
 * Maps events with a connector after its age window: events older than the platform takes
 * are skipped with the reason, the rest go to `map()`, and indexes refer to `events`.
 */
export function mapEvents(
  connector: Connector,
  events: readonly SluiceEvent[],
  settings: unknown,
  options: MapOptions,
): MapResult {
  const fresh: SluiceEvent[] = [];
  const positions: number[] = [];
  const stale: SkippedEvent[] = [];
  events.forEach((event, index) => {
    const maxAge = connector.maxEventAgeMs(event);
    if (maxAge !== undefined && options.now - event.event_time > maxAge) {
      stale.push({
        index,
        reason: `event is older than ${connector.label} accepts (${duration(maxAge)})`,
      });
    } else {
      fresh.push(event);
      positions.push(index);
    }
  });
  if (stale.length === 0) return connector.map(events, settings, options);
  const mapped = fresh.length
    ? connector.map(fresh, settings, options)
    : { requests: [], skipped: [] };
  return {
    requests: mapped.requests.map((request) => ({
      ...request,
      eventIndexes: request.eventIndexes.map((i) => positions[i]!),
    })),
    skipped: [...stale, ...mapped.skipped.map((s) => ({ ...s, index: positions[s.index]! }))]
      .sort((a, b) => a.index - b.index),
  };
}

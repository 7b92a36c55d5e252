/**
 * `GET /v1/analytics/coverage`: for each event name and destination, how many events were
 * delivered, failed, skipped or are still pending, with the top reasons for failures and
 * skips. Each (event, destination) counts once, in its current state; custom event names
 * count as `other`.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { FAMILY } from "./counters.ts";
import { asReasonClass, REASON_CLASSES, type ReasonClass } from "./reasons.ts";
import {
  destinationRef,
  destinationRefSchema,
  dimParts,
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
} from "./report.ts";

/** Most reasons listed per cell. */
const TOP_REASONS = 3;

const reasonCountSchema = z.object({
  reason: z.enum(REASON_CLASSES),
  count: z.number().int(),
}).openapi("ReasonCount");

const cellSchema = z.object({
  destination_id: z.string(),
  delivered: z.number().int().openapi({ description: "Delivered or accepted by the platform" }),
  failed: z.number().int(),
  skipped: z.number().int(),
  pending: z.number().int().openapi({ description: "Not answered yet, or waiting to retry" }),
  top_failures: z.array(reasonCountSchema),
  top_skips: z.array(reasonCountSchema),
}).openapi("CoverageCell");

/** Coverage by event name and destination. */
export const coverageSchema = z.object({
  range: rangeInfoSchema,
  destinations: z.array(destinationRefSchema),
  rows: z.array(z.object({
    event_name: z.string().openapi({ description: "Canonical name; custom names count as other" }),
    cells: z.array(cellSchema),
  })),
}).openapi("AnalyticsCoverage", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    destinations: [{ id: "dst_…", name: "Meta", type: "meta" }],
    rows: [{
      event_name: "purchase",
      cells: [{
        destination_id: "dst_…",
        delivered: 58,
        failed: 2,
        skipped: 1,
        pending: 0,
        top_failures: [{ reason: "validation", count: 2 }],
        top_skips: [{ reason: "consent", count: 1 }],
      }],
    }],
  },
});

/** Coverage by event name and destination. */
export type Coverage = z.output<typeof coverageSchema>;

interface Cell {
  delivered: number;
  failed: number;
  skipped: number;
  pending: number;
  failures: Map<ReasonClass, number>;
  skips: Map<ReasonClass, number>;
}

function top(reasons: Map<ReasonClass, number>): { reason: ReasonClass; count: number }[] {
  return [...reasons].filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_REASONS).map(([reason, count]) => ({ reason, count }));
}

/** Builds the coverage matrix. */
export async function coverage(ctx: ReportContext): Promise<Coverage> {
  const { reader, plan } = readerOf(ctx);
  const totals = await reader.totals(FAMILY.deliveries, plan);
  const cells = new Map<string, Map<string, Cell>>();
  const destinations = new Set<string>();
  for (const [dim, n] of totals) {
    if (n === 0) continue;
    const [dest = "", name = "", state = "", reason = ""] = dimParts(dim);
    destinations.add(dest);
    let row = cells.get(name);
    if (!row) cells.set(name, row = new Map());
    let cell = row.get(dest);
    if (!cell) {
      cell = {
        delivered: 0,
        failed: 0,
        skipped: 0,
        pending: 0,
        failures: new Map(),
        skips: new Map(),
      };
      row.set(dest, cell);
    }
    if (state === "delivered" || state === "accepted") cell.delivered += n;
    else if (state === "pending" || state === "retrying") cell.pending += n;
    else if (state === "failed" || state === "skipped") {
      cell[state] += n;
      const reasons = state === "failed" ? cell.failures : cell.skips;
      const reasonClass = asReasonClass(reason);
      reasons.set(reasonClass, (reasons.get(reasonClass) ?? 0) + n);
    }
  }
  const destIds = [...destinations].sort();
  const rowTotal = (row: Map<string, Cell>) =>
    [...row.values()].reduce((sum, c) => sum + c.delivered + c.failed + c.skipped + c.pending, 0);
  return {
    range: rangeInfo(ctx.range, plan),
    destinations: destIds.map((id) => destinationRef(ctx, id)),
    rows: [...cells].sort((a, b) => rowTotal(b[1]) - rowTotal(a[1]) || a[0].localeCompare(b[0]))
      .map(([eventName, row]) => ({
        event_name: eventName,
        cells: destIds.filter((id) => row.has(id)).map((id) => {
          const cell = row.get(id)!;
          return {
            destination_id: id,
            delivered: cell.delivered,
            failed: cell.failed,
            skipped: cell.skipped,
            pending: cell.pending,
            top_failures: top(cell.failures),
            top_skips: top(cell.skips),
          };
        }),
      })),
  };
}

/**
 * `GET /v1/analytics/dedup`: events both the browser and a server sent. Sluice merges copies
 * with the same event id within the dedup window (the later copy is a duplicate, counted as
 * a pair when it came from the other side); copies of one order under different event ids
 * both go out, and each destination that got the second copy is told so, with whether the
 * platform itself would merge them (it does when it deduplicates purchases on the order id).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { FAMILY } from "./counters.ts";
import { volumeDim } from "./reader.ts";
import {
  destinationRef,
  dimParts,
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
} from "./report.ts";

/** What each platform merges copies of a conversion on (CONNECTORS.md §0.2, §12). */
export const PLATFORM_DEDUP_KEYS: Readonly<Record<string, "event_id" | "order_id" | "none">> = {
  meta: "event_id",
  tiktok: "event_id",
  pinterest: "event_id",
  linkedin: "event_id",
  reddit: "event_id",
  microsoft: "event_id",
  klaviyo: "event_id",
  snapchat: "order_id",
  ga4: "order_id",
  google_ads: "order_id",
  webhook: "none",
};

const pairCountsSchema = z.object({
  browser_then_server: z.number().int(),
  server_then_browser: z.number().int(),
  same_side: z.number().int().openapi({
    description: "Both copies from browsers, or both from servers",
  }),
});

/** Browser/server pairs. */
export const dedupSchema = z.object({
  range: rangeInfoSchema,
  duplicates: z.number().int().openapi({ description: "Copies refused as duplicate event ids" }),
  merged_pairs: pairCountsSchema.openapi({
    description: "Same event id from both sides: Sluice kept the first and sent it once",
  }),
  mismatched_ids: pairCountsSchema.openapi({
    description: "Same order id under another event id: both copies were sent",
  }),
  destinations: z.array(z.object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    platform_dedup_key: z.enum(["event_id", "order_id", "none"]),
    pairs_seen: z.number().int().openapi({
      description: "merged + mismatched_ids_sent: the pairs this destination would have seen",
    }),
    merged: z.number().int(),
    mismatched_ids_sent: z.number().int().openapi({
      description: "Second copies of an order sent here under a new event id",
    }),
    double_counted: z.number().int().openapi({
      description: "Of those, the ones the platform does not merge (it keys on the event id)",
    }),
  })),
}).openapi("AnalyticsDedup", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    duplicates: 130,
    merged_pairs: { browser_then_server: 118, server_then_browser: 7, same_side: 0 },
    mismatched_ids: { browser_then_server: 3, server_then_browser: 0, same_side: 1 },
    destinations: [{
      id: "dst_…",
      name: "Meta",
      type: "meta",
      platform_dedup_key: "event_id",
      pairs_seen: 128,
      merged: 125,
      mismatched_ids_sent: 3,
      double_counted: 3,
    }],
  },
});

/** Browser/server pairs. */
export type Dedup = z.output<typeof dedupSchema>;

type PairCounts = z.output<typeof pairCountsSchema>;

function pairCounts(pairs: Map<string, number>, key: "event_id" | "order_id"): PairCounts {
  const counts: PairCounts = { browser_then_server: 0, server_then_browser: 0, same_side: 0 };
  for (const [dim, n] of pairs) {
    const [kind, sides = ""] = dimParts(dim);
    if (kind !== key) continue;
    if (sides === "browser>server") counts.browser_then_server += n;
    else if (sides === "server>browser") counts.server_then_browser += n;
    else counts.same_side += n;
  }
  return counts;
}

/** Builds the pair report. */
export async function dedup(ctx: ReportContext): Promise<Dedup> {
  const { reader, plan } = readerOf(ctx);
  const [volume, pairs, sent] = await Promise.all([
    reader.totals("volume", plan),
    reader.totals(FAMILY.pairs, plan),
    reader.totals(FAMILY.dedup, plan),
  ]);
  const merged = pairCounts(pairs, "event_id");
  const mergedTotal = merged.browser_then_server + merged.server_then_browser;
  const mismatchedSent = new Map<string, number>();
  for (const [dim, n] of sent) {
    const [dest = ""] = dimParts(dim);
    mismatchedSent.set(dest, (mismatchedSent.get(dest) ?? 0) + n);
  }
  const destIds = [...new Set([...mismatchedSent.keys(), ...ctx.destinations.map((d) => d.id)])]
    .sort();
  return {
    range: rangeInfo(ctx.range, plan),
    duplicates: volume.get(volumeDim("duplicates")) ?? 0,
    merged_pairs: merged,
    mismatched_ids: pairCounts(pairs, "order_id"),
    destinations: destIds.map((id) => {
      const ref = destinationRef(ctx, id);
      const key = PLATFORM_DEDUP_KEYS[ref.type] ?? "none";
      const mismatched = mismatchedSent.get(id) ?? 0;
      return {
        ...ref,
        platform_dedup_key: key,
        pairs_seen: mergedTotal + mismatched,
        merged: mergedTotal,
        mismatched_ids_sent: mismatched,
        double_counted: key === "order_id" ? 0 : mismatched,
      };
    }),
  };
}

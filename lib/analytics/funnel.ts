/**
 * `GET /v1/analytics/funnel`: visitors per step and the drop-off between steps.
 *
 * Counted per visitor and UTC day: fan-out keeps each visitor's steps of its latest day as
 * a bit mask and counts visitors per (day, mask), moving a visitor from its old mask to the
 * new one when it takes a step. A visitor reaches step k on a day when that day's mask holds
 * steps 1…k (in any order), so any steps can be asked for after the fact. Counts are
 * visitor-days, the span is widened to whole UTC days, and the read costs the days times
 * the masks seen on them.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { DAY_MS, FAMILY } from "./counters.ts";
import { FUNNEL_STEPS, stepBit } from "./labels.ts";
import { bucketPlan } from "./range.ts";
import {
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
  share,
  spanInfo,
} from "./report.ts";

/** The steps asked for when none are. */
export const DEFAULT_STEPS = ["page_view", "add_to_cart", "initiate_checkout", "purchase"] as const;

/** Visitors per step. */
export const funnelSchema = z.object({
  range: rangeInfoSchema,
  days: z.object({ start: z.string(), end: z.string() }).openapi({
    description: "The whole UTC days counted (funnels are kept per visitor and UTC day)",
  }),
  unit: z.literal("visitor-days"),
  steps: z.array(z.object({
    step: z.enum(FUNNEL_STEPS),
    visitors: z.number().int().openapi({
      description: "Visitor-days that took this step and every earlier one",
    }),
    from_previous: z.number().nullable().openapi({
      description: "Share of the previous step, 0–1",
    }),
    from_first: z.number().nullable(),
    drop_off: z.number().int().openapi({
      description: "Visitor-days lost since the previous step",
    }),
  })),
}).openapi("AnalyticsFunnel", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    days: { start: "2026-01-01T00:00:00.000Z", end: "2026-01-08T00:00:00.000Z" },
    unit: "visitor-days",
    steps: [
      { step: "page_view", visitors: 1000, from_previous: null, from_first: 1, drop_off: 0 },
      { step: "add_to_cart", visitors: 120, from_previous: 0.12, from_first: 0.12, drop_off: 880 },
    ],
  },
});

/** Visitors per step. */
export type Funnel = z.output<typeof funnelSchema>;

/** One funnel step. */
export type Step = Funnel["steps"][number]["step"];

/** Builds the funnel of `steps`. */
export async function funnel(ctx: ReportContext, steps: readonly Step[]): Promise<Funnel> {
  const { reader, plan } = readerOf(ctx);
  const days = {
    start: Math.floor(ctx.range.start / DAY_MS) * DAY_MS,
    end: Math.ceil(ctx.range.end / DAY_MS) * DAY_MS,
  };
  const masks = await reader.totals(FAMILY.funnel, bucketPlan(days, ctx.now));
  const counts: number[] = [];
  let required = 0;
  for (const step of steps) {
    required |= stepBit(step);
    let visitors = 0;
    for (const [mask, n] of masks) if ((Number(mask) & required) === required) visitors += n;
    counts.push(visitors);
  }
  const first = counts[0] ?? 0;
  return {
    range: rangeInfo(ctx.range, plan),
    days: spanInfo(days),
    unit: "visitor-days",
    steps: steps.map((step, i) => {
      const visitors = counts[i] ?? 0;
      const previous = i === 0 ? undefined : counts[i - 1] ?? 0;
      return {
        step,
        visitors,
        from_previous: previous === undefined ? null : share(visitors, previous),
        from_first: share(visitors, first),
        drop_off: previous === undefined ? 0 : previous - visitors,
      };
    }),
  };
}

/**
 * `GET /v1/analytics/revenue-attribution`: orders and revenue by the ad platform of the
 * click that brought the visitor, and by UTM source, under first and last touch.
 *
 * Fan-out keeps each visitor's first and last touch (the click id's platform and the UTM
 * source of the landing page); at a purchase (each order id once) it counts the order under
 * both, so this read costs the buckets times the labels, never the orders. A purchase whose
 * visitor has no touch falls back to a click cookie it carries (`_fbc`, `_gcl_aw`), else
 * `none`. UTM sources beyond a workspace's first 50 count as `other`.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { FAMILY } from "./counters.ts";
import { fromMinorUnits } from "./money.ts";
import { dimParts, rangeInfo, rangeInfoSchema, readerOf, type ReportContext } from "./report.ts";

const rowSchema = z.object({
  label: z.string().openapi({ description: "Click platform or UTM source; none without a touch" }),
  orders: z.number().int(),
  revenue: z.array(z.object({ currency: z.string(), amount: z.number() })),
}).openapi("AttributionRow");

const modelSchema = z.object({
  by_click_platform: z.array(rowSchema),
  by_utm_source: z.array(rowSchema),
});

/** Revenue by touch. */
export const attributionSchema = z.object({
  range: rangeInfoSchema,
  first_touch: modelSchema,
  last_touch: modelSchema,
}).openapi("AnalyticsAttribution", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    first_touch: {
      by_click_platform: [{
        label: "meta",
        orders: 12,
        revenue: [{ currency: "EUR", amount: 640 }],
      }],
      by_utm_source: [{
        label: "newsletter",
        orders: 4,
        revenue: [{ currency: "EUR", amount: 120 }],
      }],
    },
    last_touch: {
      by_click_platform: [{
        label: "google",
        orders: 9,
        revenue: [{ currency: "EUR", amount: 410 }],
      }],
      by_utm_source: [{ label: "none", orders: 7, revenue: [{ currency: "EUR", amount: 300 }] }],
    },
  },
});

/** Revenue by touch. */
export type Attribution = z.output<typeof attributionSchema>;

type Row = z.output<typeof rowSchema>;

/** Builds the attribution report. */
export async function attribution(ctx: ReportContext): Promise<Attribution> {
  const { reader, plan } = readerOf(ctx);
  const totals = await reader.totals(FAMILY.attribution, plan);
  const rows = new Map<string, { orders: number; minor: Map<string, number> }>();
  for (const [dim, n] of totals) {
    const [model = "", kind = "", label = "", measure = "", currency = ""] = dimParts(dim);
    const id = `${model}|${kind}|${label}`;
    const row = rows.get(id) ?? { orders: 0, minor: new Map<string, number>() };
    rows.set(id, row);
    if (measure === "n") row.orders += n;
    else row.minor.set(currency, (row.minor.get(currency) ?? 0) + n);
  }
  const list = (model: string, kind: string): Row[] =>
    [...rows].filter(([id]) => id.startsWith(`${model}|${kind}|`) && rows.get(id)!.orders > 0)
      .map(([id, row]) => ({
        label: id.slice(model.length + kind.length + 2),
        orders: row.orders,
        revenue: [...row.minor].filter(([, minor]) => minor > 0).sort(([a], [b]) =>
          a.localeCompare(b)
        )
          .map(([currency, minor]) => ({ currency, amount: fromMinorUnits(minor, currency) })),
      }))
      .sort((a, b) => b.orders - a.orders || a.label.localeCompare(b.label));
  const model = (name: string) => ({
    by_click_platform: list(name, "click"),
    by_utm_source: list(name, "utm"),
  });
  return {
    range: rangeInfo(ctx.range, plan),
    first_touch: model("first"),
    last_touch: model("last"),
  };
}

/**
 * `GET /v1/analytics/reconciliation`: of the orders Sluice received (each order id once),
 * how many each destination accepted, failed, skipped or still has pending, and which ones
 * are missing there.
 *
 * The counts come from counters of each order's first event (its rows move between states
 * like every row's). The missing list is an index fan-out and the row commits keep: an
 * entry per (order, destination) while that delivery is refused, skipped or waiting to
 * retry, deleted when it is accepted, read newest first in pages. Deliveries not answered
 * yet are counted as pending but not listed.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { decodeTime, encodeTime } from "ulid";
import { DELIVERY_STATUSES } from "../delivery/rows.ts";
import { missingOrderPrefix } from "../kv/keys.ts";
import { InvalidCursorError } from "../kv/page.ts";
import { FAMILY } from "./counters.ts";
import { REASON_CLASSES } from "./reasons.ts";
import {
  destinationRef,
  dimParts,
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
} from "./report.ts";
import type { MissingDelivery } from "./transitions.ts";

/** Most entries one page scans while looking for matches. */
const MAX_SCAN = 5_000;
const CURSOR = /^([0-9A-HJKMNP-TV-Z]{26})\.([A-Za-z0-9_-]{1,64})$/;

/** Which missing deliveries to list. */
export interface MissingQuery {
  limit: number;
  cursor?: string;
  /** Only this destination's. */
  destination?: string;
  /** Only these statuses. */
  statuses?: readonly string[];
}

const missingSchema = z.object({
  order_id: z.string(),
  destination_id: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  reason: z.enum(REASON_CLASSES).nullable(),
  received_at: z.string(),
}).openapi("MissingOrder");

/** Orders received against orders each destination took. */
export const reconciliationSchema = z.object({
  range: rangeInfoSchema,
  orders_received: z.number().int().openapi({
    description: "Purchases with an order id, each order once",
  }),
  destinations: z.array(z.object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    accepted: z.number().int().openapi({ description: "Delivered or accepted by the platform" }),
    failed: z.number().int(),
    skipped: z.number().int(),
    pending: z.number().int().openapi({ description: "Not answered yet, or waiting to retry" }),
    missing: z.number().int().openapi({ description: "failed + skipped + pending" }),
    not_routed: z.number().int().openapi({
      description: "Orders received that never had a delivery here (e.g. added later)",
    }),
  })),
  missing: z.object({
    data: z.array(missingSchema),
    next_cursor: z.string().nullable(),
  }).openapi({ description: "Orders not (yet) accepted by a destination, newest first" }),
}).openapi("AnalyticsReconciliation", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    orders_received: 61,
    destinations: [{
      id: "dst_…",
      name: "Meta",
      type: "meta",
      accepted: 58,
      failed: 2,
      skipped: 1,
      pending: 0,
      missing: 3,
      not_routed: 0,
    }],
    missing: {
      data: [{
        order_id: "1001",
        destination_id: "dst_…",
        status: "failed",
        reason: "validation",
        received_at: "2026-01-03T10:00:00.000Z",
      }],
      next_cursor: null,
    },
  },
});

/** Orders received against orders each destination took. */
export type Reconciliation = z.output<typeof reconciliationSchema>;

type Missing = z.output<typeof missingSchema>;

/** Lists missing deliveries in the range, newest first. */
async function missingPage(
  ctx: ReportContext,
  query: MissingQuery,
): Promise<{ data: Missing[]; next_cursor: string | null }> {
  const prefix = missingOrderPrefix(ctx.wsId);
  let end: Deno.KvKey = [...prefix, encodeTime(ctx.range.end, 10)];
  if (query.cursor !== undefined) {
    const match = CURSOR.exec(query.cursor);
    if (!match) throw new InvalidCursorError(query.cursor);
    end = [...prefix, match[1]!, match[2]!];
  }
  const entries = ctx.kv.list<MissingDelivery>(
    { start: [...prefix, encodeTime(ctx.range.start, 10)], end },
    { reverse: true, batchSize: Math.min(500, query.limit * 2) },
  );
  const data: Missing[] = [];
  let scanned = 0;
  for await (const { key, value } of entries) {
    scanned++;
    const ulid = String(key[prefix.length]);
    const destinationId = String(key[prefix.length + 1]);
    const wanted = (!query.destination || query.destination === destinationId) &&
      (!query.statuses || query.statuses.includes(value.status));
    if (wanted) {
      data.push({
        order_id: value.order_id,
        destination_id: destinationId,
        status: value.status,
        reason: REASON_CLASSES.find((reason) => reason === value.reason_class) ?? null,
        received_at: new Date(decodeTime(ulid)).toISOString(),
      });
    }
    if (data.length >= query.limit || scanned >= MAX_SCAN) {
      return { data, next_cursor: `${ulid}.${destinationId}` };
    }
  }
  return { data, next_cursor: null };
}

/** Builds the reconciliation with one page of missing deliveries. */
export async function reconciliation(
  ctx: ReportContext,
  query: MissingQuery,
): Promise<Reconciliation> {
  const { reader, plan } = readerOf(ctx);
  const [totals, missing] = await Promise.all([
    reader.totals(FAMILY.orders, plan),
    missingPage(ctx, query),
  ]);
  const received = totals.get("received") ?? 0;
  const states = new Map<string, Map<string, number>>();
  for (const [dim, n] of totals) {
    const [dest = "", state] = dimParts(dim);
    if (state === undefined) continue;
    const perDest = states.get(dest) ?? new Map<string, number>();
    perDest.set(state, (perDest.get(state) ?? 0) + n);
    states.set(dest, perDest);
  }
  const destIds = [...new Set([...states.keys(), ...ctx.destinations.map((d) => d.id)])].sort();
  return {
    range: rangeInfo(ctx.range, plan),
    orders_received: received,
    destinations: destIds.map((id) => {
      const perDest = states.get(id) ?? new Map<string, number>();
      const count = (...names: string[]) =>
        names.reduce((sum, n) => sum + (perDest.get(n) ?? 0), 0);
      const accepted = count("delivered", "accepted");
      const failed = count("failed");
      const skipped = count("skipped");
      const pending = count("pending", "retrying");
      return {
        ...destinationRef(ctx, id),
        accepted,
        failed,
        skipped,
        pending,
        missing: failed + skipped + pending,
        not_routed: Math.max(0, received - accepted - failed - skipped - pending),
      };
    }),
    missing,
  };
}

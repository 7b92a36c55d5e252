import { OpenAPIHono, z } from "@hono/zod-openapi";
import { attribution, attributionSchema } from "../../lib/analytics/attribution.ts";
import { coverage, coverageSchema } from "../../lib/analytics/coverage.ts";
import { DAY_MS } from "../../lib/analytics/counters.ts";
import { dedup, dedupSchema } from "../../lib/analytics/dedup.ts";
import { DEFAULT_STEPS, funnel, funnelSchema, type Step } from "../../lib/analytics/funnel.ts";
import { FUNNEL_STEPS } from "../../lib/analytics/labels.ts";
import { overview, overviewSchema } from "../../lib/analytics/overview.ts";
import { quality, qualitySchema } from "../../lib/analytics/quality.ts";
import { HOUR_COUNTER_DAYS, RANGES, resolveRange, type Span } from "../../lib/analytics/range.ts";
import { reconciliation, reconciliationSchema } from "../../lib/analytics/reconciliation.ts";
import type { ReportContext } from "../../lib/analytics/report.ts";
import { INTERVALS, MAX_HOURLY_DAYS, volume, volumeSchema } from "../../lib/analytics/volume.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { timeZoneSchema, type Workspace, workspaceZone } from "../../lib/workspaces.ts";
import type { AppEnv } from "../_env.ts";
import { withCursor } from "../_request.ts";
import { apiRoute } from "../_route.ts";
import { jsonResponse, problems } from "../_schemas.ts";

/** Longest span one answer covers, days. */
const MAX_SPAN_DAYS = 400;

/** `start`/`end`: ISO 8601 or unix seconds, as epoch ms. */
const timeQuery = z.string().max(40).transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `"${text}" is neither ISO 8601 nor unix seconds` });
    return z.NEVER;
  }
  return ms;
});

const rangeFields = {
  range: z.enum(RANGES).optional().openapi({
    description:
      "24h: this UTC hour and the 23 before; 7d/30d/90d: today in tz and the days before. Default 7d",
    example: "7d",
  }),
  start: timeQuery.optional().openapi({
    description: "Instead of range: from this time (ISO 8601); hours count when they start inside",
    example: "2026-01-01T00:00:00-08:00",
  }),
  end: timeQuery.optional().openapi({
    description: "With start: until this time, exclusive (default now)",
    example: "2026-01-08T00:00:00-08:00",
  }),
  tz: timeZoneSchema.optional().openapi({
    description:
      "IANA time zone of the days (default: the workspace's settings.time_zone, else UTC)",
    example: "America/Los_Angeles",
  }),
};

/** The range parameters as given. */
interface RangeQuery {
  range?: typeof RANGES[number];
  start?: number;
  end?: number;
  tz?: string;
}

/** Cross-field checks of the range parameters. */
function checkRange(q: RangeQuery, ctx: z.RefinementCtx): void {
  if (q.range !== undefined && (q.start !== undefined || q.end !== undefined)) {
    ctx.addIssue({ code: "custom", path: ["range"], message: "give either range or start/end" });
    return;
  }
  if (q.end !== undefined && q.start === undefined) {
    ctx.addIssue({ code: "custom", path: ["start"], message: "is required with end" });
    return;
  }
  if (q.start === undefined) return;
  const end = q.end ?? Date.now();
  if (end <= q.start) {
    ctx.addIssue({ code: "custom", path: ["end"], message: "must be after start" });
  } else if (end - q.start > MAX_SPAN_DAYS * DAY_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["start"],
      message: `the span may cover at most ${MAX_SPAN_DAYS} days`,
    });
  }
}

const rangeQuerySchema = z.object(rangeFields).superRefine(checkRange);

const volumeQuerySchema = z.object({
  ...rangeFields,
  interval: z.enum(INTERVALS).optional().openapi({
    description:
      `hour (UTC hours; spans up to ${MAX_HOURLY_DAYS} days within the last ${HOUR_COUNTER_DAYS}) or day (days in tz). Default: hour up to 2 days, else day`,
  }),
}).superRefine((q, ctx) => {
  checkRange(q, ctx);
  if (q.interval !== "hour") return;
  const span = resolveRange({ ...q, tz: q.tz ?? "UTC" }, Date.now());
  if (span.end - span.start > MAX_HOURLY_DAYS * DAY_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["interval"],
      message: `hour covers spans up to ${MAX_HOURLY_DAYS} days; use day`,
    });
  } else if (span.start < Date.now() - HOUR_COUNTER_DAYS * DAY_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["interval"],
      message: `hourly counters are kept ${HOUR_COUNTER_DAYS} days; use day`,
    });
  }
});

/** A comma-separated list whose items must be among `allowed`. */
function listOf<const T extends string>(allowed: readonly T[], max: number) {
  return z.string().max(1000).transform((text, ctx): T[] => {
    const items = text.split(",").map((item) => item.trim()).filter(Boolean);
    const known = items.flatMap((item) => allowed.filter((a) => a === item));
    const unknown = items.find((item) => !allowed.some((a) => a === item));
    if (unknown !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `unknown "${unknown.slice(0, 40)}"; one of ${allowed.join(", ")}`,
      });
      return z.NEVER;
    }
    if (known.length === 0 || known.length > max || new Set(known).size !== known.length) {
      ctx.addIssue({ code: "custom", message: `1 to ${max} different items, comma-separated` });
      return z.NEVER;
    }
    return known;
  });
}

const funnelQuerySchema = z.object({
  ...rangeFields,
  steps: listOf(FUNNEL_STEPS, 8).optional().openapi({
    description: `Comma-separated steps in funnel order (default ${DEFAULT_STEPS.join(",")})`,
    example: DEFAULT_STEPS.join(","),
  }),
}).superRefine(checkRange);

const MISSING_STATUSES = ["retrying", "failed", "skipped"] as const;

const reconciliationQuerySchema = z.object({
  ...rangeFields,
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({
    description: "Missing deliveries per page",
  }),
  cursor: z.string().max(200).optional().openapi({
    description: "The missing.next_cursor of the previous page",
  }),
  destination: z.string().max(64).optional().openapi({
    description: "Only this destination's missing deliveries (a platform id)",
  }),
  status: listOf(MISSING_STATUSES, MISSING_STATUSES.length).optional().openapi({
    description: "Only these statuses, comma-separated (retrying, failed, skipped)",
    example: "failed,skipped",
  }),
}).superRefine(checkRange);

const tags: [string] = ["Analytics"];

/** What every report reads: the workspace, its span (in its zone unless `tz` says) and its destinations. */
async function contextOf(rt: Runtime, workspace: Workspace, q: RangeQuery): Promise<ReportContext> {
  const now = Date.now();
  const wsId = workspace.id;
  const destinations = await rt.destinations.list(wsId);
  const tz = q.tz ?? workspaceZone(workspace);
  return {
    kv: rt.kv,
    wsId,
    range: resolveRange({ ...q, tz }, now),
    destinations: destinations.map(({ id, name, type }) => ({ id, name, type })),
    now,
  };
}

const defaultInterval = (span: Span) => span.end - span.start <= 2 * DAY_MS ? "hour" : "day";

/**
 * `/v1/analytics/*`: the dashboard's reports, read from counters summed at write time (each
 * costs the hour and day buckets of its span, never the events). Read key.
 */
export function analyticsRoutes(rt: Runtime): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const read = { scope: "read" as const, tags, method: "get" as const };

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/overview",
      operationId: "getAnalyticsOverview",
      summary: "Events, delivery rate, failures, revenue, destinations and latency, with changes",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("The overview", overviewSchema), ...problems(400) },
    }),
    async (c) => {
      const ctx = await contextOf(rt, c.get("workspace"), c.req.valid("query"));
      return c.json(await overview(ctx), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/volume",
      operationId: "getAnalyticsVolume",
      summary: "Events per hour or day, by event name and source",
      request: { query: volumeQuerySchema },
      responses: { 200: jsonResponse("Volume per bucket", volumeSchema), ...problems(400) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const ctx = await contextOf(rt, c.get("workspace"), q);
      return c.json(await volume(ctx, q.interval ?? defaultInterval(ctx.range)), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/coverage",
      operationId: "getAnalyticsCoverage",
      summary: "Per event name and destination: delivered, failed, skipped, pending and why",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("Coverage", coverageSchema), ...problems(400) },
    }),
    async (c) => {
      const ctx = await contextOf(rt, c.get("workspace"), c.req.valid("query"));
      return c.json(await coverage(ctx), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/quality",
      operationId: "getAnalyticsQuality",
      summary: "Per destination: match-quality estimate, identifiers, what to add, top issues",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("Data quality", qualitySchema), ...problems(400) },
    }),
    async (c) => {
      const ctx = await contextOf(rt, c.get("workspace"), c.req.valid("query"));
      return c.json(await quality(ctx), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/dedup",
      operationId: "getAnalyticsDedup",
      summary: "Browser/server pairs: merged, and order ids sent under two event ids",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("Pairs", dedupSchema), ...problems(400) },
    }),
    async (c) => {
      const ctx = await contextOf(rt, c.get("workspace"), c.req.valid("query"));
      return c.json(await dedup(ctx), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/funnel",
      operationId: "getAnalyticsFunnel",
      summary: "Visitors per funnel step (per visitor and UTC day) and the drop-off",
      request: { query: funnelQuerySchema },
      responses: { 200: jsonResponse("The funnel", funnelSchema), ...problems(400) },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const ctx = await contextOf(rt, c.get("workspace"), q);
      const steps: readonly Step[] = q.steps ?? DEFAULT_STEPS;
      return c.json(await funnel(ctx, steps), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/revenue-attribution",
      operationId: "getAnalyticsRevenueAttribution",
      summary: "Orders and revenue by click platform and UTM source, first and last touch",
      request: { query: rangeQuerySchema },
      responses: { 200: jsonResponse("Revenue by touch", attributionSchema), ...problems(400) },
    }),
    async (c) => {
      const ctx = await contextOf(rt, c.get("workspace"), c.req.valid("query"));
      return c.json(await attribution(ctx), 200);
    },
  );

  app.openapi(
    apiRoute(rt, {
      ...read,
      path: "/v1/analytics/reconciliation",
      operationId: "getAnalyticsReconciliation",
      summary: "Orders received against orders each destination accepted, with the missing ones",
      request: { query: reconciliationQuerySchema },
      responses: {
        200: jsonResponse("Reconciliation", reconciliationSchema),
        ...problems(400),
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const ctx = await contextOf(rt, c.get("workspace"), q);
      const answer = await withCursor(() =>
        reconciliation(ctx, {
          limit: q.limit,
          cursor: q.cursor,
          destination: q.destination,
          statuses: q.status,
        })
      );
      return c.json(answer, 200);
    },
  );
  return app;
}

/**
 * `GET /v1/analytics/quality`: per destination, how well the platform can match the events
 * it took to people: a 0–10 estimate from the identifiers they carried (weights in
 * quality_weights.ts), the share of each identifier, what to add next and what it would
 * gain, and the top issues with one example each (hashed, never raw values).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { issueExamplePrefix } from "../kv/keys.ts";
import { FAMILY } from "./counters.ts";
import { SENT } from "./transitions.ts";
import type { IssueExample } from "./examples.ts";
import { type Identifier, IDENTIFIERS } from "./identifiers.ts";
import {
  PLATFORM_NAMES,
  type PlatformWeights,
  QUALITY_WEIGHTS,
  rankedIdentifiers,
} from "./quality_weights.ts";
import { asReasonClass, REASON_CLASSES } from "./reasons.ts";
import {
  destinationRef,
  dimParts,
  rangeInfo,
  rangeInfoSchema,
  readerOf,
  type ReportContext,
  round,
  share,
} from "./report.ts";

/** Issues listed per destination. */
const TOP_ISSUES = 5;
/** Suggestions listed per destination. */
const TOP_STEPS = 3;
/** Smallest gain, in points, worth suggesting. */
const MIN_GAIN = 0.1;

const exampleSchema = z.object({
  event_id_sha256: z.string().optional().openapi({
    description: "First 16 hex digits of the SHA-256 of the event id",
  }),
  detail: z.string().openapi({ description: "What was wrong; values replaced by hashes" }),
  at: z.string(),
}).openapi("IssueExample");

const identifierShareSchema = z.object({
  identifier: z.enum(IDENTIFIERS),
  events_share: z.number().nullable().openapi({ description: "Share of sent events, 0–1" }),
  purchases_share: z.number().nullable().openapi({ description: "Share of sent purchases, 0–1" }),
  weight: z.number().openapi({ description: "Weight in this platform's estimate (0: unused)" }),
}).openapi("IdentifierShare");

const destinationQualitySchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  events_sent: z.number().int(),
  purchases_sent: z.number().int(),
  score: z.number().nullable().openapi({
    description: "Match-quality estimate 0–10 over sent events; null without weights or events",
  }),
  purchase_score: z.number().nullable(),
  completeness: z.array(identifierShareSchema),
  next_steps: z.array(z.object({
    identifier: z.enum(IDENTIFIERS),
    share: z.number().openapi({ description: "Where it is present now, 0–1" }),
    expected_gain: z.number().openapi({
      description: "Points the estimate gains when every event carries it",
    }),
    message: z.string(),
  })),
  issues: z.array(z.object({
    status: z.enum(["failed", "skipped"]),
    reason: z.enum(REASON_CLASSES),
    count: z.number().int(),
    example: exampleSchema.nullable(),
  })),
}).openapi("DestinationQuality");

/** Data quality per destination. */
export const qualitySchema = z.object({
  range: rangeInfoSchema,
  destinations: z.array(destinationQualitySchema),
  rejected_fields: z.array(z.object({
    field: z.string(),
    count: z.number().int(),
    example: exampleSchema.nullable(),
  })).openapi({ description: "Events refused at ingest, by their first invalid field" }),
}).openapi("AnalyticsQuality", {
  example: {
    range: {
      start: "2026-01-01T00:00:00.000Z",
      end: "2026-01-08T00:00:00.000Z",
      tz: "UTC",
      widened_to_days: false,
    },
    destinations: [{
      id: "dst_…",
      name: "Meta",
      type: "meta",
      events_sent: 1000,
      purchases_sent: 100,
      score: 6.1,
      purchase_score: 6.8,
      completeness: [{ identifier: "phone", events_share: 0.1, purchases_share: 0.12, weight: 15 }],
      next_steps: [{
        identifier: "phone",
        share: 0.12,
        expected_gain: 1.3,
        message:
          "add phone: present on 12 % of purchases; Meta weighs it third, after email and click id; +1.3 points if every purchase carries it",
      }],
      issues: [{
        status: "skipped",
        reason: "too_old",
        count: 4,
        example: {
          event_id_sha256: "9f86d081884c7d65",
          detail: "event is older than Meta accepts (7 days)",
          at: "2026-01-03T10:00:00.000Z",
        },
      }],
    }],
    rejected_fields: [{
      field: "currency",
      count: 2,
      example: { detail: "must be a 3-letter ISO 4217 code", at: "2026-01-02T09:00:00.000Z" },
    }],
  },
});

/** Data quality per destination. */
export type Quality = z.output<typeof qualitySchema>;

/** One issue of a destination. */
type Issue = Omit<Quality["destinations"][number]["issues"][number], "example">;

const LABELS: Record<Identifier, string> = {
  email: "email",
  phone: "phone",
  first_name: "first name",
  last_name: "last name",
  date_of_birth: "date of birth",
  city: "city",
  state: "state",
  zip: "zip code",
  country: "country",
  external_id: "external id",
  ip: "IP address",
  user_agent: "user agent",
  click_id: "click id",
  browser_id: "browser id",
};

const ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"];

/** 10 × Σ weight × share / Σ weight, to one decimal; null without weights or shares. */
function score(
  weights: PlatformWeights,
  shareOf: (id: Identifier) => number | null,
): number | null {
  let total = 0;
  let sum = 0;
  for (const [identifier, weight] of Object.entries(weights) as [Identifier, number][]) {
    const present = shareOf(identifier);
    if (present === null) return null;
    total += weight;
    sum += weight * present;
  }
  return total === 0 ? null : round((10 * sum) / total, 1);
}

function nextSteps(
  platform: string,
  weights: PlatformWeights,
  shareOf: (id: Identifier) => number | null,
  of: "purchase" | "event",
): Quality["destinations"][number]["next_steps"] {
  const ranked = rankedIdentifiers(weights);
  const total = ranked.reduce((sum, id) => sum + (weights[id] ?? 0), 0);
  return ranked.flatMap((identifier, rank) => {
    const present = shareOf(identifier) ?? 0;
    const gain = round((10 * (weights[identifier] ?? 0) * (1 - present)) / total, 1);
    if (gain < MIN_GAIN) return [];
    const before = ranked.slice(0, rank).map((id) => LABELS[id]);
    const after = before.length === 0
      ? ""
      : `, after ${before.slice(0, -1).join(", ")}${before.length > 1 ? " and " : ""}${
        before.at(-1)
      }`;
    const position = ORDINALS[rank] ?? `#${rank + 1}`;
    return [{
      identifier,
      share: present,
      expected_gain: gain,
      message: `add ${LABELS[identifier]}: present on ${
        Math.round(present * 100)
      } % of ${of}s; ${platform} weighs it ${position}${after}; +${gain} points if every ${of} carries it`,
    }];
  }).sort((a, b) => b.expected_gain - a.expected_gain).slice(0, TOP_STEPS);
}

async function readExamples(ctx: ReportContext): Promise<Map<string, IssueExample>> {
  const examples = new Map<string, IssueExample>();
  for await (
    const { key, value } of ctx.kv.list<IssueExample>({ prefix: issueExamplePrefix(ctx.wsId) })
  ) {
    examples.set(`${String(key[2])}\u0000${String(key[3])}`, value);
  }
  return examples;
}

function exampleAnswer(example: IssueExample | undefined): z.output<typeof exampleSchema> | null {
  if (!example) return null;
  return { ...example, at: new Date(example.at).toISOString() };
}

/** Builds the quality report. */
export async function quality(ctx: ReportContext): Promise<Quality> {
  const { reader, plan } = readerOf(ctx);
  const [identifiers, purchaseIdentifiers, states, rejected, examples] = await Promise.all([
    reader.totals(FAMILY.identifiers, plan),
    reader.totals(FAMILY.purchaseIdentifiers, plan),
    reader.totals(FAMILY.destinations, plan),
    reader.totals(FAMILY.rejectedFields, plan),
    readExamples(ctx),
  ]);
  const sent = new Map<string, { events: number; purchases: number }>();
  for (const [dim, n] of identifiers) {
    const [dest = "", identifier] = dimParts(dim);
    if (identifier !== SENT) continue;
    const purchases = purchaseIdentifiers.get(dim) ?? 0;
    sent.set(dest, { events: n, purchases });
  }
  const issues = new Map<string, Map<string, Issue>>();
  for (const [dim, n] of states) {
    const [dest = "", state = "", reason = ""] = dimParts(dim);
    if (state === "failed" || state === "skipped") {
      const perDest = issues.get(dest) ?? new Map<string, Issue>();
      const key = `${state}|${reason}`;
      const issue = perDest.get(key) ?? { status: state, reason: asReasonClass(reason), count: 0 };
      issue.count += n;
      perDest.set(key, issue);
      issues.set(dest, perDest);
    }
  }
  const destIds = [...new Set([...sent.keys(), ...ctx.destinations.map((d) => d.id)])].sort();
  return {
    range: rangeInfo(ctx.range, plan),
    destinations: destIds.map((id) => {
      const ref = destinationRef(ctx, id);
      const { events, purchases } = sent.get(id) ?? { events: 0, purchases: 0 };
      const eventsShare = (identifier: Identifier) =>
        share(identifiers.get(`${id}|${identifier}`) ?? 0, events);
      const purchasesShare = (identifier: Identifier) =>
        share(purchaseIdentifiers.get(`${id}|${identifier}`) ?? 0, purchases);
      const weights = QUALITY_WEIGHTS[ref.type];
      const platform = PLATFORM_NAMES[ref.type] ?? ref.type;
      const basis = purchases > 0 ? purchasesShare : eventsShare;
      const of = purchases > 0 ? "purchase" : "event";
      return {
        ...ref,
        events_sent: events,
        purchases_sent: purchases,
        score: weights ? score(weights, eventsShare) : null,
        purchase_score: weights ? score(weights, purchasesShare) : null,
        completeness: IDENTIFIERS.map((identifier) => ({
          identifier,
          events_share: eventsShare(identifier),
          purchases_share: purchasesShare(identifier),
          weight: weights?.[identifier] ?? 0,
        })),
        next_steps: weights && events > 0 ? nextSteps(platform, weights, basis, of) : [],
        issues: [...(issues.get(id) ?? [])].filter(([, issue]) => issue.count > 0)
          .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
          .slice(0, TOP_ISSUES)
          .map(([key, issue]) => ({
            ...issue,
            example: exampleAnswer(examples.get(`${id}\u0000${key}`)),
          })),
      };
    }),
    rejected_fields: [...rejected].filter(([, count]) => count > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([field, count]) => ({
        field,
        count,
        example: exampleAnswer(examples.get(`ingest\u0000${field}`)),
      })),
  };
}

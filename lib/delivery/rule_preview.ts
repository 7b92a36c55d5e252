/**
 * `POST /v1/rules/preview`: what an unsaved rule would change, tried on recent events. Pure:
 * the route reads the events, destinations and rules; nothing is written.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { PLATFORM_TYPES } from "../../connectors/mod.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination } from "./destinations.ts";
import { type RouteDecision, routeEvent, type RoutingRule, type ruleInputSchema } from "./rules.ts";

/** Changed events shown in full. */
export const PREVIEW_EXAMPLES = 20;

const decisionSchema = z.union([
  z.object({ send: z.literal(true), event_name: z.string() }),
  z.object({ send: z.literal(false), reason: z.string() }),
]).openapi("RouteDecision", {
  description: "Sent under this name, or not sent and why",
});

const destinationChangeSchema = z.object({
  platform_id: z.string(),
  type: z.enum(PLATFORM_TYPES),
  name: z.string(),
  sent_before: z.number().int().openapi({ description: "Events sent there under the saved rules" }),
  sent_after: z.number().int().openapi({ description: "Events sent there with the rule" }),
  renamed: z.array(z.object({
    from: z.string(),
    to: z.string(),
    count: z.number().int(),
  })).openapi({
    description: "Events the rule would send under another name (`from`: the name sent " +
      "before, or the event's own name where it was not sent), most first",
  }),
}).openapi("RulePreviewDestination");

/** What the rule would change, as the API answers it. */
export const rulePreviewSchema = z.object({
  events_checked: z.number().int().openapi({ description: "The newest events tried" }),
  changed: z.number().int().openapi({
    description: "Events that at least one platform would get otherwise (or not at all) with " +
      "the rule: a platform gained or lost, or another name sent",
  }),
  destinations: z.array(destinationChangeSchema).openapi({
    description: "Every enabled platform",
  }),
  examples: z.array(z.object({
    event_id: z.string(),
    event_name: z.string(),
    before: z.record(z.string(), decisionSchema).openapi({
      description: "By platform id: the decisions that change, under the saved rules",
    }),
    after: z.record(z.string(), decisionSchema).openapi({
      description: "By platform id: the same decisions with the rule",
    }),
  })).openapi({ description: `Up to ${PREVIEW_EXAMPLES} changed events, newest first` }),
}).openapi("RulePreview");

/** What the rule would change. */
export type RulePreview = z.output<typeof rulePreviewSchema>;

/** A rule as `POST /v1/rules` takes it. */
export type RuleInput = z.output<typeof ruleInputSchema>;

/** Whether two decisions send the same event name, or both send nothing. */
function sameEffect(a: RouteDecision, b: RouteDecision): boolean {
  return (a.send ? a.event_name : undefined) === (b.send ? b.event_name : undefined);
}

/**
 * The rules in the order they would run with `rule` saved: in place of the saved rule
 * `replaces`, or added after the rules of its priority (where a new rule's id sorts).
 * `rules` is in the store's order (priority, then id).
 */
export function rulesWith(
  rules: readonly RoutingRule[],
  rule: RuleInput,
  replaces?: RoutingRule,
): RoutingRule[] {
  if (replaces) {
    return rules
      .map((r) => r.id === replaces.id ? { ...rule, id: r.id, created_at: r.created_at } : r)
      .sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
  }
  // A stable sort keeps the saved order within each priority, the new rule last.
  const added: RoutingRule = { ...rule, id: "", created_at: new Date().toISOString() };
  return [...rules, added].sort((a, b) => a.priority - b.priority);
}

/**
 * Routes each event with the saved rules and with `rule` added (or in place of `replaces`),
 * and reports per enabled destination how many events each version sends there and renames,
 * and which events change. Events are given newest first.
 */
export function previewRule(
  events: readonly SluiceEvent[],
  destinations: readonly Destination[],
  rules: readonly RoutingRule[],
  rule: RuleInput,
  replaces?: RoutingRule,
): RulePreview {
  const withRule = rulesWith(rules, rule, replaces);
  const enabled = destinations.filter((d) => d.enabled);
  const tallies = new Map(enabled.map((d) => [d.id, {
    destination: d,
    sentBefore: 0,
    sentAfter: 0,
    renamed: new Map<string, { from: string; to: string; count: number }>(),
  }]));
  const examples: RulePreview["examples"] = [];
  let changed = 0;
  for (const event of events) {
    const before = routeEvent(event, enabled, rules);
    const after = routeEvent(event, enabled, withRule);
    const diff: RulePreview["examples"][number] = {
      event_id: event.event_id,
      event_name: event.event_name,
      before: {},
      after: {},
    };
    for (const [id, tally] of tallies) {
      const was = before.get(id);
      const is = after.get(id);
      if (was?.send) tally.sentBefore++;
      if (is?.send) tally.sentAfter++;
      const from = was?.send ? was.event_name : event.event_name;
      if (is?.send && is.event_name !== from) {
        const key = JSON.stringify([from, is.event_name]);
        const renamed = tally.renamed.get(key) ?? { from, to: is.event_name, count: 0 };
        renamed.count++;
        tally.renamed.set(key, renamed);
      }
      if (was && is && !sameEffect(was, is)) {
        diff.before[id] = was;
        diff.after[id] = is;
      }
    }
    if (Object.keys(diff.after).length === 0) continue;
    changed++;
    if (examples.length < PREVIEW_EXAMPLES) examples.push(diff);
  }
  return {
    events_checked: events.length,
    changed,
    destinations: [...tallies.values()].map((tally) => ({
      platform_id: tally.destination.id,
      type: tally.destination.type,
      name: tally.destination.name,
      sent_before: tally.sentBefore,
      sent_after: tally.sentAfter,
      renamed: [...tally.renamed.values()].sort((a, b) => b.count - a.count),
    })),
    examples,
  };
}

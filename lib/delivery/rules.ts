import { monotonicFactory } from "ulid";
import { z } from "@hono/zod-openapi";
import { connectorFor } from "../../connectors/mod.ts";
import type { Connector, ConsentCategory } from "../../connectors/types.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination } from "./destinations.ts";
import { ruleKey, rulePrefix } from "../kv/keys.ts";
import { TtlCache } from "../ttl_cache.ts";

/** Which events a rule applies to; every given condition must hold. */
export const ruleMatchSchema = z.object({
  event_names: z.array(z.string().min(1).max(100)).max(50).optional(),
  sources: z.array(z.string().min(1).max(32)).max(20).optional(),
  value_min: z.number().finite().optional(),
  value_max: z.number().finite().optional(),
  /** Equality on `properties.<name>`. */
  properties: z.record(z.string().max(100), z.union([z.string(), z.number(), z.boolean()]))
    .optional(),
}).strict();

/** What a rule does to the events it matches. */
export const ruleActionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("send"), destinations: z.array(z.string()).min(1).max(50) })
    .strict(),
  z.object({
    type: z.literal("rename"),
    event_name: z.string().min(1).max(100),
    /** Destinations the new name applies to; all when absent. */
    destinations: z.array(z.string()).max(50).optional(),
  }).strict(),
  z.object({ type: z.literal("drop") }).strict(),
]);

/** The body of `POST /v1/rules`. */
export const ruleInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean().default(true),
  /** Lower runs first. */
  priority: z.number().int().min(0).max(10_000).default(100),
  match: ruleMatchSchema.default({}),
  action: ruleActionSchema,
}).strict();

/** A routing rule as stored and as the API answers it. */
export const routingRuleSchema = ruleInputSchema.extend({
  id: z.string(),
  created_at: z.string(),
}).openapi("Rule");

/** A routing rule as stored. */
export type RoutingRule = z.output<typeof routingRuleSchema>;

/** Where one event goes for one destination. */
export type RouteDecision =
  | { send: true; event_name: string }
  | { send: false; reason: string };

const newId = monotonicFactory();

function matches(rule: RoutingRule, event: SluiceEvent): boolean {
  const m = rule.match;
  if (m.event_names && !m.event_names.includes(event.event_name)) return false;
  if (m.sources && !m.sources.includes(event.source)) return false;
  if (m.value_min !== undefined && (event.value ?? -Infinity) < m.value_min) return false;
  if (m.value_max !== undefined && (event.value ?? Infinity) > m.value_max) return false;
  for (const [name, expected] of Object.entries(m.properties ?? {})) {
    if (event.properties[name] !== expected) return false;
  }
  return true;
}

/** Why the event's consent keeps it from a connector of this consent category, if it does. */
export function consentBlocks(event: SluiceEvent, category: ConsentCategory): string | undefined {
  const consent = event.consent;
  if (category === "ads" && consent?.ad_user_data === "denied") {
    return "consent: ad_user_data denied";
  }
  if (category === "analytics" && consent?.analytics_storage === "denied") {
    return "consent: analytics_storage denied";
  }
  return undefined;
}

/**
 * Routes one event to a workspace's destinations. Without rules every enabled destination
 * gets it; one paused by an auth failure gets a skipped row until its settings are fixed;
 * consent keeps events from connectors of its category. Rules run by priority: `drop`
 * stops the event, `send` limits it to
 * the listed destinations, `rename` changes its name for some or all destinations.
 */
export function routeEvent(
  event: SluiceEvent,
  destinations: readonly Destination[],
  rules: readonly RoutingRule[],
  connectorOf: (type: string) => Connector | undefined = connectorFor,
): Map<string, RouteDecision> {
  const decisions = new Map<string, RouteDecision>();
  let allowed: Set<string> | undefined;
  let dropped: string | undefined;
  const renames = new Map<string, string>();
  let renameAll: string | undefined;
  for (const rule of rules) {
    if (!rule.enabled || !matches(rule, event)) continue;
    const action = rule.action;
    if (action.type === "drop") {
      dropped = `dropped by rule "${rule.name}"`;
      break;
    }
    if (action.type === "send") {
      const listed = new Set(action.destinations);
      allowed = allowed ? new Set([...allowed].filter((id) => listed.has(id))) : listed;
    } else if (action.destinations) {
      for (const id of action.destinations) renames.set(id, action.event_name);
    } else {
      renameAll = action.event_name;
    }
  }
  for (const destination of destinations) {
    if (!destination.enabled) continue;
    let decision: RouteDecision;
    const blocked = consentBlocks(event, connectorOf(destination.type)?.consent ?? "none");
    if (dropped) decision = { send: false, reason: dropped };
    else if (destination.health.status === "unhealthy") {
      decision = { send: false, reason: `destination paused: ${destination.health.reason}` };
    } else if (allowed && !allowed.has(destination.id)) {
      decision = { send: false, reason: "not routed here by the rules" };
    } else if (blocked) decision = { send: false, reason: blocked };
    else {
      decision = {
        send: true,
        event_name: renames.get(destination.id) ?? renameAll ?? event.event_name,
      };
    }
    decisions.set(destination.id, decision);
  }
  return decisions;
}

/** Routing rules in KV, sorted by priority; cached briefly for the delivery path. */
export class RuleStore {
  readonly #kv: Deno.Kv;
  readonly #cache = new TtlCache<RoutingRule[]>(2_000);

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** A workspace's rules by priority; `cached` allows a copy up to 2 s old. */
  async list(wsId: string, cached = false): Promise<RoutingRule[]> {
    if (cached) {
      const hit = this.#cache.get(wsId);
      if (hit) return hit;
    }
    const rules: RoutingRule[] = [];
    for await (const entry of this.#kv.list<RoutingRule>({ prefix: rulePrefix(wsId) })) {
      rules.push(entry.value);
    }
    rules.sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
    this.#cache.set(wsId, rules);
    return rules;
  }

  /** One rule, or null. */
  async get(wsId: string, id: string): Promise<RoutingRule | null> {
    if (id.length > 64) return null;
    return (await this.#kv.get<RoutingRule>(ruleKey(wsId, id))).value;
  }

  /** Saves a new rule. */
  async create(wsId: string, input: z.output<typeof ruleInputSchema>): Promise<RoutingRule> {
    const rule: RoutingRule = {
      ...input,
      id: `rule_${newId().toLowerCase()}`,
      created_at: new Date().toISOString(),
    };
    await this.#kv.set(ruleKey(wsId, rule.id), rule);
    this.#cache.delete(wsId);
    return rule;
  }

  /** Replaces a rule's definition; null when absent. */
  async replace(
    wsId: string,
    id: string,
    input: z.output<typeof ruleInputSchema>,
  ): Promise<RoutingRule | null> {
    const current = await this.get(wsId, id);
    if (!current) return null;
    const rule: RoutingRule = { ...input, id, created_at: current.created_at };
    await this.#kv.set(ruleKey(wsId, id), rule);
    this.#cache.delete(wsId);
    return rule;
  }

  /** Deletes a rule; false when absent. */
  async delete(wsId: string, id: string): Promise<boolean> {
    if (!(await this.get(wsId, id))) return false;
    await this.#kv.delete(ruleKey(wsId, id));
    this.#cache.delete(wsId);
    return true;
  }
}

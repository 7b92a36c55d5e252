import assert from "node:assert/strict";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination } from "./destinations.ts";
import { consentBlocks, routeEvent, type RoutingRule } from "./rules.ts";

function event(extra: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: "01J0000000000000000000000A",
    workspace_id: "ws_1",
    event_id: "e-1",
    event_name: "purchase",
    event_time: 0,
    received_at: 0,
    source: "server",
    dialect: "native",
    user_data: {},
    value: 150,
    properties: { plan: "pro" },
    trace_id: "t",
    ...extra,
  };
}

function destination(id: string, type: Destination["type"], extra: Partial<Destination> = {}) {
  return {
    id,
    workspace_id: "ws_1",
    type,
    name: id,
    enabled: true,
    config: {},
    secrets_sealed: "",
    secret_fields: [],
    health: { status: "healthy" },
    created_at: "",
    updated_at: "",
    ...extra,
  } satisfies Destination;
}

function rule(action: RoutingRule["action"], match: RoutingRule["match"] = {}, priority = 100) {
  return {
    id: `rule_${priority}`,
    name: `r${priority}`,
    enabled: true,
    priority,
    match,
    action,
    created_at: "",
  } satisfies RoutingRule;
}

const META = destination("dst_meta", "meta");
const GA4 = destination("dst_ga4", "ga4");
const HOOK = destination("dst_hook", "webhook");

Deno.test("routeEvent() sends to every enabled destination when there are no rules", () => {
  const off = destination("dst_off", "meta", { enabled: false });
  const decisions = routeEvent(event(), [META, GA4, off], []);
  assert.deepEqual([...decisions], [
    ["dst_meta", { send: true, event_name: "purchase" }],
    ["dst_ga4", { send: true, event_name: "purchase" }],
  ]);
});

Deno.test("routeEvent() limits matching events to a send rule's destinations", () => {
  const rules = [rule({ type: "send", destinations: ["dst_meta"] }, { value_min: 100 })];
  assert.deepEqual([...routeEvent(event(), [META, GA4], rules)], [
    ["dst_meta", { send: true, event_name: "purchase" }],
    ["dst_ga4", { send: false, reason: "not routed here by the rules" }],
  ]);
  assert.equal(routeEvent(event({ value: 50 }), [META, GA4], rules).get("dst_ga4")?.send, true);
});

Deno.test("routeEvent() renames for one destination and drops on a drop rule", () => {
  const rename = rule({ type: "rename", event_name: "Subscribe", destinations: ["dst_meta"] }, {
    properties: { plan: "pro" },
  }, 1);
  const decisions = routeEvent(event(), [META, GA4], [rename]);
  assert.deepEqual(decisions.get("dst_meta"), { send: true, event_name: "Subscribe" });
  assert.deepEqual(decisions.get("dst_ga4"), { send: true, event_name: "purchase" });
  const drop = rule({ type: "drop" }, { event_names: ["purchase"], sources: ["server"] }, 2);
  assert.deepEqual(routeEvent(event(), [META], [rename, drop]).get("dst_meta"), {
    send: false,
    reason: 'dropped by rule "r2"',
  });
});

Deno.test("routeEvent() skips ad platforms when ad_user_data is denied, and paused destinations", () => {
  const denied = event({ consent: { ad_user_data: "denied", analytics_storage: "granted" } });
  const paused = destination("dst_paused", "meta", {
    health: { status: "unhealthy", reason: "auth failed: token expired" },
  });
  const decisions = routeEvent(denied, [META, GA4, HOOK, paused], []);
  assert.deepEqual(decisions.get("dst_meta"), {
    send: false,
    reason: "consent: ad_user_data denied",
  });
  assert.equal(decisions.get("dst_ga4")?.send, true);
  assert.equal(decisions.get("dst_hook")?.send, true);
  assert.deepEqual(decisions.get("dst_paused"), {
    send: false,
    reason: "destination paused: auth failed: token expired",
  });
  assert.equal(
    consentBlocks(event({ consent: { analytics_storage: "denied" } }), "analytics"),
    "consent: analytics_storage denied",
  );
  assert.equal(consentBlocks(event({ consent: { ad_user_data: "denied" } }), "none"), undefined);
});

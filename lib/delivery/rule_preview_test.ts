import assert from "node:assert/strict";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination } from "./destinations.ts";
import { PREVIEW_EXAMPLES, previewRule, type RuleInput, rulesWith } from "./rule_preview.ts";
import type { RoutingRule } from "./rules.ts";

function event(n: number, extra: Partial<SluiceEvent> = {}): SluiceEvent {
  return {
    id: `01J00000000000000000000${String(n).padStart(3, "0")}`,
    workspace_id: "ws_1",
    event_id: `e-${n}`,
    event_name: "purchase",
    event_time: 0,
    received_at: 0,
    source: "server",
    dialect: "native",
    user_data: {},
    properties: {},
    trace_id: "t",
    ...extra,
  };
}

function destination(id: string, type: Destination["type"], extra: Partial<Destination> = {}) {
  return {
    id,
    workspace_id: "ws_1",
    type,
    name: id.toUpperCase(),
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

function input(action: RuleInput["action"], match: RuleInput["match"] = {}, priority = 100) {
  return { name: `r${priority}`, enabled: true, priority, match, action } satisfies RuleInput;
}

function saved(id: string, rule: RuleInput): RoutingRule {
  return { ...rule, id, created_at: "2026-12-01T00:00:00.000Z" };
}

const META = destination("dst_meta", "meta");
const GA4 = destination("dst_ga4", "ga4");
const OFF = destination("dst_off", "tiktok", { enabled: false });

/** Three purchases (e-1…e-3, value 50, 150, 250) and two page views (e-4, e-5), newest first. */
const EVENTS = [
  event(5, { event_name: "page_view" }),
  event(4, { event_name: "page_view" }),
  event(3, { value: 250 }),
  event(2, { value: 150 }),
  event(1, { value: 50 }),
];

Deno.test("previewRule() counts per platform what a drop rule stops, with the changed events", () => {
  const preview = previewRule(
    EVENTS,
    [META, GA4, OFF],
    [],
    input({ type: "drop" }, { event_names: ["page_view"] }),
  );
  assert.equal(preview.events_checked, 5);
  assert.equal(preview.changed, 2);
  assert.deepEqual(preview.destinations, [
    {
      platform_id: "dst_meta",
      type: "meta",
      name: "DST_META",
      sent_before: 5,
      sent_after: 3,
      renamed: [],
    },
    {
      platform_id: "dst_ga4",
      type: "ga4",
      name: "DST_GA4",
      sent_before: 5,
      sent_after: 3,
      renamed: [],
    },
  ]);
  const dropped = { send: false, reason: 'dropped by rule "r100"' };
  assert.deepEqual(preview.examples[0], {
    event_id: "e-5",
    event_name: "page_view",
    before: {
      dst_meta: { send: true, event_name: "page_view" },
      dst_ga4: { send: true, event_name: "page_view" },
    },
    after: { dst_meta: dropped, dst_ga4: dropped },
  });
  assert.deepEqual(preview.examples.map((e) => e.event_id), ["e-5", "e-4"]);
});

Deno.test("previewRule() reports renames per platform and lists only the decisions that change", () => {
  const preview = previewRule(
    EVENTS,
    [META, GA4],
    [],
    input(
      { type: "rename", event_name: "Purchase", destinations: ["dst_meta"] },
      { event_names: ["purchase"], value_min: 100 },
    ),
  );
  assert.equal(preview.changed, 2);
  assert.deepEqual(preview.destinations.map((d) => [d.platform_id, d.renamed]), [
    ["dst_meta", [{ from: "purchase", to: "Purchase", count: 2 }]],
    ["dst_ga4", []],
  ]);
  assert.deepEqual(preview.examples[0], {
    event_id: "e-3",
    event_name: "purchase",
    before: { dst_meta: { send: true, event_name: "purchase" } },
    after: { dst_meta: { send: true, event_name: "Purchase" } },
  });
});

Deno.test("previewRule() runs the rule after the saved ones of its priority and ignores a change of reason alone", () => {
  const onlyGa4 = saved("rule_a", input({ type: "send", destinations: ["dst_ga4"] }));
  const drop = previewRule(EVENTS, [META, GA4], [onlyGa4], input({ type: "drop" }));
  assert.deepEqual(drop.destinations.map((d) => [d.sent_before, d.sent_after]), [[0, 0], [5, 0]]);
  assert.equal(drop.changed, 5);
  assert.deepEqual(drop.examples[0]?.before, { dst_ga4: { send: true, event_name: "page_view" } });
  const sendMeta = previewRule(
    EVENTS,
    [META, GA4],
    [onlyGa4],
    input({ type: "send", destinations: ["dst_meta"] }),
  );
  assert.equal(sendMeta.changed, 5, "both send rules hold: nothing is sent anywhere");
  assert.deepEqual(sendMeta.examples[0]?.after, {
    dst_ga4: { send: false, reason: "not routed here by the rules" },
  });
  const disabled = previewRule(EVENTS, [META], [], { ...input({ type: "drop" }), enabled: false });
  assert.equal(disabled.changed, 0);
  assert.deepEqual(disabled.examples, []);
});

Deno.test("previewRule() with a saved rule to replace tries the edit instead of an addition", () => {
  const dropViews = saved("rule_a", input({ type: "drop" }, { event_names: ["page_view"] }));
  const edit = input({ type: "drop" }, { event_names: ["page_view"], sources: ["web"] });
  const replaced = previewRule(EVENTS, [META], [dropViews], edit, dropViews);
  assert.equal(replaced.changed, 2, "server page views are no longer dropped");
  assert.deepEqual(replaced.destinations[0], {
    platform_id: "dst_meta",
    type: "meta",
    name: "DST_META",
    sent_before: 3,
    sent_after: 5,
    renamed: [],
  });
  const added = previewRule(EVENTS, [META], [dropViews], edit);
  assert.equal(added.changed, 0, "added beside the saved rule, it drops nothing more");
});

Deno.test(`previewRule() keeps at most ${PREVIEW_EXAMPLES} examples and counts every change`, () => {
  const many = Array.from({ length: 50 }, (_, i) => event(i));
  const preview = previewRule(many, [META], [], input({ type: "drop" }));
  assert.equal(preview.changed, 50);
  assert.equal(preview.examples.length, PREVIEW_EXAMPLES);
});

Deno.test("rulesWith() orders by priority, a new rule last among equals, an edit by its id", () => {
  const a = saved("rule_a", input({ type: "drop" }, {}, 10));
  const b = saved("rule_b", input({ type: "drop" }, {}, 20));
  const c = saved("rule_c", input({ type: "drop" }, {}, 20));
  const added = rulesWith([a, b, c], input({ type: "drop" }, {}, 20));
  assert.deepEqual(added.map((r) => r.id), ["rule_a", "rule_b", "rule_c", ""]);
  const first = rulesWith([a, b, c], input({ type: "drop" }, {}, 0));
  assert.deepEqual(first.map((r) => r.id), ["", "rule_a", "rule_b", "rule_c"]);
  const edited = rulesWith([a, b, c], input({ type: "drop" }, {}, 20), a);
  assert.deepEqual(edited.map((r) => [r.id, r.priority, r.created_at]), [
    ["rule_a", 20, a.created_at],
    ["rule_b", 20, b.created_at],
    ["rule_c", 20, c.created_at],
  ]);
});

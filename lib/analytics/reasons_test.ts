import assert from "node:assert/strict";
import { mapEvents } from "../../connectors/map_events.ts";
import { meta } from "../../connectors/meta.ts";
import type { SluiceEvent } from "../../core/event.ts";
import type { Destination } from "../delivery/destinations.ts";
import { consentBlocks, routeEvent, type RoutingRule } from "../delivery/rules.ts";
import { asReasonClass, reasonClassOf, redact } from "./reasons.ts";

const event: SluiceEvent = {
  id: "01J0000000000000000000000A",
  workspace_id: "ws",
  event_id: "e1",
  event_name: "purchase",
  event_time: 0,
  received_at: 0,
  source: "server",
  dialect: "native",
  user_data: { email: "a@example.com" },
  properties: {},
  trace_id: "t",
};

const destination = (health: Destination["health"]): Destination => ({
  id: "dst_1",
  workspace_id: "ws",
  type: "meta",
  name: "Meta",
  enabled: true,
  config: {},
  secrets_sealed: "",
  secret_fields: [],
  health,
  created_at: "",
  updated_at: "",
});

const skipped = (last_error: string) => reasonClassOf({ status: "skipped", last_error });

Deno.test("reasonClassOf() classes the reasons the routing code writes", () => {
  const drop: RoutingRule = {
    id: "r",
    name: "no tests",
    enabled: true,
    priority: 1,
    match: {},
    action: { type: "drop" },
    created_at: "",
  };
  const reasonOf = (rules: RoutingRule[], dest: Destination, e = event) => {
    const decision = routeEvent(e, [dest], rules).get("dst_1");
    assert.ok(decision && !decision.send);
    return decision.reason;
  };
  assert.equal(skipped(reasonOf([drop], destination({ status: "healthy" }))), "rules");
  assert.equal(
    skipped(
      reasonOf(
        [{ ...drop, action: { type: "send", destinations: ["other"] } }],
        destination({ status: "healthy" }),
      ),
    ),
    "rules",
  );
  assert.equal(
    skipped(reasonOf([], destination({ status: "unhealthy", reason: "auth failed: token" }))),
    "paused",
  );
  const denied = { ...event, consent: { ad_user_data: "denied" as const } };
  assert.equal(skipped(consentBlocks(denied, "ads")!), "consent");
  assert.equal(skipped(reasonOf([], destination({ status: "healthy" }), denied)), "consent");
  const old = { ...event, event_time: 0 };
  const [stale] = mapEvents(meta, [old], {}, { now: 30 * 86_400_000 }).skipped;
  assert.equal(skipped(stale!.reason), "too_old");
  assert.equal(skipped("destination disabled"), "disabled");
  assert.equal(skipped("destination deleted"), "disabled");
  assert.equal(skipped("website events need event_source_url (page.url)"), "validation");
});

Deno.test("reasonClassOf() classes failures by the platform's status first", () => {
  const failed = (last_status: number | undefined, last_error = "x") =>
    reasonClassOf({ status: "failed", last_status, last_error });
  assert.equal(failed(401), "auth");
  assert.equal(failed(403), "auth");
  assert.equal(failed(429), "throttled");
  assert.equal(failed(408), "network");
  assert.equal(failed(503), "server");
  assert.equal(failed(400), "validation");
  assert.equal(failed(200, "TikTok code 40002: bad params"), "validation");
  assert.equal(failed(undefined, "gave up after 7 attempts: timed out after 10000 ms"), "network");
  assert.equal(failed(undefined, 'no connector for type "x"'), "config");
  assert.equal(failed(undefined, "destination settings are invalid: pixel_id Required"), "config");
  assert.equal(failed(undefined, "token endpoint refused the refresh token"), "auth");
  assert.equal(reasonClassOf({ status: "retrying", last_status: 500 }), "server");
  assert.equal(reasonClassOf({ status: "delivered", last_status: 200 }), "other");
});

Deno.test("asReasonClass() reads known classes and maps anything else to other", () => {
  assert.equal(asReasonClass("consent"), "consent");
  assert.equal(asReasonClass("¯\\_(ツ)_/¯"), "other");
});

Deno.test("redact() replaces e-mails, quoted values, IPs and digit runs with short hashes", () => {
  const text = redact(
    'Invalid email "ada@example.com" for +1 650 555 1212 from 203.0.113.9, user bob@x.io',
  );
  assert.ok(!text.includes("ada@example.com"));
  assert.ok(!text.includes("650 555"));
  assert.ok(!text.includes("203.0.113.9"));
  assert.ok(!text.includes("bob@x.io"));
  assert.match(text, /^Invalid email \[sha256:[0-9a-f]{12}\] for \[sha256:[0-9a-f]{12}\]/);
  assert.equal(redact("must be a 3-letter ISO 4217 code"), "must be a 3-letter ISO 4217 code");
  assert.equal(redact("x".repeat(500)).length, 200);
});

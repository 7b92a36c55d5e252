import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { answer, outcomeOf, testEvent } from "./_test_events.ts";
import { mapEvents } from "./map_events.ts";
import { connectorFor, CONNECTORS, PLATFORM_TYPES } from "./mod.ts";
import type { MapOptions, SkippedEvent } from "./types.ts";

/** A golden file: settings and events in, the exact requests (bodies parsed) out. */
interface Fixture {
  description: string;
  source: string;
  settings: Record<string, unknown>;
  options: MapOptions;
  events: SluiceEvent[];
  expected: {
    requests: {
      method: string;
      url: string;
      headers: Record<string, string>;
      body?: unknown;
      eventIndexes: number[];
    }[];
    skipped: SkippedEvent[];
  };
}

const FIXTURES = new URL("../tests/fixtures/", import.meta.url);

function fixtureNames(id: string): string[] {
  return [...Deno.readDirSync(new URL(`${id}/`, FIXTURES))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort();
}

function readFixture(id: string, name: string): Fixture {
  const fixture: Fixture = JSON.parse(Deno.readTextFileSync(new URL(`${id}/${name}`, FIXTURES)));
  return fixture;
}

const OUTCOMES = ["delivered", "accepted", "retry", "failed", "auth_failed"];

for (const connector of CONNECTORS) {
  const id = connector.id;
  const names = fixtureNames(id);

  Deno.test(`${id}: registry entry is well formed`, () => {
    assert.ok(PLATFORM_TYPES.some((type) => type === id));
    assert.equal(connectorFor(id), connector);
    assert.match(connector.docsUrl, /^https:\/\//);
    assert.ok(connector.batchLimit >= 1);
    assert.ok(connector.label.length > 0);
    assert.ok(connector.secretFields.length > 0);
    assert.ok(
      connector.urlFields.includes("endpoint"),
      "every connector takes an endpoint override",
    );
    assert.ok(["ads", "analytics", "none"].includes(connector.consent));
    assert.ok(connector.testMode === null || connector.testMode.length > 0);
  });

  Deno.test(`${id}: has golden fixtures`, () => {
    assert.ok(names.length > 0, `no fixtures in tests/fixtures/${id}/`);
  });

  Deno.test(`${id}: settings refuse unknown keys, naming them, and describe every field`, () => {
    const example = readFixture(id, names[0]!).settings;
    assert.ok(connector.settings.safeParse(example).success);
    const typo = connector.settings.safeParse({ ...example, test_code: "TEST1" });
    assert.equal(typo.success, false);
    assert.ok(JSON.stringify(typo.error?.issues).includes("test_code"));
    const shape =
      (connector.settings as unknown as { shape?: Record<string, { description?: string }> })
        .shape;
    for (const [field, schema] of Object.entries(shape ?? {})) {
      assert.ok(schema.description, `${id}.${field} has no description for forms`);
    }
    for (const field of [...connector.secretFields, ...connector.urlFields]) {
      assert.ok(!shape || field in shape, `${id} declares unknown field ${field}`);
    }
  });

  Deno.test(`${id}: classify() takes any answer without throwing, retrying 429 and 5xx`, () => {
    for (const status of [200, 202, 204, 400, 401, 403, 404, 422, 429, 500, 503]) {
      for (const body of ["", "not json", "{}", '{"error":{}}', "[]"]) {
        const outcome = outcomeOf(connector, answer(status, body));
        assert.ok(OUTCOMES.includes(outcome.kind), `${status} ${body}: ${outcome.kind}`);
      }
    }
    assert.equal(outcomeOf(connector, answer(429, "")).kind, "retry");
    assert.equal(outcomeOf(connector, answer(500, "")).kind, "retry");
    const limited = outcomeOf(connector, answer(503, "", { "retry-after": "7" }));
    assert.deepEqual(limited.kind === "retry" && limited.afterMs, 7000);
  });

  Deno.test(`${id}: events older than the platform takes are skipped with the reason`, () => {
    const now = 1_800_000_000_000;
    const fresh = testEvent({ event_time: now - 60_000, page: { url: "https://shop.example/" } });
    const maxAge = connector.maxEventAgeMs(fresh);
    if (maxAge === undefined) return;
    const old = { ...fresh, id: "01JQ0000000000000000000001", event_time: now - maxAge - 1 };
    const settings = connector.settings.parse(readFixture(id, names[0]!).settings);
    const result = mapEvents(connector, [old], settings, { now });
    assert.deepEqual(result.requests, []);
    assert.match(result.skipped[0]?.reason ?? "", /older than .* accepts \(\d+ (days|hours)\)/);
  });

  for (const name of names) {
    Deno.test(`${id}.map() matches tests/fixtures/${id}/${name}`, () => {
      const fixture = readFixture(id, name);
      const settings = connector.settings.parse(fixture.settings);
      const before = structuredClone(fixture.events);
      const result = mapEvents(connector, fixture.events, settings, fixture.options);
      assert.deepEqual(fixture.events, before, "map() must not change its input");
      assert.deepEqual(
        {
          requests: result.requests.map((r) => ({
            ...r,
            body: r.body === undefined ? undefined : JSON.parse(r.body),
          })),
          skipped: result.skipped,
        },
        fixture.expected,
      );
      assert.deepEqual(
        mapEvents(connector, fixture.events, settings, fixture.options),
        result,
        "map() must be deterministic",
      );
    });

    Deno.test(`${id}.map() covers every event once and honours batchLimit (${name})`, () => {
      const fixture = readFixture(id, name);
      const settings = connector.settings.parse(fixture.settings);
      const result = mapEvents(connector, fixture.events, settings, fixture.options);
      const seen = [
        ...result.requests.flatMap((r) => r.eventIndexes),
        ...result.skipped.map((s) => s.index),
      ].sort((a, b) => a - b);
      assert.deepEqual(seen, fixture.events.map((_, i) => i));
      for (const request of result.requests) {
        assert.ok(request.eventIndexes.length <= connector.batchLimit);
      }
    });

    Deno.test(`${id}.map() sends to the endpoint override (${name})`, () => {
      const fixture = readFixture(id, name);
      const settings = connector.settings.parse({
        ...fixture.settings,
        endpoint: "https://relay.example/base/",
      });
      const result = mapEvents(connector, fixture.events, settings, fixture.options);
      assert.ok(result.requests.length > 0);
      for (const request of result.requests) {
        assert.ok(request.url.startsWith("https://relay.example/base"), request.url);
      }
    });
  }
}

Deno.test("connectorFor() returns undefined for types without a connector", () => {
  assert.equal(connectorFor("myspace"), undefined);
  assert.equal(connectorFor("__proto__"), undefined);
  assert.equal(connectorFor("toString"), undefined);
});

Deno.test("the registry lists every type once, in alphabetical order, each under its own id", () => {
  assert.deepEqual(PLATFORM_TYPES, [...PLATFORM_TYPES].sort());
  assert.deepEqual(CONNECTORS.map((c) => c.id), PLATFORM_TYPES);
});

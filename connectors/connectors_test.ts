import assert from "node:assert/strict";
import type { SluiceEvent } from "../core/event.ts";
import { connectorFor, connectors } from "./mod.ts";
import { type MapOptions, PLATFORM_TYPES, type SkippedEvent } from "./types.ts";

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

for (const [id, connector] of Object.entries(connectors)) {
  Deno.test(`${id}: registry entry is well formed`, () => {
    assert.ok(PLATFORM_TYPES.some((type) => type === id));
    assert.equal(connector.id, id);
    assert.equal(connectorFor(id), connector);
    assert.match(connector.docsUrl, /^https:\/\//);
    assert.ok(connector.batchLimit >= 1);
    assert.ok(connector.label.length > 0);
    assert.ok(connector.secretFields.length > 0);
  });

  const names = fixtureNames(id);
  Deno.test(`${id}: has golden fixtures`, () => {
    assert.ok(names.length > 0, `no fixtures in tests/fixtures/${id}/`);
  });

  for (const name of names) {
    Deno.test(`${id}.map() matches tests/fixtures/${id}/${name}`, () => {
      const fixture = readFixture(id, name);
      const settings = connector.settings.parse(fixture.settings);
      const before = structuredClone(fixture.events);
      const result = connector.map(fixture.events, settings, fixture.options);
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
        connector.map(fixture.events, settings, fixture.options),
        result,
        "map() must be deterministic",
      );
    });

    Deno.test(`${id}.map() covers every event once and honours batchLimit (${name})`, () => {
      const fixture = readFixture(id, name);
      const settings = connector.settings.parse(fixture.settings);
      const result = connector.map(fixture.events, settings, fixture.options);
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
      const result = connector.map(fixture.events, settings, fixture.options);
      assert.ok(result.requests.length > 0);
      for (const request of result.requests) {
        assert.ok(request.url.startsWith("https://relay.example/base"), request.url);
      }
    });
  }
}

Deno.test("connectorFor() returns undefined for types without a connector", () => {
  assert.equal(connectorFor("tiktok"), undefined);
  assert.equal(connectorFor("__proto__"), undefined);
  assert.equal(connectorFor("toString"), undefined);
});

import assert from "node:assert/strict";
import { nativeEventSchema } from "../../core/event.ts";
import { SOURCE_TYPES, sourcePlatformFor } from "./mod.ts";
import { parseWebhookJson } from "./webhook_json.ts";

const FIXTURES = new URL("../../tests/fixtures/sources/", import.meta.url);

interface Fixture {
  about: string;
  source: string;
  headers: Record<string, string>;
  payload: unknown;
  expected: unknown;
}

function* fixtures(type: string): Generator<[string, Fixture]> {
  const dir = new URL(`${type}/`, FIXTURES);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"))
    .sort();
  for (const name of names) {
    // Read as the ingest route reads bodies, so 64-bit ids keep their digits.
    const fixture = parseWebhookJson(Deno.readFileSync(new URL(name, dir))) as Fixture;
    yield [name, fixture];
  }
}

for (const type of SOURCE_TYPES) {
  Deno.test(`${type}.toEvents() maps every golden fixture to its expected output`, () => {
    const platform = sourcePlatformFor(type)!;
    let count = 0;
    for (const [name, fixture] of fixtures(type)) {
      count++;
      assert.match(
        fixture.source,
        /^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/[0-9a-f]{40}\//,
        name,
      );
      assert.ok(fixture.about.length > 40, `${name} says what it is and what was changed`);
      const mapped = platform.toEvents(fixture.payload, new Headers(fixture.headers));
      assert.deepEqual(mapped, fixture.expected, name);
      if (mapped.kind === "purchase") {
        const parsed = nativeEventSchema.safeParse(mapped.event);
        assert.ok(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`);
      }
    }
    assert.ok(count >= 3, `${type} has golden fixtures`);
  });
}

Deno.test("sourcePlatformFor() knows the registry's types and nothing else", () => {
  assert.deepEqual(SOURCE_TYPES, ["shopify", "woocommerce", "stripe"]);
  for (const type of SOURCE_TYPES) assert.equal(sourcePlatformFor(type)?.id, type);
  assert.equal(sourcePlatformFor("toString"), undefined);
  assert.equal(sourcePlatformFor("paypal"), undefined);
});

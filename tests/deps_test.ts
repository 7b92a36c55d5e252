/**
 * The server's dependencies stay the server's: test-only packages are pinned in tests/_deps.ts
 * and deno.test.lock, never in deno.json or deno.lock, which `deno task start` installs whole.
 */
import assert from "node:assert/strict";
import { serverLockLeaks, TEST_ONLY_PACKAGES } from "./_deps.ts";

const ROOT = new URL("../", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, ROOT));

Deno.test("deno.json imports no test-only package; deno.lock pins none, deno.test.lock each", () => {
  const imports: Record<string, string> = JSON.parse(read("deno.json")).imports;
  const named = Object.values(imports).filter((target) =>
    TEST_ONLY_PACKAGES.some((name) =>
      target.includes(`npm:${name}@`) || target.includes(`/${name}@`)
    )
  );
  assert.deepEqual(named, []);
  assert.deepEqual(serverLockLeaks(read("deno.lock")), []);
  assert.deepEqual(serverLockLeaks(read("deno.test.lock")), [...TEST_ONLY_PACKAGES]);
});

Deno.test("serverLockLeaks() names the test-only packages a lockfile pins, scoped ones too", () => {
  const lock = JSON.stringify({
    npm: {
      "hono@4.13.19": {},
      "playwright-core@1.65.2": {},
      "@axe-core/playwright@4.14.0_playwright-core@1.65.2": {},
      "protobufjs-extra@1.0.0": {},
    },
  });
  assert.deepEqual(serverLockLeaks(lock), ["@axe-core/playwright", "playwright-core"]);
  assert.deepEqual(serverLockLeaks("{}"), []);
});

/**
 * The npm packages only tests use, pinned here rather than in deno.json `imports`:
 * `deno task` installs every package of the lockfile it reads before running any task, so
 * the server's `deno task start` would download them too. Tests resolve them into their
 * own lockfile, `deno.test.lock` (`deno task test`, `deno task check`); deno.lock stays the
 * server's. Loading this module with deno.lock instead (a plain `deno test file`) writes
 * them into deno.lock, so it refuses: run `deno task test file`.
 *
 * @module
 */
export { default as AxeBuilder } from "npm:@axe-core/playwright@4.14.0";
export {
  default as datamanagerProtos,
} from "npm:@google-ads/datamanager@0.3.0/build/protos/protos.json" with {
  type: "json",
};
export { default as facebookSdk } from "npm:facebook-nodejs-business-sdk@24.0.1";
export { type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.2";
export { default as protobuf } from "npm:protobufjs@7.5.4";

/** The test-only packages; neither deno.json nor deno.lock may name them. */
export const TEST_ONLY_PACKAGES = [
  "@axe-core/playwright",
  "@google-ads/datamanager",
  "facebook-nodejs-business-sdk",
  "playwright-core",
  "protobufjs",
] as const;

/** The test-only packages deno.lock pins (none, unless a test ran without deno.test.lock). */
export function serverLockLeaks(lockText: string): string[] {
  const lock: { npm?: Record<string, unknown> } = JSON.parse(lockText);
  const pinned = Object.keys(lock.npm ?? {}).map((id) => id.replace(/^(@?[^@]+)@.*$/, "$1"));
  return TEST_ONLY_PACKAGES.filter((name) => pinned.includes(name));
}

const leaks = serverLockLeaks(Deno.readTextFileSync(new URL("../deno.lock", import.meta.url)));
if (leaks.length > 0) {
  throw new Error(
    `deno.lock pins test-only packages (${leaks.join(", ")}): a test ran with deno.lock ` +
      "instead of deno.test.lock. Restore it (git checkout deno.lock) and run tests with " +
      "`deno task test [file…]`",
  );
}

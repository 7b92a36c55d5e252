import assert from "node:assert/strict";
import { LoginThrottle } from "./throttle.ts";

Deno.test("LoginThrottle refuses past the limit until the window ends, per account and per IP", async () => {
  using kv = await Deno.openKv(":memory:");
  let now = 60_000;
  const throttle = new LoginThrottle(kv, { perAccount: 2, perIp: 3, windowMs: 60_000 }, () => now);
  await throttle.fail("Ann@Example.com", "192.0.2.1");
  assert.deepEqual(await throttle.check("ann@example.com", "192.0.2.9"), { allowed: true });
  await throttle.fail("ann@example.com", "192.0.2.1");
  now += 15_000;
  assert.deepEqual(await throttle.check("ann@example.com", "192.0.2.9"), {
    allowed: false,
    retryAfterSeconds: 45,
  });
  await throttle.fail("bob@example.com", "192.0.2.1");
  assert.equal((await throttle.check("carol@example.com", "192.0.2.1")).allowed, false);
  assert.equal((await throttle.check("carol@example.com", "192.0.2.2")).allowed, true);
  now += 60_000;
  assert.equal((await throttle.check("ann@example.com", "192.0.2.1")).allowed, true);
  // The counters name the account only by a hash.
  for await (const entry of kv.list({ prefix: ["login_fail"] })) {
    assert.ok(!JSON.stringify(entry.key).includes("example.com"));
  }
});

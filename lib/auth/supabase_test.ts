import assert from "node:assert/strict";
import { mockSupabase } from "../../tests/_mock_supabase.ts";
import { SupabaseAuth } from "./supabase.ts";

const b64 = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** An unsigned token (`alg: none`) with the claims a real one would have. */
function unsigned(header: Record<string, unknown>, issuer: string): string {
  const now = Math.floor(Date.now() / 1000);
  return `${b64(header)}.${
    b64({
      iss: issuer,
      aud: "authenticated",
      sub: crypto.randomUUID(),
      email: "ana@example.com",
      exp: now + 3600,
    })
  }.`;
}

Deno.test("SupabaseAuth.verify() refuses unsigned tokens and tokens that are not JWTs", async () => {
  await using mock = await mockSupabase();
  const auth = new SupabaseAuth({ url: mock.url, anonKey: mock.anonKey });
  const jwks = await (await fetch(`${mock.url}/auth/v1/.well-known/jwks.json`)).json();
  const kid = jwks.keys[0].kid;
  for (
    const token of [
      unsigned({ alg: "none", typ: "JWT" }, auth.issuer),
      unsigned({ alg: "none", typ: "JWT", kid }, auth.issuer),
      // The published key is an EC key: an RS256 header cannot be verified with it.
      unsigned({ alg: "RS256", typ: "JWT", kid }, auth.issuer),
      "not-a-jwt",
      "",
    ]
  ) {
    const verdict = await auth.verify(token);
    assert.deepEqual(
      verdict.ok ? verdict : { reason: verdict.reason, code: "code" in verdict && verdict.code },
      { reason: "refused", code: "token_invalid" },
      token,
    );
  }
  // Only the token without a kid was sent to the Auth server (which refused it).
  assert.deepEqual(mock.requests.filter((r) => r.endsWith("/user")), ["GET /auth/v1/user"]);
});

Deno.test("SupabaseAuth.signIn() is unavailable when Supabase does not answer within the timeout", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await release.promise;
    return new Response("late");
  });
  try {
    const auth = new SupabaseAuth({
      url: `http://127.0.0.1:${server.addr.port}`,
      anonKey: "k",
      timeoutMs: 200,
    });
    const started = performance.now();
    const verdict = await auth.signIn("ana@example.com", "password-1");
    const took = performance.now() - started;
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.reason, "unavailable");
    assert.ok(took >= 190 && took < 2_000, `${took} ms`);
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("SupabaseAuth.signIn() answers the verified email and user id", async () => {
  await using mock = await mockSupabase();
  mock.users.set("ana@example.com", "password-of-ana");
  const auth = new SupabaseAuth({ url: mock.url, anonKey: mock.anonKey });
  const verdict = await auth.signIn("ana@example.com", "password-of-ana");
  assert.equal(verdict.ok, true);
  assert.equal(verdict.ok && verdict.email, "ana@example.com");
  assert.match(verdict.ok ? verdict.userId : "", /^[0-9a-f-]{36}$/);
  assert.deepEqual(await auth.signIn("ana@example.com", "wrong"), {
    ok: false,
    reason: "refused",
    code: "invalid_credentials",
    status: 400,
  });
  // The JWKS was fetched once and is cached for the next sign-in.
  await auth.signIn("ana@example.com", "password-of-ana");
  assert.equal(mock.requests.filter((r) => r.includes("jwks")).length, 1);
});

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac, hkdfSync } from "node:crypto";
import { LinkTokens, MAX_LINK_TOKEN_TTL_S, signLinkToken } from "./link_tokens.ts";

const SECRET = "link-token-test-secret-0123456789";
const NOW = 1_767_225_600_000;

Deno.test("LinkTokens.mint() makes tokens verify() accepts until they expire", () => {
  const tokens = new LinkTokens(SECRET);
  const { token, expires_at } = tokens.mint("ws_1", "u-42", { ttlSeconds: 3600, nowMs: NOW });
  assert.equal(expires_at, NOW / 1000 + 3600);
  assert.deepEqual(tokens.verify(token, NOW), {
    ok: true,
    claims: { ws: "ws_1", uid: "u-42", exp: expires_at },
  });
  assert.deepEqual(tokens.verify(token, NOW + 3600_000), { ok: false, reason: "has expired" });
  assert.throws(
    () => tokens.mint("ws_1", "u", { ttlSeconds: MAX_LINK_TOKEN_TTL_S + 1 }),
    RangeError,
  );
});

Deno.test("LinkTokens keys differ per workspace and follow the documented HKDF derivation", () => {
  const tokens = new LinkTokens(SECRET);
  const expected = new Uint8Array(
    hkdfSync("sha256", SECRET, "sluice", "magic-link:ws_1", 32),
  );
  assert.deepEqual(tokens.keyFor("ws_1"), expected);
  assert.notDeepEqual(tokens.keyFor("ws_2"), expected);
  // A token minted under another workspace's key does not pass as this one's.
  const claims = { ws: "ws_1", uid: "u", exp: NOW / 1000 + 60 };
  assert.equal(tokens.verify(signLinkToken(tokens.keyFor("ws_2"), claims), NOW).ok, false);
  assert.equal(
    new LinkTokens("another-secret-0123456789").verify(
      signLinkToken(tokens.keyFor("ws_1"), claims),
      NOW,
    ).ok,
    false,
  );
});

Deno.test("signLinkToken() is the documented algorithm: v1.<base64url JSON>.<base64url HMAC>", () => {
  const key = new LinkTokens(SECRET).keyFor("ws_1");
  const claims = { ws: "ws_1", uid: "u-42", exp: 1_767_229_200 };
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const mac = createHmac("sha256", key).update(`v1.${payload}`).digest("base64url");
  assert.equal(signLinkToken(key, claims), `v1.${payload}.${mac}`);
});

Deno.test("LinkTokens.verify() names what is wrong with a malformed token", () => {
  const tokens = new LinkTokens(SECRET);
  const key = tokens.keyFor("ws_1");
  const cases: [string, string][] = [
    ["v2.a.b", "is not a v1.<payload>.<signature> token"],
    ["v1.a.b.c", "is not a v1.<payload>.<signature> token"],
    ["v1.!!!.sig", "has a payload that is not base64url JSON"],
    [
      signLinkToken(key, { ws: "ws_1", uid: "", exp: NOW / 1000 + 60 }),
      "has claims other than {ws, uid, exp, em?}",
    ],
    [
      signLinkToken(key, { ws: "ws_1", uid: "u", exp: NOW / 1000 + MAX_LINK_TOKEN_TTL_S + 60 }),
      "claims to be valid for more than 30 days",
    ],
  ];
  for (const [token, reason] of cases) {
    assert.deepEqual(tokens.verify(token, NOW), { ok: false, reason });
  }
});

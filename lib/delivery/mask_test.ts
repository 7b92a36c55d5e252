import assert from "node:assert/strict";
import { maskRequest, maskSecrets, secretValues } from "./mask.ts";

Deno.test("secretValues() takes the secret settings and the access token, longest first", () => {
  const values = secretValues({ secretFields: ["access_token", "api_secret"] }, {
    pixel_id: "123",
    access_token: "EAAB-token",
    api_secret: "s3cr3t-value-longer",
  }, "ya29.oauth-token-x");
  assert.deepEqual(values, ["s3cr3t-value-longer", "ya29.oauth-token-x", "EAAB-token"]);
});

Deno.test("maskSecrets() masks a secret as is and URL-encoded; maskRequest() masks auth headers whole", () => {
  const secret = "a+b/c=d";
  assert.equal(
    maskSecrets(`https://x.example/?k=${encodeURIComponent(secret)}&raw=${secret}`, [secret]),
    "https://x.example/?k=********&raw=********",
  );
  const masked = maskRequest({
    method: "POST",
    url: "https://x.example/collect?api_secret=topsecret",
    headers: { authorization: "Bearer whatever", "x-other": "topsecret here" },
    body: '{"token":"topsecret"}',
    eventIndexes: [0],
  }, ["topsecret"]);
  assert.equal(masked.url, "https://x.example/collect?api_secret=********");
  assert.deepEqual(masked.headers, { authorization: "********", "x-other": "******** here" });
  assert.equal(masked.body, '{"token":"********"}');
});

import assert from "node:assert/strict";
import { accessGrant, refreshTokenRequest } from "./_oauth.ts";
import { answer } from "./_test_events.ts";

Deno.test("refreshTokenRequest() posts the form-encoded refresh grant to the token endpoint", () => {
  assert.deepEqual(
    refreshTokenRequest("https://auth.test/token", {
      refresh_token: "1//r+/=",
      client_id: "123.apps",
      client_secret: "s&cret",
    }),
    {
      method: "POST",
      url: "https://auth.test/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=refresh_token&refresh_token=1%2F%2Fr%2B%2F%3D&client_id=123.apps&" +
        "client_secret=s%26cret",
      eventIndexes: [],
    },
  );
});

Deno.test("refreshTokenRequest() sends the credentials after grant_type in the order given", () => {
  const request = refreshTokenRequest("https://auth.test/token", {
    client_id: "c",
    client_secret: "s",
    refresh_token: "r",
  });
  assert.equal(
    request.body,
    "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r",
  );
});

Deno.test("refreshTokenRequest() sends nothing but the three credentials", () => {
  const settings = {
    client_id: "c",
    developer_token: "dev",
    client_secret: "s",
    refresh_token: "r",
    access_token: "a",
  };
  const request = refreshTokenRequest("https://auth.test/token", settings);
  assert.equal(
    request.body,
    "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r",
  );
});

Deno.test("accessGrant() reads the token and its lifetime from a 2xx answer", () => {
  assert.deepEqual(
    accessGrant(answer(200, { access_token: "ya29.a0", expires_in: 3599, token_type: "Bearer" })),
    { accessToken: "ya29.a0", expiresInMs: 3_599_000 },
  );
  assert.deepEqual(accessGrant(answer(201, { access_token: "AQV", expires_in: 5_184_000 })), {
    accessToken: "AQV",
    expiresInMs: 5_184_000_000,
  });
});

Deno.test("accessGrant() takes an hour when the answer has no expires_in", () => {
  assert.deepEqual(accessGrant(answer(200, { access_token: "AQV" })), {
    accessToken: "AQV",
    expiresInMs: 3_600_000,
  });
});

Deno.test("accessGrant() is undefined without a usable token or outside 2xx", () => {
  for (
    const response of [
      answer(200, {}),
      answer(200, ""),
      answer(200, "not json"),
      answer(200, { access_token: "" }),
      answer(200, { access_token: "t", expires_in: 0 }),
      answer(200, { access_token: "t", expires_in: "3600" }),
      answer(400, { access_token: "t", error: "invalid_grant" }),
      answer(503, { access_token: "t" }),
      answer(302, { access_token: "t" }),
    ]
  ) {
    assert.equal(accessGrant(response), undefined, `${response.status} ${response.body}`);
  }
});

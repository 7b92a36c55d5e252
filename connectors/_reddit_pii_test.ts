import assert from "node:assert/strict";
import { redditEmail } from "./_reddit_pii.ts";

Deno.test("redditEmail() cuts the +alias and non-alphanumerics on every domain", () => {
  assert.equal(redditEmail("Al.ice$+Apple@Example.Com"), "alice@example.com");
});

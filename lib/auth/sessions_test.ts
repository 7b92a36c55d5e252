import assert from "node:assert/strict";
import { csrfMatches, SESSION_TTL_MS, SessionStore } from "./sessions.ts";

Deno.test("SessionStore keeps a session until it expires, checking the expiry on read", async () => {
  using kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  const sessions = new SessionStore(kv, () => now);
  const { id, session } = await sessions.create("acct_1", "ws_1");
  assert.equal((await sessions.get(id))?.account_id, "acct_1");
  assert.equal(await sessions.get("not-a-session"), null);
  // Used after two days: extended; left alone for a whole life: gone.
  now += 2 * 86_400_000;
  assert.equal((await sessions.get(id))?.expires_at, now + SESSION_TTL_MS);
  now += SESSION_TTL_MS;
  assert.equal(await sessions.get(id), null);
  assert.equal(csrfMatches(session, session.csrf), true);
  assert.equal(csrfMatches(session, "forged"), false);
  assert.equal(csrfMatches(session, undefined), false);
});

Deno.test("SessionStore.delete() ends a session and setWorkspace() changes what it shows", async () => {
  using kv = await Deno.openKv(":memory:");
  const sessions = new SessionStore(kv);
  const { id } = await sessions.create("acct_1");
  await sessions.setWorkspace(id, "ws_2");
  assert.equal((await sessions.get(id))?.workspace_id, "ws_2");
  await sessions.delete(id);
  assert.equal(await sessions.get(id), null);
});

import assert from "node:assert/strict";
import { emailInvitationPrefix } from "../kv/keys.ts";
import { AccountStore } from "./accounts.ts";
import { acceptInvitation, InvitationStore } from "./invitations.ts";

Deno.test("InvitationStore.pendingFor() finds an email's invitations; revoking or accepting one removes it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const invitations = new InvitationStore(kv);
    const accounts = new AccountStore(kv);
    const a = await invitations.create("ws_a", {
      email: "Ana@Example.com",
      role: "viewer",
      invitedBy: "x",
    });
    const b = await invitations.create("ws_b", {
      email: "ana@example.com",
      role: "member",
      invitedBy: "x",
    });
    await invitations.create("ws_a", { email: "bo@example.com", role: "member", invitedBy: "x" });
    const found = await invitations.pendingFor("ANA@example.com");
    assert.deepEqual(found.map((f) => f.invitation.id), [a.invitation.id, b.invitation.id]);
    // The index names the workspace, so a workspace's backup takes it along.
    const [index] = await Array.fromAsync(
      kv.list<{ workspace_id: string; token_hash: string }>({
        prefix: emailInvitationPrefix("ana@example.com"),
      }),
    );
    assert.equal(index?.value.workspace_id, "ws_a");
    assert.match(index?.value.token_hash ?? "", /^[0-9a-f]{64}$/);

    assert.equal(await invitations.revoke("ws_a", a.invitation.id), true);
    const accepted = await acceptInvitation(invitations, accounts, b.token, "a-new-password-1");
    assert.ok(!("failure" in accepted));
    assert.deepEqual(await invitations.pendingFor("ana@example.com"), []);
    assert.deepEqual(
      await Array.fromAsync(kv.list({ prefix: emailInvitationPrefix("ana@example.com") })),
      [],
    );
  } finally {
    kv.close();
  }
});

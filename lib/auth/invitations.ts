/**
 * Invitations: an owner invites an email with a role; the invitation link carries a random
 * token, shown once and stored only as its SHA-256, usable once, for 7 days. Accepting it
 * sets the new account's password (or, for an existing account, checks it) and adds the
 * membership in the same commit that consumes the invitation.
 *
 * @module
 */
import { monotonicFactory } from "ulid";
import { sha256Hex } from "../../core/digest.ts";
import { randomBase62 } from "../crypto.ts";
import { invitationKey, workspaceInvitationKey, workspaceInvitationPrefix } from "../kv/keys.ts";
import {
  type Account,
  AccountExistsError,
  type AccountStore,
  normalizeLoginEmail,
  type Role,
} from "./accounts.ts";

/** How long an invitation link works. */
export const INVITATION_TTL_MS = 7 * 86_400_000;

/** A pending invitation as stored. */
export interface Invitation {
  id: string;
  workspace_id: string;
  /** Lower-cased. */
  email: string;
  role: Role;
  /** The account that invited. */
  invited_by: string;
  created_at: string;
  expires_at: number;
}

/** A new invitation and its token, shown once. */
export interface InvitationCreated {
  invitation: Invitation;
  token: string;
}

const newId = monotonicFactory();

/** Invitations in KV. */
export class InvitationStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Invites an email into a workspace; the token is in the answer only. */
  async create(
    wsId: string,
    input: { email: string; role: Role; invitedBy: string },
  ): Promise<InvitationCreated> {
    const token = `inv_${randomBase62(40)}`;
    const hash = sha256Hex(token);
    const invitation: Invitation = {
      id: `inv_${newId().toLowerCase()}`,
      workspace_id: wsId,
      email: normalizeLoginEmail(input.email),
      role: input.role,
      invited_by: input.invitedBy,
      created_at: new Date().toISOString(),
      expires_at: Date.now() + INVITATION_TTL_MS,
    };
    const result = await this.#kv.atomic()
      .check({ key: invitationKey(hash), versionstamp: null })
      .set(invitationKey(hash), invitation, { expireIn: INVITATION_TTL_MS })
      .set(workspaceInvitationKey(wsId, invitation.id), hash, { expireIn: INVITATION_TTL_MS })
      .commit();
    if (!result.ok) throw new Error(`Cannot invite "${invitation.email}": token collision`);
    return { invitation, token };
  }

  /** The pending invitation of a token, with its KV entry for a checked consume; null when none. */
  async find(
    token: string,
  ): Promise<{ invitation: Invitation; entry: Deno.KvEntryMaybe<Invitation> } | null> {
    if (!token.startsWith("inv_") || token.length > 100) return null;
    const entry = await this.#kv.get<Invitation>(invitationKey(sha256Hex(token)));
    if (!entry.value || entry.value.expires_at <= Date.now()) return null;
    return { invitation: entry.value, entry };
  }

  /**
   * Adds to `op` the deletion of the invitation, checked unchanged, so that accepting it twice
   * at once lets only one commit through.
   */
  consumeIn(
    op: Deno.AtomicOperation,
    token: string,
    found: { invitation: Invitation; entry: Deno.KvEntryMaybe<Invitation> },
  ): Deno.AtomicOperation {
    return op.check(found.entry).delete(invitationKey(sha256Hex(token)))
      .delete(workspaceInvitationKey(found.invitation.workspace_id, found.invitation.id));
  }

  /** A workspace's pending invitations, oldest first. */
  async list(wsId: string): Promise<Invitation[]> {
    const found: Invitation[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: workspaceInvitationPrefix(wsId) })) {
      const invitation = (await this.#kv.get<Invitation>(invitationKey(entry.value))).value;
      if (invitation && invitation.expires_at > Date.now()) found.push(invitation);
    }
    return found;
  }

  /** Withdraws a pending invitation; false when there is none by that id. */
  async revoke(wsId: string, inviteId: string): Promise<boolean> {
    const index = await this.#kv.get<string>(workspaceInvitationKey(wsId, inviteId));
    if (!index.value) return false;
    await this.#kv.atomic().delete(workspaceInvitationKey(wsId, inviteId))
      .delete(invitationKey(index.value)).commit();
    return true;
  }
}

/** Why accepting an invitation failed. */
export type AcceptFailure = "invalid" | "wrong_password";

/**
 * Accepts an invitation: a new email gets an account with `password`; an existing account
 * must give its own password. The membership is added in the commit that consumes the
 * invitation, so a token works once.
 */
export async function acceptInvitation(
  invitations: InvitationStore,
  accounts: AccountStore,
  token: string,
  password: string,
): Promise<{ account: Account; invitation: Invitation } | { failure: AcceptFailure }> {
  const found = await invitations.find(token);
  if (!found) return { failure: "invalid" };
  const { invitation } = found;
  const consume = (op: Deno.AtomicOperation) => invitations.consumeIn(op, token, found);
  const existing = await accounts.byEmail(invitation.email);
  if (existing) {
    if (!(await accounts.verify(invitation.email, password))) return { failure: "wrong_password" };
    const ok = await accounts.setRole(
      invitation.workspace_id,
      existing.id,
      invitation.role,
      consume,
    );
    return ok ? { account: existing, invitation } : { failure: "invalid" };
  }
  try {
    const account = await accounts.create(
      { email: invitation.email, password },
      { wsId: invitation.workspace_id, role: invitation.role },
      consume,
    );
    return { account, invitation };
  } catch (error) {
    if (error instanceof AccountExistsError) return { failure: "invalid" };
    throw error;
  }
}

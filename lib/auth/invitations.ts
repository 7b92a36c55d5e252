/**
 * Invitations: an owner invites an email with a role; the invitation link carries a random
 * token, shown once and stored only as its SHA-256, usable once, for 7 days. Accepting it
 * sets the new account's password (or, for an existing account, checks it) and adds the
 * membership in the same commit that consumes the invitation. An index by email lets a
 * Supabase sign-in accept the email's pending invitations without the link: Supabase proved
 * the email is theirs.
 *
 * @module
 */
import { monotonicFactory } from "ulid";
import { sha256Hex } from "../../core/digest.ts";
import { randomBase62 } from "../crypto.ts";
import {
  emailInvitationKey,
  emailInvitationPrefix,
  invitationKey,
  workspaceInvitationKey,
  workspaceInvitationPrefix,
} from "../kv/keys.ts";
import {
  type Account,
  AccountExistsError,
  type AccountStore,
  normalizeLoginEmail,
  type Role,
  roleAllows,
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

/** A pending invitation with its KV entry, for a checked consume. */
export interface FoundInvitation {
  invitation: Invitation;
  entry: Deno.KvEntryMaybe<Invitation>;
}

/** The email index's value: enough to find the invitation, and its workspace for backups. */
interface EmailInvitation {
  workspace_id: string;
  token_hash: string;
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
      .set(
        emailInvitationKey(invitation.email, invitation.id),
        { workspace_id: wsId, token_hash: hash } satisfies EmailInvitation,
        { expireIn: INVITATION_TTL_MS },
      )
      .commit();
    if (!result.ok) throw new Error(`Cannot invite "${invitation.email}": token collision`);
    return { invitation, token };
  }

  /** The pending invitation of a token, with its KV entry for a checked consume; null when none. */
  async find(token: string): Promise<FoundInvitation | null> {
    if (!token.startsWith("inv_") || token.length > 100) return null;
    const entry = await this.#kv.get<Invitation>(invitationKey(sha256Hex(token)));
    if (!entry.value || entry.value.expires_at <= Date.now()) return null;
    return { invitation: entry.value, entry };
  }

  /** An email's pending invitations, oldest first. */
  async pendingFor(email: string): Promise<FoundInvitation[]> {
    const found: FoundInvitation[] = [];
    const prefix = emailInvitationPrefix(normalizeLoginEmail(email));
    for await (const index of this.#kv.list<EmailInvitation>({ prefix })) {
      const entry = await this.#kv.get<Invitation>(invitationKey(index.value.token_hash));
      if (entry.value && entry.value.expires_at > Date.now()) {
        found.push({ invitation: entry.value, entry });
      }
    }
    return found;
  }

  /**
   * Adds to `op` the deletion of the invitation, checked unchanged, so that accepting it twice
   * at once lets only one commit through.
   */
  consumeIn(op: Deno.AtomicOperation, found: FoundInvitation): Deno.AtomicOperation {
    const { invitation } = found;
    return op.check(found.entry).delete(found.entry.key)
      .delete(workspaceInvitationKey(invitation.workspace_id, invitation.id))
      .delete(emailInvitationKey(invitation.email, invitation.id));
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
    const invitation = (await this.#kv.get<Invitation>(invitationKey(index.value))).value;
    const op = this.#kv.atomic().delete(workspaceInvitationKey(wsId, inviteId))
      .delete(invitationKey(index.value));
    if (invitation) op.delete(emailInvitationKey(invitation.email, inviteId));
    await op.commit();
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
  const consume = (op: Deno.AtomicOperation) => invitations.consumeIn(op, found);
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

/**
 * Accepts every pending invitation of an email whose owner Supabase has just proved: the
 * account is created with the first (without a local password) when there is none, and a
 * role the account already has is never lowered. Answers
 * the account (null when there is none and nothing to accept) and the invitations accepted.
 */
export async function acceptInvitationsOf(
  invitations: InvitationStore,
  accounts: AccountStore,
  email: string,
): Promise<{ account: Account | null; joined: Invitation[] }> {
  let account = await accounts.byEmail(email);
  const joined: Invitation[] = [];
  for (const found of await invitations.pendingFor(email)) {
    const { invitation } = found;
    const consume = (op: Deno.AtomicOperation) => invitations.consumeIn(op, found);
    if (!account) {
      try {
        account = await accounts.create(
          { email: invitation.email },
          { wsId: invitation.workspace_id, role: invitation.role },
          consume,
        );
        joined.push(invitation);
        continue;
      } catch (error) {
        if (!(error instanceof AccountExistsError)) throw error;
        // Made meanwhile (or this invitation was taken): join with the account there is.
        account = await accounts.byEmail(email);
        if (!account) continue;
      }
    }
    // An invitation never lowers a role the account already has there.
    const current = await accounts.roleIn(account, invitation.workspace_id);
    const role = current && roleAllows(current, invitation.role) ? current : invitation.role;
    if (await accounts.setRole(invitation.workspace_id, account.id, role, consume)) {
      joined.push(invitation);
    }
  }
  return { account, joined };
}

/**
 * Dashboard accounts and their roles per workspace.
 *
 * An account belongs to workspaces as **owner** (everything, people included), **member**
 * (changes destinations, rules, keys and webhooks, replays events) or **viewer** (counts
 * and statuses, never payloads or PII). The account created from `SLUICE_ADMIN_EMAIL` is
 * the **instance owner**: owner of every workspace, those the root token or the CLI create
 * included, with no membership record needed; others join a workspace by invitation.
 *
 * @module
 */
import { monotonicFactory } from "ulid";
import {
  accountEmailKey,
  accountKey,
  accountPrefix,
  accountWorkspaceKey,
  accountWorkspacePrefix,
  memberKey,
  memberPrefix,
  workspaceKey,
  workspacePrefix,
} from "../kv/keys.ts";
import type { Workspace } from "../workspaces.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";

/** Every role, weakest first. */
export const ROLES = ["viewer", "member", "owner"] as const;

/** What an account may do in a workspace. */
export type Role = typeof ROLES[number];

/** Whether `role` grants at least `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A dashboard account as stored. */
export interface Account {
  id: string;
  /** Lower-cased. */
  email: string;
  /**
   * `scrypt$N$r$p$salt$hash` (passwords.ts); empty for an account made at a Supabase sign-in,
   * which has no local password.
   */
  password_hash: string;
  /** Owner of every workspace on this instance (the bootstrap account). */
  instance_owner: boolean;
  created_at: string;
}

/** An account's role in one workspace. */
export interface Membership {
  role: Role;
  added_at: string;
}

/** A workspace an account may open, with its role there. */
export interface WorkspaceAccess {
  workspace: Workspace;
  role: Role;
}

/** A member of a workspace, for the people page. */
export interface Member {
  account_id: string;
  email: string;
  role: Role;
  instance_owner: boolean;
}

/** Thrown when an email already has an account. */
export class AccountExistsError extends Error {
  constructor(email: string) {
    super(`An account for "${email}" already exists`);
    this.name = "AccountExistsError";
  }
}

const newId = monotonicFactory();
// Verified against when no account matches, so an unknown email takes as long as a wrong password.
const DUMMY_HASH = hashPassword("not a password: equalises timing");

/** Lower-cases and trims an email; no other normalisation (it is a login name). */
export function normalizeLoginEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Accounts and memberships in KV. */
export class AccountStore {
  readonly #kv: Deno.Kv;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Creates an account, with a first membership; `alsoIn` adds writes that must commit with it
   * (consuming an invitation). Without a password the account has no local one (Supabase
   * proved who it is). Throws AccountExistsError when the email has one, or when `alsoIn`'s
   * checks fail.
   */
  async create(
    input: { email: string; password?: string; instance_owner?: boolean },
    membership?: { wsId: string; role: Role },
    alsoIn?: (op: Deno.AtomicOperation) => void,
  ): Promise<Account> {
    const account: Account = {
      id: `acct_${newId().toLowerCase()}`,
      email: normalizeLoginEmail(input.email),
      password_hash: input.password === undefined ? "" : await hashPassword(input.password),
      instance_owner: input.instance_owner ?? false,
      created_at: new Date().toISOString(),
    };
    const op = this.#kv.atomic()
      .check({ key: accountEmailKey(account.email), versionstamp: null })
      .set(accountKey(account.id), account)
      .set(accountEmailKey(account.email), account.id);
    if (membership) this.#addMembership(op, membership.wsId, account.id, membership.role);
    alsoIn?.(op);
    if (!(await op.commit()).ok) throw new AccountExistsError(account.email);
    return account;
  }

  /**
   * Creates the instance owner when no account exists yet (`SLUICE_ADMIN_EMAIL` and
   * `SLUICE_ADMIN_PASSWORD` at start); null when there is one already.
   */
  async bootstrapOwner(email: string, password: string): Promise<Account | null> {
    for await (const _ of this.#kv.list({ prefix: accountPrefix() }, { limit: 1 })) return null;
    try {
      return await this.create({ email, password, instance_owner: true });
    } catch (error) {
      if (error instanceof AccountExistsError) return null;
      throw error;
    }
  }

  /** One account, or null. */
  async get(accountId: string): Promise<Account | null> {
    return (await this.#kv.get<Account>(accountKey(accountId))).value;
  }

  /** The account of an email, or null. */
  async byEmail(email: string): Promise<Account | null> {
    const id = (await this.#kv.get<string>(accountEmailKey(normalizeLoginEmail(email)))).value;
    return id ? await this.get(id) : null;
  }

  /** The account whose email and password match, or null (in the same time either way). */
  async verify(email: string, password: string): Promise<Account | null> {
    const account = await this.byEmail(email);
    if (!account || !account.password_hash) {
      await verifyPassword(password, await DUMMY_HASH);
      return null;
    }
    return await verifyPassword(password, account.password_hash) ? account : null;
  }

  /** Sets a new password. */
  async setPassword(accountId: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    for (;;) {
      const current = await this.#kv.get<Account>(accountKey(accountId));
      if (!current.value) {
        throw new Error(`Cannot set the password of "${accountId}": no such account`);
      }
      const next = { ...current.value, password_hash: hash };
      if ((await this.#kv.atomic().check(current).set(current.key, next).commit()).ok) return;
    }
  }

  /** The account's role in a workspace, or null when it has none. */
  async roleIn(account: Account, wsId: string): Promise<Role | null> {
    if (account.instance_owner) {
      const exists = await this.#kv.get(workspaceKey(wsId));
      return exists.value ? "owner" : null;
    }
    return (await this.#kv.get<Membership>(memberKey(wsId, account.id))).value?.role ?? null;
  }

  /** The workspaces an account may open, by name; the instance owner sees every one. */
  async workspacesOf(account: Account): Promise<WorkspaceAccess[]> {
    const found: WorkspaceAccess[] = [];
    if (account.instance_owner) {
      for await (const entry of this.#kv.list<Workspace>({ prefix: workspacePrefix() })) {
        found.push({ workspace: entry.value, role: "owner" });
      }
    } else {
      const roles = new Map<string, Role>();
      for await (
        const entry of this.#kv.list<Role>({ prefix: accountWorkspacePrefix(account.id) })
      ) {
        roles.set(String(entry.key[2]), entry.value);
      }
      const ids = [...roles.keys()];
      for (let i = 0; i < ids.length; i += 10) {
        const entries = await this.#kv.getMany<Workspace[]>(
          ids.slice(i, i + 10).map(workspaceKey),
        );
        for (const entry of entries) {
          if (entry.value) found.push({ workspace: entry.value, role: roles.get(entry.value.id)! });
        }
      }
    }
    return found.sort((a, b) => a.workspace.name.localeCompare(b.workspace.name));
  }

  /**
   * Gives an account a role in a workspace (replacing the one it had); `alsoIn` adds writes
   * that must commit with it. False when `alsoIn`'s checks failed.
   */
  async setRole(
    wsId: string,
    accountId: string,
    role: Role,
    alsoIn?: (op: Deno.AtomicOperation) => void,
  ): Promise<boolean> {
    const op = this.#kv.atomic();
    this.#addMembership(op, wsId, accountId, role);
    alsoIn?.(op);
    return (await op.commit()).ok;
  }

  /** Removes an account from a workspace; false when it was not a member. */
  async removeMember(wsId: string, accountId: string): Promise<boolean> {
    const entry = await this.#kv.get(memberKey(wsId, accountId));
    if (!entry.value) return false;
    await this.#kv.atomic().check(entry).delete(memberKey(wsId, accountId))
      .delete(accountWorkspaceKey(accountId, wsId)).commit();
    return true;
  }

  /** A workspace's members, the instance owners first. */
  async members(wsId: string): Promise<Member[]> {
    const members: Member[] = [];
    for await (const entry of this.#kv.list<Account>({ prefix: accountPrefix() })) {
      if (entry.value.instance_owner) {
        members.push({
          account_id: entry.value.id,
          email: entry.value.email,
          role: "owner",
          instance_owner: true,
        });
      }
    }
    for await (const entry of this.#kv.list<Membership>({ prefix: memberPrefix(wsId) })) {
      const account = await this.get(String(entry.key[2]));
      if (!account || account.instance_owner) continue;
      members.push({
        account_id: account.id,
        email: account.email,
        role: entry.value.role,
        instance_owner: false,
      });
    }
    return members;
  }

  #addMembership(op: Deno.AtomicOperation, wsId: string, accountId: string, role: Role): void {
    const membership: Membership = { role, added_at: new Date().toISOString() };
    op.set(memberKey(wsId, accountId), membership).set(accountWorkspaceKey(accountId, wsId), role);
  }
}

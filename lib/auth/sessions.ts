/**
 * Dashboard sessions: a random id in an `HttpOnly` cookie, stored in KV only as its SHA-256
 * (a leaked KV copy opens no session), with an expiry field checked on read (KV's
 * `expireIn` deletes lazily) and a per-session CSRF token.
 *
 * @module
 */
import { sha256Hex } from "../../core/digest.ts";
import { constantTimeEqual, randomBase62 } from "../crypto.ts";
import { sessionKey } from "../kv/keys.ts";

/** How long a session lasts without use. */
export const SESSION_TTL_MS = 7 * 86_400_000;
/** A session used after this much of its life is extended. */
const RENEW_AFTER_MS = 86_400_000;

/** A session as stored. */
export interface Session {
  account_id: string;
  /** The token every form and state-changing call must carry (`_csrf` or `x-csrf-token`). */
  csrf: string;
  /** The workspace the dashboard shows (the switcher changes it). */
  workspace_id?: string;
  created_at: number;
  expires_at: number;
}

/** A session and the cookie value that opens it. */
export interface OpenedSession {
  id: string;
  session: Session;
}

/** Sessions in KV. */
export class SessionStore {
  readonly #kv: Deno.Kv;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, now: () => number = Date.now) {
    this.#kv = kv;
    this.#now = now;
  }

  /** Starts a session for an account; the id goes in the cookie, never into KV. */
  async create(accountId: string, workspaceId?: string): Promise<OpenedSession> {
    const id = randomBase62(43);
    const now = this.#now();
    const session: Session = {
      account_id: accountId,
      csrf: randomBase62(32),
      ...(workspaceId ? { workspace_id: workspaceId } : {}),
      created_at: now,
      expires_at: now + SESSION_TTL_MS,
    };
    await this.#kv.set(sessionKey(sha256Hex(id)), session, { expireIn: SESSION_TTL_MS });
    return { id, session };
  }

  /** The live session of a cookie value, extended when it is a day old; null when none. */
  async get(id: string | undefined): Promise<Session | null> {
    if (!id || id.length > 100) return null;
    const key = sessionKey(sha256Hex(id));
    const session = (await this.#kv.get<Session>(key)).value;
    const now = this.#now();
    if (!session || session.expires_at <= now) return null;
    if (session.expires_at - now < SESSION_TTL_MS - RENEW_AFTER_MS) {
      const renewed = { ...session, expires_at: now + SESSION_TTL_MS };
      await this.#kv.set(key, renewed, { expireIn: SESSION_TTL_MS });
      return renewed;
    }
    return session;
  }

  /** Changes the workspace a session shows. */
  async setWorkspace(id: string, workspaceId: string): Promise<void> {
    const key = sessionKey(sha256Hex(id));
    const entry = await this.#kv.get<Session>(key);
    if (!entry.value) return;
    const remaining = Math.max(1_000, entry.value.expires_at - this.#now());
    await this.#kv.set(key, { ...entry.value, workspace_id: workspaceId }, {
      expireIn: remaining,
    });
  }

  /** Ends a session (sign-out). */
  async delete(id: string): Promise<void> {
    await this.#kv.delete(sessionKey(sha256Hex(id)));
  }
}

/** Whether a submitted CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: Session, given: string | undefined): boolean {
  return typeof given === "string" && given.length > 0 && constantTimeEqual(given, session.csrf);
}

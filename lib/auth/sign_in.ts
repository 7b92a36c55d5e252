/**
 * The dashboard's password check, per `SLUICE_AUTH`: `local` (the scrypt hash in KV),
 * `supabase` (Supabase Auth proves the email; local passwords are not accepted) or `both`
 * (the local password first, then Supabase). Supabase proves who someone is; Sluice's
 * accounts and roles decide what they may open: a proved email needs an account or a pending
 * invitation, which the sign-in accepts. The caller throttles before and counts failures.
 *
 * @module
 */
import type { AuthMode } from "../config.ts";
import { log } from "../log.ts";
import { type Account, type AccountStore, normalizeLoginEmail } from "./accounts.ts";
import { acceptInvitationsOf, type Invitation, type InvitationStore } from "./invitations.ts";
import type { SupabaseAuth, SupabaseRefusal } from "./supabase.ts";

/** Refusals that are people mistyping, logged at info; the rest (tokens failing) at warn. */
const ROUTINE_REFUSALS: ReadonlySet<SupabaseRefusal> = new Set([
  "invalid_credentials",
  "email_not_confirmed",
  "auth_refused",
]);

/** The outcome of a sign-in. */
export type SignInResult =
  /** `joined`: invitations the sign-in accepted (a Supabase sign-in accepts the email's). */
  | { ok: true; account: Account; via: "local" | "supabase"; joined: Invitation[] }
  /** The email or the password is wrong, or the email has no account: counts as a failure. */
  | { ok: false; reason: "wrong" }
  /** Supabase could not be asked: not the person's fault, not counted. */
  | { ok: false; reason: "unavailable" };

/** Checks dashboard passwords locally, through Supabase, or both. */
export class PasswordSignIn {
  readonly #mode: AuthMode;
  readonly #accounts: AccountStore;
  readonly #invitations: InvitationStore;
  readonly #supabase?: SupabaseAuth;

  constructor(
    deps: {
      mode: AuthMode;
      accounts: AccountStore;
      invitations: InvitationStore;
      supabase?: SupabaseAuth;
    },
  ) {
    if (deps.mode !== "local" && !deps.supabase) {
      throw new TypeError(`Sign-in mode "${deps.mode}" needs Supabase Auth configured`);
    }
    this.#mode = deps.mode;
    this.#accounts = deps.accounts;
    this.#invitations = deps.invitations;
    this.#supabase = deps.supabase;
  }

  /** Whose password is checked: `local`, `supabase` or `both`. */
  get mode(): AuthMode {
    return this.#mode;
  }

  /** Checks an email and password. */
  async signIn(email: string, password: string): Promise<SignInResult> {
    if (!email || !password) return { ok: false, reason: "wrong" };
    if (this.#mode !== "supabase") {
      const account = await this.#accounts.verify(email, password);
      if (account) return { ok: true, account, via: "local", joined: [] };
      if (this.#mode === "local") return { ok: false, reason: "wrong" };
    }
    return await this.#viaSupabase(this.#supabase!, email, password);
  }

  async #viaSupabase(
    supabase: SupabaseAuth,
    email: string,
    password: string,
  ): Promise<SignInResult> {
    const verdict = await supabase.signIn(normalizeLoginEmail(email), password);
    if (!verdict.ok) {
      if (verdict.reason === "unavailable") {
        log.error("Supabase Auth is unavailable; sign-in refused", {
          status: verdict.status ?? null,
        });
        return { ok: false, reason: "unavailable" };
      }
      // A wrong password is routine; a token that fails verification is not.
      const level = ROUTINE_REFUSALS.has(verdict.code) ? "info" : "warn";
      log[level]("Supabase sign-in refused", { reason: verdict.code, status: verdict.status });
      return { ok: false, reason: "wrong" };
    }
    if (normalizeLoginEmail(verdict.email) !== normalizeLoginEmail(email)) {
      log.warn("Supabase sign-in refused", { reason: "email_mismatch" });
      return { ok: false, reason: "wrong" };
    }
    const { account, joined } = await acceptInvitationsOf(
      this.#invitations,
      this.#accounts,
      verdict.email,
    );
    if (!account) {
      log.info("Supabase sign-in refused", { reason: "no_account" });
      return { ok: false, reason: "wrong" };
    }
    return { ok: true, account, via: "supabase", joined };
  }
}

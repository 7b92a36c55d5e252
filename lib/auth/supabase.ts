/**
 * Supabase Auth as the dashboard's password check (`SUPABASE_URL`, `SUPABASE_ANON_KEY`):
 * the server signs in with the anon key (`signInWithPassword`), then verifies the access
 * token it got back before trusting a claim in it. `auth.getClaims` checks the signature
 * against the project's JWKS (`/auth/v1/.well-known/jwks.json`, cached 10 minutes) for
 * asymmetric keys (ES256, RS256) and, for HS256 projects, asks the Auth server itself
 * (`GET /auth/v1/user`); supabase-js checks neither issuer nor audience, so this module does,
 * with the expiry, and requires an email.
 *
 * @see https://supabase.com/docs/reference/javascript/auth-getclaims
 * @module
 */
import {
  type AuthError,
  createClient,
  isAuthApiError,
  isAuthRetryableFetchError,
  type SupabaseClient,
} from "@supabase/supabase-js";

/** How long one request to Supabase Auth may take. */
export const SUPABASE_TIMEOUT_MS = 10_000;
/** The audience of a signed-in user's access token. */
const AUDIENCE = "authenticated";

/** Where Supabase Auth is and how to reach it. */
export interface SupabaseAuthOptions {
  /** The project URL (`https://abc.supabase.co`), without a trailing slash. */
  url: string;
  /** The project's anon (publishable) key. */
  anonKey: string;
  /** Per request; default {@linkcode SUPABASE_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Why Supabase did not prove who signed in: a short code for logs, never an email or token. */
export type SupabaseRefusal =
  | "invalid_credentials"
  | "email_not_confirmed"
  | "auth_refused"
  | "token_invalid"
  | "token_expired"
  | "token_issuer"
  | "token_audience"
  | "token_claims"
  | "anonymous";

/** What Supabase said about a sign-in. */
export type SupabaseVerdict =
  | { ok: true; email: string; userId: string }
  | { ok: false; reason: "refused"; code: SupabaseRefusal; status?: number }
  /** Supabase did not answer, answered 5xx or 429, or answered something that is not its API. */
  | { ok: false; reason: "unavailable"; status?: number };

/** Signs in through Supabase Auth and verifies the tokens it issues. */
export class SupabaseAuth {
  readonly #options: SupabaseAuthOptions;
  readonly #fetch: typeof fetch;
  /** Verifies tokens; long-lived so the JWKS stays cached. Never holds a session. */
  readonly #verifier: SupabaseClient;
  /** The `iss` of the project's tokens. */
  readonly issuer: string;

  constructor(options: SupabaseAuthOptions) {
    this.#options = options;
    const timeoutMs = options.timeoutMs ?? SUPABASE_TIMEOUT_MS;
    this.#fetch = (input, init) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      return fetch(input, { ...init, signal });
    };
    this.#verifier = this.#client();
    this.issuer = `${options.url}/auth/v1`;
  }

  /** Signs in with an email and password, then verifies the access token Supabase returned. */
  async signIn(email: string, password: string): Promise<SupabaseVerdict> {
    // One client per attempt: a client keeps the session it signed in, and sessions of
    // different people must not meet in one object.
    const { data, error } = await this.#client().auth.signInWithPassword({ email, password });
    if (error) return failure(error);
    if (!data.session) return { ok: false, reason: "refused", code: "auth_refused" };
    return await this.verify(data.session.access_token);
  }

  /**
   * Verifies an access token: the signature (JWKS, or the Auth server for HS256), expiry,
   * issuer, audience, and that it names a non-anonymous user with an email.
   */
  async verify(accessToken: string): Promise<SupabaseVerdict> {
    let result: Awaited<ReturnType<SupabaseClient["auth"]["getClaims"]>>;
    try {
      // The expiry is checked below, so a stale token is told apart from a forged one.
      result = await this.#verifier.auth.getClaims(accessToken, { allowExpired: true });
    } catch {
      // supabase-js throws plain errors for what it cannot parse: an unknown alg, a key of
      // the wrong type. Either way the token is not one of this project's.
      return { ok: false, reason: "refused", code: "token_invalid" };
    }
    if (result.error) {
      return isAuthRetryableFetchError(result.error)
        ? { ok: false, reason: "unavailable", status: result.error.status }
        : { ok: false, reason: "refused", code: "token_invalid", status: result.error.status };
    }
    if (!result.data) return { ok: false, reason: "refused", code: "token_invalid" };
    const claims = result.data.claims;
    const refused = (code: SupabaseRefusal): SupabaseVerdict => ({
      ok: false,
      reason: "refused",
      code,
    });
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) {
      return refused("token_expired");
    }
    if (claims.iss !== this.issuer) return refused("token_issuer");
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(AUDIENCE)) return refused("token_audience");
    if (claims.is_anonymous === true) return refused("anonymous");
    if (typeof claims.email !== "string" || !claims.email || typeof claims.sub !== "string") {
      return refused("token_claims");
    }
    return { ok: true, email: claims.email, userId: claims.sub };
  }

  #client(): SupabaseClient {
    return createClient(this.#options.url, this.#options.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      global: { fetch: this.#fetch },
    });
  }
}

/**
 * A sign-in error as a verdict: the network, 5xx, 429 and answers that are not Auth's JSON
 * (a wrong SUPABASE_URL) make sign-in unavailable; Auth's own refusals are refusals.
 */
function failure(error: AuthError): SupabaseVerdict {
  if (!isAuthApiError(error) || error.status === 429) {
    return { ok: false, reason: "unavailable", status: error.status };
  }
  const code = error.code === "email_not_confirmed"
    ? "email_not_confirmed"
    : error.code === "invalid_credentials"
    ? "invalid_credentials"
    : "auth_refused";
  return { ok: false, reason: "refused", code, status: error.status };
}

/**
 * A Supabase Auth server on 127.0.0.1 for tests: `POST /auth/v1/token?grant_type=password`
 * (the users it knows), `GET /auth/v1/user` (verifies the bearer token itself, as Supabase does
 * for HS256 projects) and `GET /auth/v1/.well-known/jwks.json` (its ES256 public key). Tokens
 * are signed with keys generated here (crypto.subtle); `tokens` chooses how the next ones are
 * made, forged and broken ones included.
 */

/** How the mock makes the access tokens it hands out. */
export type TokenKind =
  /** ES256 with the key the JWKS publishes (asymmetric project). */
  | "es256"
  /** HS256 with the project's secret (legacy project: verified by asking /user). */
  | "hs256"
  /** ES256 with another key under the published kid. */
  | "forged"
  /** HS256 with another secret. */
  | "hs256_forged"
  | "expired"
  | "wrong_issuer"
  | "wrong_audience"
  | "anonymous"
  /** Another email than the one that signed in. */
  | "other_email";

/** A running mock; `await using` shuts it down. */
export interface MockSupabase extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: SUPABASE_URL. */
  url: string;
  anonKey: string;
  /** email → password of the project's users. */
  users: Map<string, string>;
  /** How the next tokens are made (default `es256`). */
  tokens: TokenKind;
  /** When set, the token endpoint answers this status (a 5xx: Supabase is failing). */
  failWith?: number;
  /** `METHOD path?query` of every request, in order. */
  requests: string[];
  /** The `apikey` header of every token request. */
  apiKeys: (string | null)[];
}

/** The anon key tests configure. */
export const MOCK_ANON_KEY = "mock-anon-key-0123456789";

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
}

const ES256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN_ES256 = { name: "ECDSA", hash: "SHA-256" } as const;
const HMAC = { name: "HMAC", hash: "SHA-256" } as const;

/** Signs a JWT (ES256 or HS256) over `header.payload`. */
async function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey,
): Promise<string> {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const algorithm = header.alg === "HS256" ? HMAC : SIGN_ES256;
  const signature = new Uint8Array(
    await crypto.subtle.sign(algorithm, key, encoder.encode(signingInput)),
  );
  return `${signingInput}.${base64url(signature)}`;
}

/** Starts the mock Supabase Auth server. */
export async function mockSupabase(): Promise<MockSupabase> {
  const kid = crypto.randomUUID();
  const projectKeys = await crypto.subtle.generateKey(ES256, true, ["sign", "verify"]);
  const forgerKeys = await crypto.subtle.generateKey(ES256, true, ["sign", "verify"]);
  const secret = await crypto.subtle.generateKey(HMAC, true, ["sign", "verify"]) as CryptoKey;
  const otherSecret = await crypto.subtle.generateKey(HMAC, true, ["sign", "verify"]) as CryptoKey;
  const jwk = await crypto.subtle.exportKey("jwk", projectKeys.publicKey);
  const userIds = new Map<string, string>();
  const idOf = (email: string) => {
    if (!userIds.has(email)) userIds.set(email, crypto.randomUUID());
    return userIds.get(email)!;
  };

  const issue = async (email: string): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const kind = mock.tokens;
    const claims: Record<string, unknown> = {
      iss: kind === "wrong_issuer" ? "https://other-project.supabase.co/auth/v1" : `${url}/auth/v1`,
      aud: kind === "wrong_audience" ? "anon" : "authenticated",
      role: "authenticated",
      sub: idOf(email),
      email: kind === "other_email" ? "someone-else@example.com" : email,
      exp: kind === "expired" ? now - 60 : now + 3600,
      iat: now - (kind === "expired" ? 3700 : 0),
      is_anonymous: kind === "anonymous",
      session_id: crypto.randomUUID(),
    };
    if (kind === "hs256" || kind === "hs256_forged") {
      return await signJwt(
        { alg: "HS256", typ: "JWT" },
        claims,
        kind === "hs256" ? secret : otherSecret,
      );
    }
    const key = kind === "forged" ? forgerKeys.privateKey : projectKeys.privateKey;
    return await signJwt({ alg: "ES256", typ: "JWT", kid }, claims, key);
  };

  /** The user of a token this mock signed and that has not expired; null otherwise. */
  const userOf = async (token: string): Promise<Record<string, unknown> | null> => {
    const [header, payload, signature] = token.split(".");
    if (!header || !payload || !signature) return null;
    const alg = JSON.parse(new TextDecoder().decode(fromBase64url(header))).alg;
    const data = encoder.encode(`${header}.${payload}`);
    const valid = alg === "HS256"
      ? await crypto.subtle.verify(HMAC, secret, fromBase64url(signature), data)
      : await crypto.subtle.verify(
        SIGN_ES256,
        projectKeys.publicKey,
        fromBase64url(signature),
        data,
      );
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
    if (!valid || claims.exp * 1000 <= Date.now()) return null;
    return { id: claims.sub, aud: claims.aud, role: claims.role, email: claims.email };
  };

  const versioned = (body: unknown, status: number) =>
    Response.json(body, { status, headers: { "x-supabase-api-version": "2024-01-01" } });

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url);
    mock.requests.push(`${req.method} ${path.pathname}${path.search}`);
    if (req.method === "POST" && path.pathname === "/auth/v1/token") {
      mock.apiKeys.push(req.headers.get("apikey"));
      if (mock.failWith) return versioned({ message: "upstream failed" }, mock.failWith);
      const { email, password } = await req.json();
      if (
        path.searchParams.get("grant_type") !== "password" || mock.users.get(email) !== password
      ) {
        return versioned(
          { code: "invalid_credentials", message: "Invalid login credentials" },
          400,
        );
      }
      return Response.json({
        access_token: await issue(email),
        token_type: "bearer",
        expires_in: 3600,
        expires_at: Math.floor(Date.now() / 1000) + 3600,
        refresh_token: "mock-refresh-token",
        user: { id: idOf(email), aud: "authenticated", role: "authenticated", email },
      });
    }
    if (req.method === "GET" && path.pathname === "/auth/v1/user") {
      const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
      const user = token ? await userOf(token) : null;
      return user
        ? Response.json(user)
        : versioned({ code: "bad_jwt", message: "invalid JWT: unable to parse or verify" }, 403);
    }
    if (req.method === "GET" && path.pathname === "/auth/v1/.well-known/jwks.json") {
      return Response.json({ keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] });
    }
    return versioned({ message: "not found" }, 404);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const mock: MockSupabase = {
    url,
    anonKey: MOCK_ANON_KEY,
    users: new Map(),
    tokens: "es256",
    requests: [],
    apiKeys: [],
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
    },
  };
  return mock;
}

/** A loopback URL nothing listens on (a port just freed). */
export function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

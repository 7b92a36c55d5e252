/**
 * Magic-link tokens (`/m?_uid=TOKEN`, docs/pixel.md "Magic links"): a customer's server
 * signs "this link belongs to user U of workspace W until T" with the workspace's link key;
 * Sluice checks the signature and the expiry before linking the clicking browser to U.
 *
 * Format: `v1.<payload>.<signature>`, where payload is the base64url of the JSON claims
 * `{"ws", "uid", "exp"[, "em"]}` and signature the base64url of
 * HMAC-SHA256(link key, "v1." + payload). The link key is HKDF-SHA256(SLUICE_SECRET,
 * salt "sluice", info "magic-link:" + workspace id, 32 bytes).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { z } from "zod";

/** What a link token says. */
export interface LinkClaims {
  /** Workspace id (`ws_…`). */
  ws: string;
  /** The customer's user id, as its server events send it in `user_data.customer_id`. */
  uid: string;
  /** Expiry, unix seconds. */
  exp: number;
  /** Optional SHA-256 hex of the user's canonical email, to link by email too. */
  em?: string;
}

/** Longest lifetime a token may claim, seconds (30 days). */
export const MAX_LINK_TOKEN_TTL_S = 30 * 86_400;

const claimsSchema = z.object({
  ws: z.string().min(1).max(64),
  uid: z.string().min(1).max(128),
  exp: z.number().int().positive(),
  em: z.string().regex(/^[a-f0-9]{64}$/).optional(),
});

const encoder = new TextEncoder();

/** Signs claims with a link key: the whole minting algorithm, for reference and the CLI. */
export function signLinkToken(key: Uint8Array, claims: LinkClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `v1.${payload}.${signature(key, payload)}`;
}

function signature(key: Uint8Array, payload: string): string {
  return createHmac("sha256", key).update(`v1.${payload}`).digest("base64url");
}

/** Why a token was refused. */
export type LinkTokenCheck =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: string };

/** Mints and checks link tokens under per-workspace keys derived from the master secret. */
export class LinkTokens {
  readonly #secret: Uint8Array;

  constructor(masterSecret: string) {
    this.#secret = encoder.encode(masterSecret);
  }

  /** The workspace's link key (32 bytes); its base64url is what a customer's server signs with. */
  keyFor(wsId: string): Uint8Array {
    return new Uint8Array(
      hkdfSync("sha256", this.#secret, encoder.encode("sluice"), `magic-link:${wsId}`, 32),
    );
  }

  /** A token for a user of a workspace, valid for `ttlSeconds` (at most 30 days). */
  mint(
    wsId: string,
    userId: string,
    options: { ttlSeconds: number; emailHash?: string; nowMs?: number },
  ): { token: string; expires_at: number } {
    if (options.ttlSeconds <= 0 || options.ttlSeconds > MAX_LINK_TOKEN_TTL_S) {
      throw new RangeError(
        `Cannot mint a link token valid for ${options.ttlSeconds} s: 1 s to ${MAX_LINK_TOKEN_TTL_S} s`,
      );
    }
    const exp = Math.floor((options.nowMs ?? Date.now()) / 1000) + options.ttlSeconds;
    const claims: LinkClaims = { ws: wsId, uid: userId, exp };
    if (options.emailHash) claims.em = options.emailHash;
    return { token: signLinkToken(this.keyFor(wsId), claims), expires_at: exp };
  }

  /** Checks a token's form, signature (under its workspace's key) and expiry. */
  verify(token: string, nowMs = Date.now()): LinkTokenCheck {
    const [version, payload, sig, ...rest] = token.split(".");
    if (version !== "v1" || !payload || !sig || rest.length) {
      return { ok: false, reason: "is not a v1.<payload>.<signature> token" };
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "has a payload that is not base64url JSON" };
    }
    const parsed = claimsSchema.safeParse(json);
    if (!parsed.success) return { ok: false, reason: "has claims other than {ws, uid, exp, em?}" };
    const claims = parsed.data;
    const expected = encoder.encode(signature(this.keyFor(claims.ws), payload));
    const given = encoder.encode(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: "has a signature this workspace's link key did not make" };
    }
    const now = Math.floor(nowMs / 1000);
    if (claims.exp <= now) return { ok: false, reason: "has expired" };
    if (claims.exp > now + MAX_LINK_TOKEN_TTL_S) {
      return { ok: false, reason: "claims to be valid for more than 30 days" };
    }
    return { ok: true, claims };
  }
}

/**
 * Folder-private: the OAuth2 refresh-token grant (RFC 6749 §6) for connectors whose access
 * tokens expire (Google Ads, LinkedIn): the token request, and the grant in a successful
 * answer. How a refused or failed answer is told (which statuses are retried, the reason's
 * wording) is each platform's own and stays in its connector.
 *
 * @module
 */
import { z } from "zod";
import { parseJson } from "./_response.ts";
import type { AccessGrant, OutboundRequest, PlatformResponse } from "./types.ts";

/** A refresh token and the OAuth client it was issued to. */
export interface RefreshCredentials {
  refresh_token: string;
  client_id: string;
  client_secret: string;
}

const CREDENTIAL_FIELDS: ReadonlySet<string> = new Set<keyof RefreshCredentials>([
  "refresh_token",
  "client_id",
  "client_secret",
]);

/**
 * The refresh-token grant posted to `tokenEndpoint`, form-encoded with the client's
 * credentials in the body (RFC 6749 §2.3.1). The three fields follow `grant_type` in the
 * order `credentials` lists them, so each platform's request keeps the bytes it always
 * had; any other field of `credentials` (whole settings passed by mistake) is not sent.
 */
export function refreshTokenRequest(
  tokenEndpoint: string,
  credentials: RefreshCredentials,
): OutboundRequest {
  const fields = Object.entries(credentials).filter(([name]) => CREDENTIAL_FIELDS.has(name));
  return {
    method: "POST",
    url: tokenEndpoint,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams([["grant_type", "refresh_token"], ...fields]).toString(),
    eventIndexes: [],
  };
}

/**
 * The lifetime taken when an answer has no `expires_in` (RFC 6749 §5.1 makes it optional):
 * an hour, as Google's tokens last; a guess too short only refreshes sooner.
 */
const DEFAULT_LIFETIME_S = 3600;

const successfulAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive().optional(),
});

/** The access token of a 2xx token answer (RFC 6749 §5.1); undefined for any other answer. */
export function accessGrant(response: PlatformResponse): AccessGrant | undefined {
  if (response.status < 200 || response.status >= 300) return undefined;
  const grant = successfulAnswer.safeParse(parseJson(response.body));
  if (!grant.success) return undefined;
  return {
    accessToken: grant.data.access_token,
    expiresInMs: (grant.data.expires_in ?? DEFAULT_LIFETIME_S) * 1000,
  };
}

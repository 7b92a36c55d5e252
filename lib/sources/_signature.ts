/**
 * HMAC-SHA256 signatures as the platforms compute them, compared in constant time.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../crypto.ts";
import type { Verification } from "./types.ts";

/** HMAC-SHA256 of the parts, in order, under a UTF-8 key; base64 or hex. */
export function hmacSha256(
  secret: string,
  parts: readonly (string | Uint8Array)[],
  encoding: "base64" | "hex",
): string {
  const mac = createHmac("sha256", secret);
  for (const part of parts) mac.update(part);
  return mac.digest(encoding);
}

/**
 * Checks a header that carries the base64 HMAC-SHA256 of the raw body (Shopify's
 * `X-Shopify-Hmac-Sha256`, WooCommerce's `X-WC-Webhook-Signature`).
 */
export function verifyBodyHmac(
  rawBody: Uint8Array,
  headers: Headers,
  secret: string,
  header: string,
): Verification {
  const given = headers.get(header)?.trim();
  if (!given) return { ok: false, reason: `The ${header} header is missing` };
  const expected = hmacSha256(secret, [rawBody], "base64");
  if (constantTimeEqual(expected, given)) return { ok: true };
  return {
    ok: false,
    reason:
      `${header} does not match the body: it was not signed with this source's signing secret`,
  };
}

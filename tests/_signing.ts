/**
 * Webhook signatures as Shopify, WooCommerce and Stripe compute them, with Web Crypto: an
 * implementation independent of the node:crypto one Sluice verifies with.
 */
import { bytesToBase64 } from "../core/digest.ts";

const encoder = new TextEncoder();

/** HMAC-SHA256 of `data` under a UTF-8 key, with Web Crypto. */
export async function webCryptoHmac(secret: string, data: string | Uint8Array<ArrayBuffer>) {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes));
}

/** The base64 body HMAC of `X-Shopify-Hmac-Sha256` and `X-WC-Webhook-Signature`. */
export async function base64BodyHmac(secret: string, body: string): Promise<string> {
  return bytesToBase64(await webCryptoHmac(secret, body));
}

/** A `Stripe-Signature` header value: `t=<seconds>,v1=<hex HMAC of "t.body">`. */
export async function stripeSignature(
  secret: string,
  body: string,
  timestampS: number,
): Promise<string> {
  const mac = await webCryptoHmac(secret, `${timestampS}.${body}`);
  const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${timestampS},v1=${hex}`;
}

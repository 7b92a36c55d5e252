/**
 * Reddit's normalisation rules, on the canonical forms in core/pii: email, IP address and
 * mobile advertising ids, as Reddit's manual advanced matching page spells them.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { normalizeEmail } from "../core/pii/mod.ts";

/**
 * Reddit email: canonical, then the local part cut at the first `+` and stripped of every
 * non-alphanumeric character, on every domain (Reddit's own rule).
 */
export function redditEmail(value: string): string | undefined {
  const email = normalizeEmail(value);
  if (email === undefined) return undefined;
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at).split("+")[0]?.replace(/[^\p{L}\p{N}]/gu, "") ?? "";
  return local === "" ? undefined : `${local}@${email.slice(at + 1)}`;
}

/**
 * Reddit IP address: the address's canonical text (IPv4 dotted quad; IPv6 compressed and
 * lowercase per RFC 5952, an IPv4-mapped IPv6 address as its IPv4), so one address always
 * hashes the same; undefined when it is not an IP address.
 */
export function redditIp(value: string): string | undefined {
  const text = value.trim();
  return ipaddr.isValid(text) ? ipaddr.process(text).toString() : undefined;
}

/** Which mobile advertising id a device has: Apple's IDFA or Android's AAID. */
export type RedditAdIdKind = "idfa" | "aaid";

/**
 * Reddit mobile advertising id: trimmed, dashes kept, IDFA uppercase and AAID lowercase
 * (the case each operating system reports them in).
 */
export function redditAdId(value: string, kind: RedditAdIdKind): string | undefined {
  const id = value.trim();
  if (id === "") return undefined;
  return kind === "idfa" ? id.toUpperCase() : id.toLowerCase();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/u;
const GMAIL_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/** Canonical email: trimmed, lowercased, NFC, shape-checked; undefined when not an address. */
export function normalizeEmail(value: string): string | undefined {
  const email = value.normalize("NFC").trim().toLowerCase();
  if (!EMAIL.test(email) || email.includes("..")) return undefined;
  return email;
}

/** Google Ads / GA4 email: canonical, plus dots removed from the local part of gmail.com and googlemail.com. */
export function googleEmail(value: string): string | undefined {
  const email = normalizeEmail(value);
  if (email === undefined) return undefined;
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  return GMAIL_DOMAINS.has(domain) ? `${local.replaceAll(".", "")}@${domain}` : email;
}

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

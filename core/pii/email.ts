/** One dot-separated atom of a local part: RFC 5322 atext, plus letters and digits of any script (RFC 6531). */
const ATOM = "[\\p{L}\\p{M}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, "u");
/** A host name label: letters and digits of any script, hyphens only inside (RFC 1035, RFC 5890). */
const LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;

/**
 * Canonical email: NFKC (fullwidth letters and ligatures fold to plain ones), trimmed,
 * lowercased; undefined unless it is an address: one `@`, a dot-atom local part of at
 * most 64 characters, a host of dot-separated labels (at most 63 characters each, no
 * leading or trailing hyphen) whose last label starts with a letter and has 2 or more
 * characters, and 254 characters in all. Letters of any script are allowed (RFC 6531).
 */
export function normalizeEmail(value: string): string | undefined {
  const email = value.normalize("NFKC").trim().toLowerCase();
  const parts = email.split("@");
  if (parts.length !== 2 || email.length > 254) return undefined;
  const [local = "", host = ""] = parts;
  if (local.length > 64 || !LOCAL_PART.test(local)) return undefined;
  const labels = host.split(".");
  const top = labels[labels.length - 1] ?? "";
  if (labels.length < 2 || top.length < 2 || !/^\p{L}/u.test(top)) return undefined;
  if (labels.some((label) => label.length > 63 || !LABEL.test(label))) return undefined;
  return email;
}

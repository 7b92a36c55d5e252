/**
 * Reddit's email rule, on the canonical email in core/pii.
 *
 * @module
 */
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

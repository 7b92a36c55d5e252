/**
 * Microsoft's email rule for UET `em`, on the canonical email in core/pii.
 *
 * @module
 */
import { normalizeEmail } from "../core/pii/mod.ts";

/**
 * Microsoft UET email: canonical (trimmed, lowercase), then every `.` removed from the
 * local part and a `+alias` cut off, on every domain (the Conversions API guide's rule:
 * `John.Doe+ads@Contoso.com` → `johndoe@contoso.com`).
 */
export function microsoftEmail(value: string): string | undefined {
  const email = normalizeEmail(value);
  if (email === undefined) return undefined;
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at).split("+")[0]?.replaceAll(".", "") ?? "";
  return local === "" ? undefined : `${local}@${email.slice(at + 1)}`;
}

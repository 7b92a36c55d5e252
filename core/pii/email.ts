const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/u;

/** Canonical email: trimmed, lowercased, NFC, shape-checked; undefined when not an address. */
export function normalizeEmail(value: string): string | undefined {
  const email = value.normalize("NFC").trim().toLowerCase();
  if (!EMAIL.test(email) || email.includes("..")) return undefined;
  return email;
}

/**
 * Canonical name for Meta (and Snap): NFC, lowercase, punctuation and symbols removed,
 * accents kept (`Valéry` → `valéry`), trimmed; inner whitespace is kept as given, as Meta's
 * SDK keeps it. Undefined when nothing is left.
 */
export function normalizeName(value: string): string | undefined {
  const name = value.normalize("NFC").toLowerCase().replace(/[\p{P}\p{S}]/gu, "").trim();
  return name === "" ? undefined : name;
}

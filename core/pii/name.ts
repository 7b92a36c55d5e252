/**
 * Canonical name for Meta (and Snap): NFC, lowercase, punctuation and symbols removed,
 * accents kept (`Valéry` → `valéry`), inner whitespace collapsed to one space.
 * Undefined when nothing is left.
 */
export function normalizeName(value: string): string | undefined {
  const name = value.normalize("NFC").toLowerCase().replace(/[\p{P}\p{S}]/gu, "")
    .replace(/\s+/g, " ").trim();
  return name === "" ? undefined : name;
}

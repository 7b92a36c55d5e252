import { sha256Hex } from "../digest.ts";

const HASHED = /^[a-f0-9]{64}$/i;

/** True when the value already looks like a SHA-256 hex digest (any case). */
export function looksHashed(value: string): boolean {
  return HASHED.test(value.trim());
}

/**
 * SHA-256 lowercase hex of the UTF-8 bytes of `value`; a value that already looks hashed
 * passes through, lowercased, so nothing is hashed twice. Empty input gives undefined.
 */
export function hashValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (HASHED.test(trimmed)) return trimmed.toLowerCase();
  return sha256Hex(value);
}

/**
 * Normalises a raw value with `normalize` and hashes the result, unless the raw value
 * already looks hashed (then it is passed through, lowercased, without normalising).
 * Returns undefined when the value is missing or does not normalise.
 */
export function hashNormalized(
  raw: string | undefined,
  normalize: (value: string) => string | undefined,
): string | undefined {
  if (raw === undefined) return undefined;
  if (looksHashed(raw)) return raw.trim().toLowerCase();
  const normalized = normalize(raw);
  return normalized === undefined || normalized === "" ? undefined : sha256Hex(normalized);
}

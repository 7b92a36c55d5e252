/**
 * Pinterest's normalisation rules where they differ from the canonical forms in core/pii
 * (CONNECTORS.md §1 and §7).
 *
 * @module
 */
import { normalizeGender, normalizeZip } from "../core/pii/mod.ts";

const NON_BINARY = new Set(["n", "nb", "nonbinary", "enby"]);
const ZEROED_AD_ID = /^[0-]+$/;

/** Pinterest gender: `f` or `m` as canonical, plus `n` for non-binary (`non-binary`, `nb`, `n`). */
export function pinterestGender(value: string): "f" | "m" | "n" | undefined {
  const canonical = normalizeGender(value);
  if (canonical) return canonical;
  return NON_BINARY.has(value.trim().toLowerCase().replace(/[\s_-]+/g, "")) ? "n" : undefined;
}

/**
 * Pinterest zip: "only digits". The canonical zip (US: first 5 digits; elsewhere lowercase
 * without spaces or dashes) when it is all digits; an alphanumeric postcode (`SW1A 1AA`,
 * `K1A 0B1`) is not sent, since stripping its letters would hash another place.
 */
export function pinterestZip(value: string, country?: string): string | undefined {
  const zip = normalizeZip(value, country);
  return zip !== undefined && /^\d+$/.test(zip) ? zip : undefined;
}

/**
 * Pinterest mobile ad id (IDFA or GAID) before hashing: trimmed and lowercased, hyphens
 * kept. An all-zero id (what iOS and Android report when the user limits ad tracking)
 * identifies nobody and is dropped.
 */
export function pinterestMaid(value: string): string | undefined {
  const id = value.trim().toLowerCase();
  return id === "" || ZEROED_AD_ID.test(id) ? undefined : id;
}

/**
 * Snap's normalisation rules (Conversions API v3), on the canonical forms in core/pii.
 * Email, names, gender, date of birth, city, state, zip and country use the canonical
 * normalisers unchanged; phone and external ids differ.
 *
 * @module
 */
import { phoneDigits } from "../core/pii/mod.ts";

/** An international prefix (`+44`, `0044`) followed by a separator and a trunk `0`. */
const TRUNK_AFTER_CODE = /^(\s*(?:\+|00)\d{1,3}[\s-]+)0(?=\d)/;

/**
 * Snap phone: digits with the country code and no `+` (`+44 844 412 4653` →
 * `448444124653`), a leading `00` dropped, and a national number's leading `0` dropped
 * even after the country code (`+44 0447 234 2344` → `444472342344`), as Snap's business
 * SDKs do.
 */
export function snapPhone(value: string, defaultCountry?: string): string | undefined {
  return phoneDigits(value.replace(TRUNK_AFTER_CODE, "$1"), defaultCountry);
}

/** Snap external id: trimmed and lowercased, as Snap's partner integration (Segment) sends it. */
export function snapExternalId(value: string): string | undefined {
  const id = value.trim().toLowerCase();
  return id === "" ? undefined : id;
}

/**
 * TikTok's normalisation rules (Events API 2.0), on the canonical forms in core/pii.
 * Email, phone (E.164 with `+`), city, state and country use the canonical normalisers
 * unchanged; only names and zip codes differ.
 *
 * @module
 */
import { normalizeName } from "../core/pii/mod.ts";

/**
 * TikTok first/last name: the canonical name (lowercase, no punctuation, accents kept)
 * with every space removed (`Mary Ann` → `maryann`), as TikTok's partner integration
 * (Segment, maintained with TikTok) sends it.
 */
export function tiktokName(value: string): string | undefined {
  const name = normalizeName(value)?.replace(/\s/g, "");
  return name === "" ? undefined : name;
}

/**
 * TikTok zip code: lowercase with spaces and dashes removed, all digits kept
 * (`94025-1234` → `940251234`; TikTok does not cut US zips to 5 digits as Meta does).
 */
export function tiktokZip(value: string): string | undefined {
  const zip = value.normalize("NFKC").trim().toLowerCase().replace(/[\s-]/g, "");
  return zip === "" ? undefined : zip;
}

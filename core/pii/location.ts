import { lookupAlpha2 } from "./_countries.ts";

const US_STATES: Readonly<Record<string, string>> = {
  alabama: "al",
  alaska: "ak",
  arizona: "az",
  arkansas: "ar",
  california: "ca",
  colorado: "co",
  connecticut: "ct",
  delaware: "de",
  districtofcolumbia: "dc",
  washingtondc: "dc",
  florida: "fl",
  georgia: "ga",
  hawaii: "hi",
  idaho: "id",
  illinois: "il",
  indiana: "in",
  iowa: "ia",
  kansas: "ks",
  kentucky: "ky",
  louisiana: "la",
  maine: "me",
  maryland: "md",
  massachusetts: "ma",
  michigan: "mi",
  minnesota: "mn",
  mississippi: "ms",
  missouri: "mo",
  montana: "mt",
  nebraska: "ne",
  nevada: "nv",
  newhampshire: "nh",
  newjersey: "nj",
  newmexico: "nm",
  newyork: "ny",
  northcarolina: "nc",
  northdakota: "nd",
  ohio: "oh",
  oklahoma: "ok",
  oregon: "or",
  pennsylvania: "pa",
  rhodeisland: "ri",
  southcarolina: "sc",
  southdakota: "sd",
  tennessee: "tn",
  texas: "tx",
  utah: "ut",
  vermont: "vt",
  virginia: "va",
  washington: "wa",
  westvirginia: "wv",
  wisconsin: "wi",
  wyoming: "wy",
  puertorico: "pr",
  guam: "gu",
  americansamoa: "as",
  usvirginislands: "vi",
  northernmarianaislands: "mp",
};

const CA_PROVINCES: Readonly<Record<string, string>> = {
  alberta: "ab",
  britishcolumbia: "bc",
  manitoba: "mb",
  newbrunswick: "nb",
  newfoundlandandlabrador: "nl",
  novascotia: "ns",
  ontario: "on",
  princeedwardisland: "pe",
  quebec: "qc",
  saskatchewan: "sk",
  northwestterritories: "nt",
  nunavut: "nu",
  yukon: "yt",
};

/** Lowercase letters only (accents kept), NFC: no spaces, digits or punctuation. */
function lettersOnly(value: string): string {
  return value.normalize("NFC").toLowerCase().replace(/[^\p{L}\p{M}]/gu, "");
}

/** Lowercase, digits and symbols removed, whitespace collapsed and trimmed. */
export function lettersAndSpaces(value: string): string {
  return value.normalize("NFC").toLowerCase().replace(/[^\p{L}\p{M}\s]/gu, "")
    .replace(/\s+/g, " ").trim();
}

/** ISO 3166-1 alpha-2 lowercase (`us`) from a code, alpha-3 or common name; undefined when unknown. */
export function normalizeCountry(value: string): string | undefined {
  return value.trim() === "" ? undefined : lookupAlpha2(value);
}

/**
 * Meta/Snap/Pinterest city: lowercase letters only, accents kept, no spaces, digits or
 * punctuation (`New York` → `newyork`).
 */
export function normalizeCity(value: string): string | undefined {
  const city = lettersOnly(value);
  return city === "" ? undefined : city;
}

/** The 2-letter code of a US state or Canadian province name (letters only, see `foldedName`), for that country or no country. */
export function subdivisionCode(key: string, alpha2: string | undefined): string | undefined {
  if (alpha2 === undefined) return US_STATES[key] ?? CA_PROVINCES[key];
  if (alpha2 === "us") return US_STATES[key];
  return alpha2 === "ca" ? CA_PROVINCES[key] : undefined;
}

/** Letters only, accents folded away, lowercase: the lookup key of a place name. */
export function foldedName(value: string): string {
  return value.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z]/g, "");
}

/**
 * Meta/Snap/Pinterest state: US state (and Canadian province) names become their 2-letter
 * code (`California` → `ca`); a 2-letter code is lowercased; anything else, outside the US,
 * is lowercase letters with no spaces or punctuation. A long name that is not a US state
 * while `country` is `us` is dropped.
 */
export function normalizeState(value: string, country?: string): string | undefined {
  const key = foldedName(value);
  if (key === "") return undefined;
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  const code = subdivisionCode(key, alpha2);
  if (code) return code;
  const letters = lettersOnly(value);
  if (letters.length === 2) return letters;
  if (alpha2 === "us") return undefined;
  return letters === "" ? undefined : letters;
}

const US_ZIP = /^(\d{5})(?:[\s-]?\d{4})?$/;

/**
 * Meta/Snap zip: lowercase, no spaces or dashes; US zips (country `us`, or a bare
 * 5- or 9-digit zip with no country) keep their first 5 digits (`94025-1234` → `94025`).
 * A US country with a zip that is not 5 or 9 digits is dropped.
 */
export function normalizeZip(value: string, country?: string): string | undefined {
  const trimmed = value.normalize("NFKC").trim();
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  const us = US_ZIP.exec(trimmed);
  if (alpha2 === "us" || (alpha2 === undefined && us)) return us?.[1];
  const zip = trimmed.toLowerCase().replace(/[\s-]/g, "").replace(/[^\p{L}\p{N}]/gu, "");
  return zip.length < 2 ? undefined : zip;
}

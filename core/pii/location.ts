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

/** AP-style and other common abbreviations of US state names (letters only: `Calif.` → `calif`). */
const US_ABBREVIATIONS: Readonly<Record<string, string>> = {
  ala: "al",
  ariz: "az",
  ark: "ar",
  cal: "ca",
  calif: "ca",
  colo: "co",
  conn: "ct",
  del: "de",
  fla: "fl",
  ill: "il",
  ind: "in",
  kan: "ks",
  kans: "ks",
  mass: "ma",
  mich: "mi",
  minn: "mn",
  miss: "ms",
  mont: "mt",
  neb: "ne",
  nebr: "ne",
  nev: "nv",
  okla: "ok",
  ore: "or",
  oreg: "or",
  penn: "pa",
  penna: "pa",
  tenn: "tn",
  tex: "tx",
  wash: "wa",
  wis: "wi",
  wisc: "wi",
  wva: "wv",
  wyo: "wy",
};

const US_CODES: ReadonlySet<string> = new Set(Object.values(US_STATES));
const CA_CODES: ReadonlySet<string> = new Set(Object.values(CA_PROVINCES));

/** The 2-letter code of a US state or Canadian province name, for that country or none. */
function subdivisionOf(key: string, alpha2: string | undefined): string | undefined {
  const us = US_STATES[key] ?? US_ABBREVIATIONS[key];
  if (alpha2 === undefined) return us ?? CA_PROVINCES[key];
  if (alpha2 === "us") return us;
  return alpha2 === "ca" ? CA_PROVINCES[key] : undefined;
}

function isSubdivisionCode(key: string, alpha2: string | undefined): boolean {
  if (alpha2 === undefined) return US_CODES.has(key) || CA_CODES.has(key);
  return (alpha2 === "us" && US_CODES.has(key)) || (alpha2 === "ca" && CA_CODES.has(key));
}

/**
 * The 2-letter code of a US state (name or common abbreviation: `Calif.`) or Canadian
 * province name (letters only, see `foldedName`), for that country or no country; a name
 * or code with "State" around it (`New York State`, `State of New York`, `NY State`) too.
 */
export function subdivisionCode(key: string, alpha2: string | undefined): string | undefined {
  const code = subdivisionOf(key, alpha2);
  if (code !== undefined) return code;
  const bare = key.replace(/^stateof/, "").replace(/state$/, "");
  if (bare === key) return undefined;
  return subdivisionOf(bare, alpha2) ?? (isSubdivisionCode(bare, alpha2) ? bare : undefined);
}

/** Letters only, accents folded away, lowercase: the lookup key of a place name. */
export function foldedName(value: string): string {
  return value.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/[^a-z]/g, "");
}

/**
 * Meta/Snap/Pinterest state: US state (and Canadian province) names and abbreviations become
 * their 2-letter code (`California`, `Calif.` → `ca`); a 2-letter code (`CA`, `N.Y.`) is lowercased;
 * anything else, outside the US, is lowercase letters of any script with no spaces or
 * punctuation (`Île-de-France` → `îledefrance`, `東京都`). A longer name that is not a US
 * state while `country` is `us` is dropped.
 */
export function normalizeState(value: string, country?: string): string | undefined {
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  const code = subdivisionCode(foldedName(value), alpha2);
  if (code) return code;
  const letters = lettersOnly(value);
  // Two letters are a code only among letters, digits and dots: `N.Y.` is, `N/A` is not.
  if (letters.length === 2 && /^[\p{L}\p{M}\p{N}.\s]+$/u.test(value)) return letters;
  if (alpha2 === "us" || letters === "") return undefined;
  return letters;
}

/** A US zip with no country: 5 digits, or ZIP+4 (`94025-1234`, `940251234`), spaces removed. */
const US_ZIP = /^(\d{5})(?:\p{Pd}?\d{4})?$/u;
/** A US zip when the country is the US: 5 digits, then anything from a dash on, or 4 digits. */
const US_ZIP_IN_US = /^(\d{5})(?:\p{Pd}\d{0,4}|\d{4})?$/u;

/**
 * Meta/Snap zip: lowercase, no spaces, dashes or punctuation; US zips (country `us`, or a
 * bare 5- or 9-digit zip with no country) keep their first 5 digits (`94025-1234` → `94025`).
 * A US country with a zip that does not start with 5 digits is dropped.
 */
export function normalizeZip(value: string, country?: string): string | undefined {
  const compact = value.normalize("NFKC").replace(/\s+/g, "");
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  if (alpha2 === "us") return US_ZIP_IN_US.exec(compact)?.[1];
  const us = alpha2 === undefined ? US_ZIP.exec(compact) : null;
  if (us) return us[1];
  const zip = compact.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  return zip.length < 2 ? undefined : zip;
}

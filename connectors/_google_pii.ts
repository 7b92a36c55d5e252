/**
 * Google's normalisation rules (Google Ads enhanced conversions and GA4 user-provided data),
 * on the canonical forms in core/pii; shared by the Google connectors.
 *
 * @module
 */
import {
  foldedName,
  lettersAndSpaces,
  normalizeCountry,
  normalizeEmail,
  subdivisionCode,
} from "../core/pii/mod.ts";

const GMAIL_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/** Google Ads / GA4 email: canonical, plus dots removed from the local part of gmail.com and googlemail.com. */
export function googleEmail(value: string): string | undefined {
  const email = normalizeEmail(value);
  if (email === undefined) return undefined;
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  return GMAIL_DOMAINS.has(domain) ? `${local.replaceAll(".", "")}@${domain}` : email;
}

/**
 * Google Data Manager email (`events:ingest`, "Format user data"): canonical, and for
 * gmail.com and googlemail.com the local part is cut at the first `+` and loses every `.`
 * (`Cloudy.SanFrancisco+shopping@gmail.com` → `cloudysanfrancisco@gmail.com`); other
 * domains keep their dots and `+tags`.
 */
export function dataManagerEmail(value: string): string | undefined {
  const text = value.normalize("NFC").trim().toLowerCase();
  const at = text.lastIndexOf("@");
  const domain = text.slice(at + 1);
  if (at < 0 || !GMAIL_DOMAINS.has(domain)) return normalizeEmail(text);
  // Gmail ignores dots, so runs of them (`j.e..f`) are no reason to drop the address.
  const local = text.slice(0, at).split("+")[0]!.replaceAll(".", "");
  return local === "" ? undefined : normalizeEmail(`${local}@${domain}`);
}

/** Honorifics Google's UserDataFormatter strips from the front of a given name. */
const NAME_PREFIX = /^(?:mr|mrs|ms|dr)\.(?:\s+|$)/;

/** Generational and professional suffixes it strips, repeatedly, from the end of a family name. */
const NAME_SUFFIX =
  /(?:,\s*|\s+)(?:jr\.?|sr\.?|2nd|3rd|ii|iii|iv|v|vi|cpa|dc|dds|vm|jd|md|phd)\s?$/;

/**
 * Google Data Manager given name: a leading `Mr.`, `Mrs.`, `Ms.` or `Dr.` removed (as
 * Google's UserDataFormatter does), then lowercase with no punctuation (`googleName`).
 */
export function dataManagerGivenName(value: string): string | undefined {
  const name = value.trim().toLowerCase().replace(NAME_PREFIX, "");
  return googleName(name);
}

/**
 * Google Data Manager family name: trailing suffixes (`, Jr.`, `Sr`, `III`, `PhD`, …)
 * removed as Google's UserDataFormatter does, then lowercase with no punctuation.
 */
export function dataManagerFamilyName(value: string): string | undefined {
  let name = value.trim().toLowerCase();
  while (NAME_SUFFIX.test(name)) name = name.replace(NAME_SUFFIX, "");
  return googleName(name);
}

/** Google Ads / GA4 name: as `normalizeName`, with digits removed too. */
export function googleName(value: string): string | undefined {
  const name = value.normalize("NFC").toLowerCase().replace(/[\p{P}\p{S}\p{N}]/gu, "")
    .replace(/\s+/g, " ").trim();
  return name === "" ? undefined : name;
}

/** Google/GA4 city: digits and symbols removed, lowercase, single spaces (`new york`). */
export function googleCity(value: string): string | undefined {
  const city = lettersAndSpaces(value);
  return city === "" ? undefined : city;
}

/** Google/GA4 region: the 2-letter code for US states and Canadian provinces, else letters and spaces. */
export function googleRegion(value: string, country?: string): string | undefined {
  const key = foldedName(value);
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  const code = subdivisionCode(key, alpha2);
  if (code) return code;
  const region = lettersAndSpaces(value);
  return region === "" ? undefined : region;
}

/** Google/GA4 postal code: `.` and `~` removed, whitespace collapsed and trimmed, otherwise raw. */
export function googlePostalCode(value: string): string | undefined {
  const zip = value.normalize("NFKC").replace(/[.~]/g, "").replace(/\s+/g, " ").trim();
  return zip === "" ? undefined : zip;
}

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

import { countryInfo } from "./_countries.ts";
import { normalizeCountry } from "./location.ts";

const EXTENSION = /\s*(?:ext\.?|extension|x|#)\s*\d+\s*$/i;

/**
 * Canonical E.164 (`+16505551212`) from a messy phone number, or undefined.
 *
 * - `+…` and `00…` (and `011…` with a US/CA hint) are international: the digits are kept
 *   (zeros right after the `+`, as in `+0044…`, are dropped: Meta's "remove leading zeros").
 * - Otherwise `defaultCountry` (a code or name, e.g. `user_data.country`) says which
 *   country the national number belongs to: its trunk prefix (`0` in FR/GB/DE, `1` in the
 *   US, …) is dropped and its calling code prepended. A national number that already starts
 *   with the calling code and is long enough (11+ digits) is taken as carrying it.
 * - Without a hint, a bare digit string of 11–15 digits not starting with 0 is taken as
 *   carrying its country code; shorter ones are ambiguous and dropped.
 *
 * A `tel:` URI scheme, extensions and the British-style `(0)` after a country code are
 * removed; the result must have 7–15 digits (NANP numbers exactly 11).
 */
export function normalizePhone(value: string, defaultCountry?: string): string | undefined {
  const text = value.normalize("NFKC").trim().replace(/^tel:/i, "").replace(EXTENSION, "")
    .replace("(0)", "");
  if (/[a-z]/i.test(text)) return undefined;
  const digits = text.replace(/\D/g, "");
  if (digits === "") return undefined;
  const country = defaultCountry === undefined ? undefined : normalizeCountry(defaultCountry);
  const info = country === undefined ? undefined : countryInfo(country);
  let international: string | undefined;
  if (text.startsWith("+")) {
    international = digits.replace(/^0+/, "");
  } else if (digits.startsWith("00")) {
    international = digits.slice(2);
  } else if (digits.startsWith("011") && info?.callingCode === "1") {
    international = digits.slice(3);
  } else if (info) {
    const { callingCode, trunkPrefix } = info;
    if (callingCode === "1") {
      international = digits.length === 11 && digits.startsWith("1") ? digits : `1${digits}`;
    } else if (trunkPrefix !== "" && digits.startsWith(trunkPrefix)) {
      international = callingCode + digits.slice(trunkPrefix.length);
    } else if (digits.startsWith(callingCode) && digits.length >= 11) {
      international = digits;
    } else {
      international = callingCode + digits;
    }
  } else if (digits.length >= 11 && !digits.startsWith("0")) {
    international = digits;
  }
  if (international === undefined || international.startsWith("0")) return undefined;
  if (international.length < 7 || international.length > 15) return undefined;
  if (international.startsWith("1") && international.length !== 11) return undefined;
  return `+${international}`;
}

/** Meta, Snap and Pinterest: the E.164 digits with no `+` (`16505551212`). */
export function phoneDigits(value: string, defaultCountry?: string): string | undefined {
  return normalizePhone(value, defaultCountry)?.slice(1);
}

/** Google Ads, GA4, TikTok and Reddit: E.164 with the `+` (`+16505551212`). */
export function phoneE164(value: string, defaultCountry?: string): string | undefined {
  return normalizePhone(value, defaultCountry);
}

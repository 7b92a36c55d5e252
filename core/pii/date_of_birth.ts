import { normalizeCountry } from "./location.ts";

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** Countries that write numeric dates month first. */
const MONTH_FIRST = new Set(["us", "ph", "fm", "mh", "pw"]);

/** 1–12 for an English month name or an abbreviation of 3+ letters (`mar`, `sept.`). */
function monthOf(word: string): number | undefined {
  const key = word.replace(/\.$/, "");
  if (key.length < 3) return undefined;
  const index = MONTHS.findIndex((name) => name.startsWith(key));
  return index === -1 ? undefined : index + 1;
}

function format(year: number, month: number, day: number): string | undefined {
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return undefined;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > days) return undefined;
  return `${year}${String(month).padStart(2, "0")}${String(day).padStart(2, "0")}`;
}

/**
 * `YYYYMMDD` from a date of birth in one of many formats, or undefined.
 *
 * Accepted: `1990-03-07`, `1990/03/07`, `1990.3.7`, `1990 03 07`, `19900307`, an ISO
 * date-time (the date part), `March 7 1990`, `Mar 7, 1990`, `7 March 1990`, and numeric
 * `dd/mm/yyyy` or `mm/dd/yyyy` (also with `-`, `.` or spaces), and `1990年3月7日` (or
 * `1990년 3월 7일`). Any Unicode dash counts as `-`, and spaces around a separator between
 * digits are ignored.
 *
 * Numeric day/month order: when one part is over 12 the order is clear. When both are 12
 * or less (`07/03/1990`) the `country` hint decides: month first for the US (and the few
 * other month-first countries), day first for every other known country. Without a
 * hint an ambiguous date is dropped, unless day and month are equal: a wrong guess would
 * hash to a different person.
 */
export function normalizeDateOfBirth(value: string, country?: string): string | undefined {
  const text = value.normalize("NFKC").trim().toLowerCase().replace(/\p{Pd}/gu, "-")
    .replace(/(\d)\s*([-/.])\s*(?=\d)/g, "$1$2").replace(/\s+/g, " ");
  let m = /^(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})(?:[t\s].*)?$/.exec(text);
  if (m) return format(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (m) return format(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$/.exec(text);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const year = Number(m[3]);
    if (a > 12) return format(year, b, a);
    if (b > 12) return format(year, a, b);
    if (a === b) return format(year, a, b);
    const alpha2 = country === undefined ? undefined : normalizeCountry(country);
    if (alpha2 === undefined) return undefined;
    return MONTH_FIRST.has(alpha2) ? format(year, a, b) : format(year, b, a);
  }
  m = /^(\d{4}) ?[年년] ?(\d{1,2}) ?[月월] ?(\d{1,2}) ?[日일]$/.exec(text);
  if (m) return format(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^([a-z]+\.?)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(text);
  if (m) {
    const month = monthOf(m[1] ?? "");
    return month === undefined ? undefined : format(Number(m[3]), month, Number(m[2]));
  }
  m = /^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+\.?),?\s+(\d{4})$/.exec(text);
  if (m) {
    const month = monthOf(m[2] ?? "");
    return month === undefined ? undefined : format(Number(m[3]), month, Number(m[1]));
  }
  return undefined;
}

import { ga4SessionId } from "../../connectors/ga4.ts";
import type { BrowserIdName, ClickIdName, Page, Utm } from "../../core/event.ts";
import { CLICK_ID_PARAMS } from "../../core/event.ts";

/** Platform cookies whose values are mirrored into `user_data.browser_ids`. */
const COOKIE_TO_BROWSER_ID = new Map<string, BrowserIdName>([
  ["_fbp", "fbp"],
  ["_fbc", "fbc"],
  ["_ga", "ga"],
  ["_ttp", "ttp"],
  ["_scid", "scid"],
  ["_epik", "epik"],
  ["_rdt_uuid", "rdt_uuid"],
  ["_uetmsclkid", "uet_msclkid"],
  ["_gcl_aw", "gcl_aw"],
]);

/**
 * Platform cookies that hold a click id as it came in the landing URL: LinkedIn's Insight Tag
 * keeps `li_fat_id` in a first-party cookie of that name (with enhanced conversion tracking).
 */
const COOKIE_TO_CLICK_ID = new Map<string, ClickIdName>([["li_fat_id", "li_fat_id"]]);

const UTM_PARAMS = ["source", "medium", "campaign", "term", "content"] as const;

/** Parses a URL leniently; undefined when it is not absolute http(s). */
export function parsePageUrl(url: string | undefined): URL | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Click ids found in a landing URL's query; keys are matched case-insensitively (`ScCid`). */
export function clickIdsFromUrl(url: URL | undefined): Partial<Record<ClickIdName, string>> {
  const found: Partial<Record<ClickIdName, string>> = {};
  if (!url) return found;
  for (const [key, value] of url.searchParams) {
    const name = key.toLowerCase() as ClickIdName;
    if (value && (CLICK_ID_PARAMS as readonly string[]).includes(name)) found[name] ??= value;
  }
  return found;
}

/** UTM parameters found in a landing URL's query. */
export function utmFromUrl(url: URL | undefined): Utm | undefined {
  if (!url) return undefined;
  const utm: Utm = {};
  for (const part of UTM_PARAMS) {
    const value = url.searchParams.get(`utm_${part}`);
    if (value) utm[part] = value.slice(0, 256);
  }
  return Object.keys(utm).length ? utm : undefined;
}

/** Fills `path` from `url` when only the URL was sent. */
export function completePage(page: Page | undefined, url: URL | undefined): Page | undefined {
  if (!page) return undefined;
  return url && !page.path ? { ...page, path: url.pathname } : page;
}

/**
 * Builds Meta's `fbc` from a click id as a server does: `fb.1.<ms>.<fbclid>`,
 * keeping the fbclid byte-exact (it is case-sensitive).
 */
export function fbcFromFbclid(fbclid: string, seenAtMs: number): string {
  return `fb.1.${seenAtMs}.${fbclid}`;
}

/** Parses a `Cookie` header into name → value (RFC 6265 §5.4), decoding %-escapes leniently. */
export function parseCookieHeader(header: string | null | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? "" : pair.slice(0, eq).trim();
    if (name === "") continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch { /* keep the raw value */ }
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** Browser ids mirrored from platform cookies, plus the GA4 session id from `_ga_<ID>`. */
export function browserIdsFromCookies(
  cookies: Map<string, string>,
): Partial<Record<BrowserIdName, string>> {
  const ids: Partial<Record<BrowserIdName, string>> = {};
  for (const [cookie, value] of cookies) {
    const name = COOKIE_TO_BROWSER_ID.get(cookie);
    if (name && value) ids[name] = value.slice(0, 256);
    else if (cookie.startsWith("_ga_") && value && !ids.ga_session_id) {
      const sessionId = ga4SessionId(value);
      if (sessionId) ids.ga_session_id = sessionId;
    }
  }
  return ids;
}

/** Click ids mirrored from platform cookies (`li_fat_id`); a click id in the page URL wins. */
export function clickIdsFromCookies(
  cookies: Map<string, string>,
): Partial<Record<ClickIdName, string>> {
  const ids: Partial<Record<ClickIdName, string>> = {};
  for (const [cookie, name] of COOKIE_TO_CLICK_ID) {
    const value = cookies.get(cookie);
    if (value) ids[name] = value.slice(0, 256);
  }
  return ids;
}

/**
 * How much each identifier adds to a platform's chance of matching an event to a person:
 * the weights of the match-quality estimate (docs/analytics.md explains each row).
 *
 * Meta's follow its Event Match Quality priorities (CONNECTORS.md §2.1): high email and
 * click id (fbc); medium phone, external id, browser id (fbp), country and date of birth;
 * low names, city and zip; IP and user agent as the pair every web event should carry. The
 * other platforms' are Sluice's estimates from the identifiers each accepts (§1) and the
 * keys its documentation names as primary (Google Ads: gclid, then enhanced-conversion
 * email; GA4: the client id; LinkedIn: email and li_fat_id; Klaviyo: the profile's email
 * and phone). The score is 10 × Σ weight × share present / Σ weight.
 *
 * @module
 */
import type { Identifier } from "./identifiers.ts";

/** Relative weights of one platform's identifiers; identifiers it ignores are absent. */
export type PlatformWeights = Readonly<Partial<Record<Identifier, number>>>;

/** The weights per platform type; the webhook has none (it matches nobody). */
export const QUALITY_WEIGHTS: Readonly<Record<string, PlatformWeights>> = {
  meta: {
    email: 30,
    click_id: 20,
    phone: 15,
    external_id: 8,
    browser_id: 8,
    ip: 4,
    user_agent: 4,
    country: 3,
    date_of_birth: 3,
    first_name: 1.5,
    last_name: 1.5,
    city: 1,
    zip: 1,
  },
  ga4: { browser_id: 60, external_id: 20, email: 8, phone: 4, ip: 4, user_agent: 4 },
  google_ads: {
    click_id: 40,
    email: 25,
    phone: 12,
    first_name: 4,
    last_name: 4,
    zip: 4,
    country: 4,
    city: 2,
    state: 1,
    ip: 2,
    user_agent: 2,
  },
  tiktok: {
    email: 25,
    phone: 20,
    click_id: 20,
    browser_id: 10,
    external_id: 10,
    ip: 8,
    user_agent: 7,
  },
  snapchat: {
    email: 25,
    phone: 20,
    click_id: 15,
    browser_id: 10,
    ip: 10,
    user_agent: 10,
    external_id: 5,
    first_name: 1,
    last_name: 1,
    zip: 1,
    date_of_birth: 1,
    country: 1,
  },
  pinterest: {
    email: 30,
    click_id: 20,
    phone: 10,
    external_id: 10,
    ip: 10,
    user_agent: 10,
    first_name: 2,
    last_name: 2,
    zip: 2,
    country: 2,
    city: 1,
    state: 1,
  },
  linkedin: { email: 50, click_id: 30, external_id: 10, first_name: 5, last_name: 5 },
  reddit: {
    click_id: 25,
    email: 25,
    phone: 10,
    external_id: 10,
    browser_id: 10,
    ip: 10,
    user_agent: 10,
  },
  microsoft: { click_id: 40, email: 25, phone: 10, ip: 10, user_agent: 10, external_id: 5 },
  klaviyo: { email: 60, phone: 30, external_id: 10 },
};

/** Platform names as the quality report's suggestions say them. */
export const PLATFORM_NAMES: Readonly<Record<string, string>> = {
  meta: "Meta",
  ga4: "GA4",
  google_ads: "Google Ads",
  tiktok: "TikTok",
  snapchat: "Snapchat",
  pinterest: "Pinterest",
  linkedin: "LinkedIn",
  reddit: "Reddit",
  microsoft: "Microsoft Advertising",
  klaviyo: "Klaviyo",
};

/** A platform's identifiers from most to least weighty. */
export function rankedIdentifiers(weights: PlatformWeights): Identifier[] {
  return (Object.entries(weights) as [Identifier, number][])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([identifier]) => identifier);
}

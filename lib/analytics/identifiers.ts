/**
 * Which customer identifiers an event carries for one platform: the matching keys of
 * CONNECTORS.md §1, with the click id and browser id each platform reads (Meta's fbc and
 * fbp, Google's gclid and GA client id, TikTok's ttclid and ttp, …).
 *
 * @module
 */
import type { BrowserIdName, ClickIdName, SluiceEvent } from "../../core/event.ts";

/** The identifiers counted per destination. */
export const IDENTIFIERS = [
  "email",
  "phone",
  "first_name",
  "last_name",
  "date_of_birth",
  "city",
  "state",
  "zip",
  "country",
  "external_id",
  "ip",
  "user_agent",
  "click_id",
  "browser_id",
] as const;

/** One identifier. */
export type Identifier = typeof IDENTIFIERS[number];

/** The click ids, click cookies and browser ids one platform reads. */
interface PlatformIds {
  clickIds: readonly ClickIdName[];
  clickCookies: readonly BrowserIdName[];
  browserIds: readonly (BrowserIdName | "anonymous_id")[];
}

const GOOGLE_CLICKS: readonly ClickIdName[] = ["gclid", "gbraid", "wbraid"];

/** Per platform type (API.md), from CONNECTORS.md §1.1. */
const PLATFORM_IDS: Readonly<Record<string, PlatformIds>> = {
  meta: { clickIds: ["fbclid"], clickCookies: ["fbc"], browserIds: ["fbp"] },
  ga4: { clickIds: GOOGLE_CLICKS, clickCookies: ["gcl_aw"], browserIds: ["ga", "anonymous_id"] },
  google_ads: { clickIds: GOOGLE_CLICKS, clickCookies: ["gcl_aw"], browserIds: [] },
  tiktok: { clickIds: ["ttclid"], clickCookies: [], browserIds: ["ttp"] },
  snapchat: { clickIds: ["sccid"], clickCookies: [], browserIds: ["scid"] },
  pinterest: { clickIds: ["epik"], clickCookies: ["epik"], browserIds: [] },
  linkedin: { clickIds: ["li_fat_id"], clickCookies: [], browserIds: [] },
  reddit: { clickIds: ["rdt_cid"], clickCookies: [], browserIds: ["rdt_uuid"] },
  microsoft: { clickIds: ["msclkid"], clickCookies: ["uet_msclkid"], browserIds: [] },
  klaviyo: { clickIds: [], clickCookies: [], browserIds: [] },
};

const present = (value: unknown) => typeof value === "string" ? value.trim() !== "" : false;

/**
 * The identifiers an event carries for a platform type. For a type without a table entry
 * (the webhook), any click id, click cookie or browser id counts.
 */
export function identifiersOf(event: Pick<SluiceEvent, "user_data">, type: string): Identifier[] {
  const u = event.user_data;
  const found: Identifier[] = [];
  const simple: [Identifier, unknown][] = [
    ["email", u.email],
    ["phone", u.phone],
    ["first_name", u.first_name],
    ["last_name", u.last_name],
    ["date_of_birth", u.date_of_birth],
    ["city", u.city],
    ["state", u.state],
    ["zip", u.zip],
    ["country", u.country],
    ["ip", u.client_ip],
    ["user_agent", u.user_agent],
  ];
  for (const [identifier, value] of simple) if (present(value)) found.push(identifier);
  if (present(u.customer_id) || (u.external_ids ?? []).some(present)) found.push("external_id");
  const ids = PLATFORM_IDS[type];
  const clickIds = u.click_ids ?? {};
  const browserIds = u.browser_ids ?? {};
  const clicked = ids
    ? ids.clickIds.some((name) => present(clickIds[name])) ||
      ids.clickCookies.some((name) => present(browserIds[name]))
    : Object.values(clickIds).some(present) || present(browserIds.fbc) ||
      present(browserIds.gcl_aw);
  if (clicked) found.push("click_id");
  const browser = ids
    ? ids.browserIds.some((name) =>
      present(name === "anonymous_id" ? u.anonymous_id : browserIds[name])
    )
    : Object.values(browserIds).some(present);
  if (browser) found.push("browser_id");
  return found;
}

/**
 * The bounded labels analytics counters are keyed by: every dimension takes a value from a
 * fixed list (or a workspace's first 50 values, for UTM sources), never a raw message.
 *
 * @module
 */
import { CANONICAL_EVENT_NAMES } from "../../core/event_names.ts";
import type { ClickIdName, SluiceEvent } from "../../core/event.ts";

/** The label of event names outside the canonical list. */
export const OTHER_NAME = "other";

const CANONICAL = new Set<string>(CANONICAL_EVENT_NAMES);

/** An event name as counters key it: a canonical name, or `other` for custom names. */
export function nameLabel(eventName: string): string {
  return CANONICAL.has(eventName) ? eventName : OTHER_NAME;
}

/** Where a copy of an event came from: the user's browser, or a server. */
export type Origin = "browser" | "server";

/** The origin of an event: browser dialects (browser events, collect) or any server dialect. */
export function originOf(event: Pick<SluiceEvent, "dialect">): Origin {
  return event.dialect === "browser" || event.dialect === "collect" ? "browser" : "server";
}

/** Events a funnel step may name; each is one bit of a visitor's day mask. */
export const FUNNEL_STEPS = [
  "page_view",
  "view_content",
  "view_category",
  "search",
  "add_to_cart",
  "view_cart",
  "initiate_checkout",
  "add_shipping_info",
  "add_payment_info",
  "purchase",
  "lead",
  "complete_registration",
  "subscribe",
  "start_trial",
] as const;

/** One funnel step. */
export type FunnelStep = typeof FUNNEL_STEPS[number];

/** The bit of a funnel step in a visitor's day mask, or 0 for events that are no step. */
export function stepBit(eventName: string): number {
  const index = (FUNNEL_STEPS as readonly string[]).indexOf(eventName);
  return index < 0 ? 0 : 1 << index;
}

/** The ad platforms a click id points to. */
export const CLICK_PLATFORMS = [
  "meta",
  "google",
  "tiktok",
  "snapchat",
  "pinterest",
  "reddit",
  "microsoft",
  "linkedin",
  "x",
] as const;

/** One ad platform of a click. */
export type ClickPlatform = typeof CLICK_PLATFORMS[number];

const CLICK_ID_PLATFORM: Record<ClickIdName, ClickPlatform> = {
  fbclid: "meta",
  gclid: "google",
  gbraid: "google",
  wbraid: "google",
  ttclid: "tiktok",
  sccid: "snapchat",
  epik: "pinterest",
  rdt_cid: "reddit",
  msclkid: "microsoft",
  li_fat_id: "linkedin",
  twclid: "x",
};

/** The platform of the click id an event carries (from its landing URL or sent), if any. */
export function clickPlatformOf(event: Pick<SluiceEvent, "user_data">): ClickPlatform | undefined {
  const clickIds = event.user_data.click_ids ?? {};
  for (const [name, value] of Object.entries(clickIds)) {
    if (value) return CLICK_ID_PLATFORM[name as ClickIdName];
  }
  return undefined;
}

/**
 * The platform of a click cookie the event carries (`_fbc`, `_gcl_aw`, `_uetmsclkid`): proof
 * of an earlier click when no click id was recorded for the visitor.
 */
export function clickCookiePlatformOf(
  event: Pick<SluiceEvent, "user_data">,
): ClickPlatform | undefined {
  const ids = event.user_data.browser_ids ?? {};
  if (ids.fbc) return "meta";
  if (ids.gcl_aw) return "google";
  if (ids.uet_msclkid) return "microsoft";
  return undefined;
}

/** Longest UTM source label kept. */
const UTM_LABEL_CHARS = 40;

/** A UTM source as a label: lower case, `[a-z0-9._-]` only; undefined when nothing is left. */
export function utmLabel(source: string | undefined): string | undefined {
  if (!source) return undefined;
  const label = source.trim().toLowerCase().replace(/\s+/g, "_").replace(/[^a-z0-9._-]/g, "")
    .slice(0, UTM_LABEL_CHARS);
  return label === "" ? undefined : label;
}

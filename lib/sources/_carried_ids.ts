/**
 * Browser ids a shop carries on an order: the `_fbp`/`_fbc`/`_ga` cookies (and the other
 * platform cookies) a theme or plugin copied into order attributes or metadata, the click
 * ids of the visit, Sluice's anonymous id, and the event id the browser used.
 *
 * @module
 */
import {
  BROWSER_ID_NAMES,
  type BrowserIdName,
  CLICK_ID_PARAMS,
  type ClickIdName,
} from "../../core/event.ts";
import { browserIdsFromCookies } from "../ingest/enrich.ts";

/** What an order carried about the browser that placed it. */
export interface CarriedIds {
  browser_ids: Partial<Record<BrowserIdName, string>>;
  click_ids: Partial<Record<ClickIdName, string>>;
  anonymous_id?: string;
  /** The event id the browser sent its purchase with (the dedup key). */
  event_id?: string;
  /** The shop's order id, where the payment platform's own id is not it (Stripe). */
  order_id?: string;
  /** The page the order was placed on. */
  page_url?: string;
}

type Named = "anonymous_id" | "event_id" | "order_id" | "page_url";

/** Spellings of the other names, lower case, without leading underscores. */
const NAMES = new Map<string, Named>([
  ["anonymous_id", "anonymous_id"],
  ["anonymousid", "anonymous_id"],
  ["event_id", "event_id"],
  ["eventid", "event_id"],
  ["order_id", "order_id"],
  ["orderid", "order_id"],
  ["page_url", "page_url"],
  ["event_source_url", "page_url"],
]);

const BROWSER_IDS = new Set<string>(BROWSER_ID_NAMES);
const CLICK_IDS = new Set<string>(CLICK_ID_PARAMS);

function isBrowserIdName(name: string): name is BrowserIdName {
  return BROWSER_IDS.has(name);
}

function isClickIdName(name: string): name is ClickIdName {
  return CLICK_IDS.has(name);
}
/** Longest id kept, as for cookies (`lib/ingest/enrich.ts`). */
const MAX_ID_LENGTH = 256;

/**
 * Reads name/value pairs (Shopify `note_attributes`, WooCommerce `meta_data`, Stripe
 * `metadata`). Cookie names (`_fbp`, `_ga`, `_ga_<ID>` → `ga_session_id`, `_uetmsclkid`, …)
 * are read as the browser endpoints read cookies; plain names (`fbp`, `gclid`,
 * `anonymous_id`, `event_id`, …) match case-insensitively, with or without a leading `_`.
 * Values that are not text or numbers are skipped; the first value of a name wins.
 */
export function carriedIds(pairs: Iterable<readonly [string, unknown]>): CarriedIds {
  const found: CarriedIds = { browser_ids: {}, click_ids: {} };
  const cookies = new Map<string, string>();
  for (const [key, raw] of pairs) {
    if (typeof raw !== "string" && typeof raw !== "number") continue;
    const value = String(raw).trim().slice(0, MAX_ID_LENGTH);
    if (value === "") continue;
    if (key.startsWith("_") && !cookies.has(key)) cookies.set(key, value);
    const name = key.trim().replace(/^_+/, "").toLowerCase();
    const named = NAMES.get(name);
    if (isBrowserIdName(name)) found.browser_ids[name] ??= value;
    else if (isClickIdName(name)) found.click_ids[name] ??= value;
    else if (named) found[named] ??= value;
  }
  found.browser_ids = { ...browserIdsFromCookies(cookies), ...found.browser_ids };
  return found;
}

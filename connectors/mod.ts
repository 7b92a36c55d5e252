/**
 * The connector registry: every destination type, listed statically. A type is offered
 * (API validation, dashboard forms, docs) only when it has a connector here.
 *
 * @module
 */
import { ga4 } from "./ga4.ts";
import { googleAds } from "./google_ads.ts";
import { klaviyo } from "./klaviyo.ts";
import { linkedin } from "./linkedin.ts";
import { meta } from "./meta.ts";
import { microsoft } from "./microsoft.ts";
import { pinterest } from "./pinterest.ts";
import { reddit } from "./reddit.ts";
import { snapchat } from "./snapchat.ts";
import { tiktok } from "./tiktok.ts";
import type { Connector } from "./types.ts";
import { webhook } from "./webhook.ts";

export { ga4 } from "./ga4.ts";
export { googleAds } from "./google_ads.ts";
export { klaviyo } from "./klaviyo.ts";
export { linkedin } from "./linkedin.ts";
export { meta } from "./meta.ts";
export { microsoft } from "./microsoft.ts";
export { pinterest } from "./pinterest.ts";
export { reddit } from "./reddit.ts";
export { snapchat } from "./snapchat.ts";
export { tiktok } from "./tiktok.ts";
export { webhook } from "./webhook.ts";

/** Every connector by destination type, in alphabetical order. */
export const connectors = {
  ga4,
  google_ads: googleAds,
  klaviyo,
  linkedin,
  meta,
  microsoft,
  pinterest,
  reddit,
  snapchat,
  tiktok,
  webhook,
} as const satisfies Record<string, Connector>;

/** One destination type: a key of the registry. */
export type PlatformType = keyof typeof connectors;

/** Every connector, in registry order. */
export const CONNECTORS: readonly Connector[] = Object.values(connectors);

/** Every destination type, in registry order. */
export const PLATFORM_TYPES = Object.keys(connectors) as [PlatformType, ...PlatformType[]];

/** The connector for a destination type, or undefined when there is none. */
export function connectorFor(type: string): Connector | undefined {
  return Object.hasOwn(connectors, type) ? connectors[type as PlatformType] : undefined;
}

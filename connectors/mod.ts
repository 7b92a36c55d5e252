/**
 * The connector registry: every destination type, listed statically. A type is offered
 * (API validation, dashboard forms, docs) only when it has a connector here.
 *
 * @module
 */
import { ga4 } from "./ga4.ts";
import { klaviyo } from "./klaviyo.ts";
import { meta } from "./meta.ts";
import type { Connector } from "./types.ts";
import { webhook } from "./webhook.ts";

export { ga4 } from "./ga4.ts";
export { klaviyo } from "./klaviyo.ts";
export { meta } from "./meta.ts";
export { webhook } from "./webhook.ts";

/** Every connector by destination type. */
export const connectors = {
  meta,
  ga4,
  klaviyo,
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

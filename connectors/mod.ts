/**
 * The connector registry: every destination type that has a connector, listed statically.
 *
 * @module
 */
import { ga4 } from "./ga4.ts";
import { meta } from "./meta.ts";
import type { Connector, PlatformType } from "./types.ts";
import { webhook } from "./webhook.ts";

export { ga4 } from "./ga4.ts";
export { meta } from "./meta.ts";
export { webhook } from "./webhook.ts";

/** Every available connector by destination type. */
export const connectors: Readonly<Partial<Record<PlatformType, Connector>>> = {
  meta,
  ga4,
  webhook,
};

/** The connector for a destination type, or undefined when it has none yet. */
export function connectorFor(type: string): Connector | undefined {
  return Object.hasOwn(connectors, type) ? connectors[type as PlatformType] : undefined;
}

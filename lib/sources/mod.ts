/**
 * The source registry: every shop and payment platform whose order webhooks Sluice
 * receives, listed statically. A type is accepted by `/v1/sources` and served at
 * `/ingest/{type}/{source_id}` only when it is here.
 *
 * @module
 */
import { shopify } from "./shopify.ts";
import { stripe } from "./stripe.ts";
import type { SourcePlatform } from "./types.ts";
import { woocommerce } from "./woocommerce.ts";

export { shopify } from "./shopify.ts";
export { stripe } from "./stripe.ts";
export { woocommerce } from "./woocommerce.ts";

/** Every source platform by type. */
export const sourcePlatforms = {
  shopify,
  woocommerce,
  stripe,
} as const satisfies Record<string, SourcePlatform>;

/** One source type: a key of the registry. */
export type SourceType = keyof typeof sourcePlatforms;

/** Every source type, in registry order. */
export const SOURCE_TYPES = Object.keys(sourcePlatforms) as [SourceType, ...SourceType[]];

/** The platform of a source type, or undefined when there is none. */
export function sourcePlatformFor(type: string): SourcePlatform | undefined {
  return Object.hasOwn(sourcePlatforms, type) ? sourcePlatforms[type as SourceType] : undefined;
}

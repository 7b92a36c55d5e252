/**
 * Reading webhook bodies as JSON without losing digits: Shopify's ids are 64-bit integers,
 * and its own example order (id 820982911946154508) is past 2^53, where `JSON.parse`
 * rounds it to a different order.
 *
 * @module
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What `JSON.parse` hands a reviver besides the key and value (ES2025 JSON.parse source text access). */
interface ReviverContext {
  source?: string;
}

/** An integer too large for a double becomes its exact digits, as a string. */
function keepLargeIntegers(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
  ) {
    return context.source;
  }
  return value;
}

/**
 * Parses a webhook body (UTF-8 JSON). Integers beyond 2^53 are kept as strings of their
 * digits; every other value is what `JSON.parse` gives. Throws a TypeError for invalid
 * UTF-8 and a SyntaxError for invalid JSON.
 */
export function parseWebhookJson(raw: Uint8Array): unknown {
  return JSON.parse(utf8.decode(raw), keepLargeIntegers);
}

/**
 * Field readers shared by the platform payload schemas, and the small conversions every
 * order mapping makes.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { FieldError } from "../../core/field_error.ts";

/** An optional text field: null, "" and blanks become undefined, numbers their digits. */
export const optionalText = z.union([z.string(), z.number()]).nullish().transform((value) => {
  const text = value === null || value === undefined ? "" : String(value).trim();
  return text === "" ? undefined : text;
});

/**
 * The customer's IP as the shop recorded it; undefined when it is not an IP, or is a
 * placeholder (`0.0.0.0`, as in Shopify's examples) or loopback (an order made on the
 * server itself): neither is the customer's, and platforms would match nobody with it.
 */
export const customerIp = optionalText.transform((text) => {
  if (text === undefined || !ipaddr.isValid(text)) return undefined;
  const range = ipaddr.process(text).range();
  return range === "unspecified" || range === "loopback" ? undefined : text;
});

/** A required id, string or number (a 64-bit id arrives as its digits, see `_webhook_json.ts`). */
export const idText = z.union([z.string(), z.number()]).transform((value) => String(value).trim())
  .pipe(z.string().min(1, "must not be empty"));

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A decimal amount sent as a string ("409.94") or a number. */
export const decimalAmount = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const amount = typeof value === "number"
    ? value
    : DECIMAL.test(value.trim())
    ? Number(value)
    : NaN;
  if (Number.isFinite(amount)) return amount;
  ctx.issues.push({
    code: "custom",
    input: value,
    message: `must be a decimal amount, not "${value}"`,
  });
  return z.NEVER;
});

/** A name in one field ("Jenny Rosen") as first name and the rest as last name. */
export function splitName(name: string | undefined): { first_name?: string; last_name?: string } {
  const parts = name?.trim().split(/\s+/).filter(Boolean) ?? [];
  if (parts.length === 0) return {};
  if (parts.length === 1) return { first_name: parts[0] };
  return { first_name: parts[0], last_name: parts.slice(1).join(" ") };
}

/** A copy without the keys whose value is undefined, so mapped events carry only what was sent. */
export function defined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

/** A zod error as field errors: the dotted path in the payload and what was expected. */
export function payloadErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
}

/**
 * An http(s) URL, resolved against `base` when relative (Shopify's `landing_site` is a
 * path); undefined when the text is neither.
 */
export function httpUrl(text: string | undefined, base?: string): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** An optional number: null becomes undefined. */
export const optionalNumber = z.number().nullish().transform((value) => value ?? undefined);

/** The origin (`https://shop.example`) of an http(s) URL, or undefined. */
export function originOf(text: string | undefined): string | undefined {
  const url = httpUrl(text);
  return url === undefined ? undefined : new URL(url).origin;
}

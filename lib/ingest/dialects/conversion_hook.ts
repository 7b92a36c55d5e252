import { z } from "@hono/zod-openapi";

/** A flat conversion as no-code tools and CRMs send it to `/collect/hook?k=`. */
export const conversionHookSchema = z.object({
  event: z.string().openapi({ example: "Purchase" }),
  event_id: z.string().optional(),
  value: z.union([z.number(), z.string()]).optional(),
  currency: z.string().optional(),
  order_id: z.string().optional(),
  email: z.string().optional(),
  phoneNumber: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
}).catchall(z.unknown()).openapi("HookConversion", {
  example: {
    event: "Purchase",
    value: "49.90",
    currency: "EUR",
    email: "ada@example.com",
    phoneNumber: "+44 20 7946 0958",
    firstName: "Ada",
    lastName: "Lovelace",
    order_id: "1001",
  },
});

/** Flat field → where it goes in a native event (`user_data.x` or top-level). */
const FIELD_MAP = new Map<string, string>(Object.entries({
  event: "event_name",
  event_name: "event_name",
  eventName: "event_name",
  event_id: "event_id",
  eventId: "event_id",
  event_time: "event_time",
  timestamp: "event_time",
  value: "value",
  currency: "currency",
  order_id: "order_id",
  orderId: "order_id",
  source: "source",
  action_source: "action_source",
  email: "user_data.email",
  phone: "user_data.phone",
  phoneNumber: "user_data.phone",
  phone_number: "user_data.phone",
  firstName: "user_data.first_name",
  first_name: "user_data.first_name",
  lastName: "user_data.last_name",
  last_name: "user_data.last_name",
  gender: "user_data.gender",
  dateOfBirth: "user_data.date_of_birth",
  date_of_birth: "user_data.date_of_birth",
  city: "user_data.city",
  state: "user_data.state",
  zip: "user_data.zip",
  zipCode: "user_data.zip",
  postal_code: "user_data.zip",
  country: "user_data.country",
  external_id: "user_data.customer_id",
  externalId: "user_data.customer_id",
  customer_id: "user_data.customer_id",
  ip: "user_data.client_ip",
  client_ip: "user_data.client_ip",
  user_agent: "user_data.user_agent",
  userAgent: "user_data.user_agent",
  fbp: "user_data.fbp",
  fbc: "user_data.fbc",
  fbclid: "user_data.fbclid",
  gclid: "user_data.gclid",
  gbraid: "user_data.gbraid",
  wbraid: "user_data.wbraid",
  ttclid: "user_data.ttclid",
  msclkid: "user_data.msclkid",
  li_fat_id: "user_data.li_fat_id",
  rdt_cid: "user_data.rdt_cid",
  epik: "user_data.epik",
  sccid: "user_data.sccid",
  ScCid: "user_data.sccid",
  twclid: "user_data.twclid",
  url: "page.url",
  page_url: "page.url",
  referrer: "page.referrer",
}));

const NUMERIC_TEXT = /^-?\d+(\.\d+)?$/;

/**
 * Maps a flat hook conversion onto a native event. Known fields land where the native
 * model keeps them; every other field is kept in `properties`. The `k` credential is dropped.
 * Without an `event_id`, the `order_id` is the dedup key, so a shop that retries its webhook
 * records one purchase.
 */
export function conversionHookToNative(flat: Record<string, unknown>): Record<string, unknown> {
  const event: Record<string, unknown> = { source: "crm" };
  const userData: Record<string, unknown> = {};
  const page: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(flat)) {
    if (key === "k" || key === "__proto__" || raw === "" || raw === undefined || raw === null) {
      continue;
    }
    const target = FIELD_MAP.get(key);
    const value = key === "event_time" || key === "timestamp"
      ? (typeof raw === "string" && NUMERIC_TEXT.test(raw) ? Number(raw) : raw)
      : raw;
    if (!target) properties[key] = value;
    else if (target.startsWith("user_data.")) userData[target.slice(10)] = value;
    else if (target.startsWith("page.")) page[target.slice(5)] = value;
    else event[target] = value;
  }
  if (event.event_id === undefined && event.order_id !== undefined) {
    event.event_id = event.order_id;
  }
  if (Object.keys(userData).length) event.user_data = userData;
  if (Object.keys(page).length) event.page = page;
  if (Object.keys(properties).length) event.properties = properties;
  return event;
}

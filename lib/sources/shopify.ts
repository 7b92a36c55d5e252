/**
 * Shopify order webhooks (`orders/create`, `orders/paid`) as purchases.
 *
 * Signature: `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body under the
 * app's client secret (or, for webhooks made in the admin, the secret shown under
 * Settings → Notifications → Webhooks).
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify
 *
 * The body is the REST Admin API's Order resource.
 * https://shopify.dev/docs/api/admin-rest/latest/resources/order
 *
 * @module
 */
import { z } from "zod";
import { carriedIds } from "./_carried_ids.ts";
import {
  customerIp,
  decimalAmount,
  defined,
  httpUrl,
  idText,
  optionalNumber,
  optionalText,
  originOf,
  payloadErrors,
} from "./_order_fields.ts";
import { verifyBodyHmac } from "./_signature.ts";
import type { NativeInput, SourceMapping, SourcePlatform } from "./types.ts";

const address = z.looseObject({
  first_name: optionalText,
  last_name: optionalText,
  phone: optionalText,
  city: optionalText,
  province_code: optionalText,
  zip: optionalText,
  country_code: optionalText,
});

const lineItem = z.looseObject({
  id: optionalText,
  product_id: optionalText,
  variant_id: optionalText,
  sku: optionalText,
  title: optionalText,
  quantity: optionalNumber,
  price: decimalAmount.nullish(),
});

/** The fields of a Shopify order that Sluice reads; the rest is left alone. */
const orderSchema = z.looseObject({
  id: idText,
  name: optionalText,
  email: optionalText,
  contact_email: optionalText,
  phone: optionalText,
  created_at: z.string(),
  currency: z.string(),
  total_price: decimalAmount,
  financial_status: optionalText,
  cancelled_at: optionalText,
  test: z.boolean().nullish(),
  source_name: optionalText,
  browser_ip: customerIp,
  landing_site: optionalText,
  referring_site: optionalText,
  order_status_url: optionalText,
  client_details: z.looseObject({ browser_ip: customerIp, user_agent: optionalText }).nullish(),
  billing_address: address.nullish(),
  shipping_address: address.nullish(),
  customer: z.looseObject({
    id: optionalText,
    email: optionalText,
    phone: optionalText,
    first_name: optionalText,
    last_name: optionalText,
    default_address: address.nullish(),
  }).nullish(),
  line_items: z.array(lineItem).nullish(),
  note_attributes: z.array(z.looseObject({ name: z.string(), value: z.unknown() })).nullish(),
});

type ShopifyOrder = z.output<typeof orderSchema>;

/** The topics that become purchases. */
const SHOPIFY_TOPICS = ["orders/create", "orders/paid"] as const;

const PURCHASE_TOPICS: ReadonlySet<string> = new Set(SHOPIFY_TOPICS);

/**
 * `financial_status` values at `orders/create` that make the order a purchase: paid, or the
 * payment authorized at checkout. A pending order (bank transfer, cash on delivery) waits
 * for its `orders/paid`.
 */
const PAID_AT_CHECKOUT = new Set(["paid", "partially_paid", "authorized"]);

function lineItems(order: ShopifyOrder): NativeInput["items"] {
  const items = (order.line_items ?? []).flatMap((line) => {
    const id = line.product_id ?? line.variant_id ?? line.sku ?? line.id;
    if (id === undefined) return [];
    return [defined({
      id,
      quantity: line.quantity,
      price: line.price ?? undefined,
      variant_id: line.variant_id,
      sku: line.sku,
      name: line.title,
    })];
  });
  return items.length ? items : undefined;
}

/** The shop's storefront origin: the order status page's, else the myshopify domain's. */
function storefrontOf(order: ShopifyOrder, headers: Headers): string | undefined {
  const domain = headers.get("x-shopify-shop-domain")?.trim();
  return originOf(order.order_status_url) ?? originOf(domain ? `https://${domain}` : undefined);
}

function purchase(order: ShopifyOrder, topic: string, headers: Headers): NativeInput {
  const place = order.billing_address ?? order.shipping_address ??
    order.customer?.default_address ?? undefined;
  const carried = carriedIds((order.note_attributes ?? []).map((a) => [a.name, a.value]));
  const storefront = storefrontOf(order, headers);
  const inStore = order.source_name === "pos";
  const landing = httpUrl(order.landing_site, storefront) ??
    (storefront ? `${storefront}/` : undefined);
  return defined({
    event_id: order.id,
    event_name: "purchase",
    event_time: order.created_at,
    source: "shopify",
    action_source: inStore ? "physical_store" : "website",
    order_id: order.id,
    value: order.total_price,
    currency: order.currency,
    user_data: defined({
      email: order.email ?? order.contact_email ?? order.customer?.email,
      phone: order.phone ?? place?.phone ?? order.customer?.phone,
      first_name: place?.first_name ?? order.customer?.first_name,
      last_name: place?.last_name ?? order.customer?.last_name,
      city: place?.city,
      state: place?.province_code,
      zip: place?.zip,
      country: place?.country_code,
      customer_id: order.customer?.id,
      client_ip: order.browser_ip ?? order.client_details?.browser_ip,
      user_agent: order.client_details?.user_agent,
      anonymous_id: carried.anonymous_id,
      browser_ids: Object.keys(carried.browser_ids).length ? carried.browser_ids : undefined,
      click_ids: Object.keys(carried.click_ids).length ? carried.click_ids : undefined,
    }),
    items: lineItems(order),
    page: inStore || !landing ? undefined : defined({
      url: landing,
      referrer: httpUrl(order.referring_site),
    }),
    properties: defined({
      order_name: order.name,
      financial_status: order.financial_status,
      shopify_topic: topic,
      webhook_id: headers.get("x-shopify-webhook-id")?.trim() || undefined,
      shop_domain: headers.get("x-shopify-shop-domain")?.trim() || undefined,
      test: order.test === true ? true : undefined,
    }),
  });
}

/** Maps `orders/create` (paid or authorized at checkout) and `orders/paid` to a purchase. */
function toEvents(payload: unknown, headers: Headers): SourceMapping {
  const topic = headers.get("x-shopify-topic")?.trim();
  if (!topic) {
    return { kind: "ignored", reason: "No X-Shopify-Topic header: not an order webhook" };
  }
  if (!PURCHASE_TOPICS.has(topic)) {
    return {
      kind: "ignored",
      reason: `Topic "${topic}" is not mapped; purchases come from ${SHOPIFY_TOPICS.join(" and ")}`,
    };
  }
  const parsed = orderSchema.safeParse(payload);
  if (!parsed.success) return { kind: "invalid", errors: payloadErrors(parsed.error) };
  const order = parsed.data;
  if (order.cancelled_at) {
    return { kind: "ignored", reason: `Order ${order.id} was cancelled at ${order.cancelled_at}` };
  }
  const status = order.financial_status ?? "(none)";
  if (topic === "orders/create" && !PAID_AT_CHECKOUT.has(status)) {
    return {
      kind: "ignored",
      reason:
        `Order ${order.id} has financial_status "${status}": not paid at checkout, so its orders/paid webhook becomes the purchase`,
    };
  }
  return { kind: "purchase", event: purchase(order, topic, headers) };
}

/** Shopify: `orders/create` and `orders/paid` webhooks. */
export const shopify = {
  id: "shopify",
  label: "Shopify",
  signatureHeader: "X-Shopify-Hmac-Sha256",
  verify(rawBody, headers, secret) {
    return verifyBodyHmac(rawBody, headers, secret, "X-Shopify-Hmac-Sha256");
  },
  toEvents,
  secretProblem() {
    return undefined;
  },
  isPing() {
    return false;
  },
} satisfies SourcePlatform;

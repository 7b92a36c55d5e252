/**
 * WooCommerce order webhooks (`order.created`, `order.updated`) as purchases, once the
 * order is paid.
 *
 * Signature: `X-WC-Webhook-Signature`, the base64 HMAC-SHA256 of the raw body under the
 * webhook's secret. The body is the REST API v3 order.
 * https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
 * https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties
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
  payloadErrors,
} from "./_order_fields.ts";
import { verifyBodyHmac } from "./_signature.ts";
import type { NativeInput, SourceMapping, SourcePlatform } from "./types.ts";

const billing = z.looseObject({
  first_name: optionalText,
  last_name: optionalText,
  email: optionalText,
  phone: optionalText,
  city: optionalText,
  state: optionalText,
  postcode: optionalText,
  country: optionalText,
});

const metaData = z.array(z.looseObject({ key: z.string(), value: z.unknown() })).nullish();

/** The fields of a WooCommerce order that Sluice reads; the rest is left alone. */
const orderSchema = z.looseObject({
  id: idText,
  number: optionalText,
  status: z.string(),
  currency: z.string(),
  total: decimalAmount,
  date_created_gmt: z.string(),
  customer_id: optionalNumber,
  customer_ip_address: customerIp,
  customer_user_agent: optionalText,
  payment_method: optionalText,
  billing: billing.nullish(),
  shipping: billing.nullish(),
  meta_data: metaData,
  line_items: z.array(z.looseObject({
    product_id: optionalText,
    variation_id: optionalText,
    sku: optionalText,
    name: optionalText,
    quantity: optionalNumber,
    price: decimalAmount.nullish(),
  })).nullish(),
});

type WooOrder = z.output<typeof orderSchema>;

/** The topics that become purchases. */
const WOOCOMMERCE_TOPICS = ["order.created", "order.updated"] as const;

const PURCHASE_TOPICS: ReadonlySet<string> = new Set(WOOCOMMERCE_TOPICS);

/**
 * Statuses of a paid order: `processing` (paid, awaiting fulfilment) and `completed`.
 * `pending`, `on-hold` (awaiting a bank transfer or cheque), `failed`, `cancelled`,
 * `refunded` and drafts are not purchases; the update that moves the order to
 * `processing` is.
 */
const PAID_STATUSES = new Set(["processing", "completed"]);

/** Order attribution (WooCommerce 8.5+) keeps the visit's first page and referrer as order meta. */
const SESSION_ENTRY = "_wc_order_attribution_session_entry";
const SESSION_REFERRER = "_wc_order_attribution_referrer";

/** A GMT date-time without a zone, as WooCommerce writes it, marked as UTC. */
function gmt(dateTime: string): string {
  return /(Z|[+-]\d{2}:?\d{2})$/i.test(dateTime) ? dateTime : `${dateTime}Z`;
}

function lineItems(order: WooOrder): NativeInput["items"] {
  const items = (order.line_items ?? []).flatMap((line) => {
    const id = line.product_id ?? line.sku;
    if (id === undefined) return [];
    return [defined({
      id,
      quantity: line.quantity,
      price: line.price ?? undefined,
      variant_id: line.variation_id === "0" ? undefined : line.variation_id,
      sku: line.sku,
      name: line.name,
    })];
  });
  return items.length ? items : undefined;
}

function purchase(order: WooOrder, topic: string, headers: Headers): NativeInput {
  const meta = order.meta_data ?? [];
  const carried = carriedIds(meta.map((m) => [m.key, m.value]));
  const metaText = (key: string) => {
    const value = meta.find((m) => m.key === key)?.value;
    return typeof value === "string" ? value : undefined;
  };
  const person = order.billing ?? order.shipping ?? undefined;
  const site = httpUrl(headers.get("x-wc-webhook-source")?.trim());
  const landing = httpUrl(metaText(SESSION_ENTRY)) ?? site;
  return defined({
    event_id: order.id,
    event_name: "purchase",
    event_time: gmt(order.date_created_gmt),
    source: "woocommerce",
    action_source: "website",
    order_id: order.id,
    value: order.total,
    currency: order.currency,
    user_data: defined({
      email: order.billing?.email,
      phone: order.billing?.phone ?? order.shipping?.phone,
      first_name: person?.first_name,
      last_name: person?.last_name,
      city: person?.city,
      state: person?.state,
      zip: person?.postcode,
      country: person?.country,
      customer_id: order.customer_id ? String(order.customer_id) : undefined,
      client_ip: order.customer_ip_address,
      user_agent: order.customer_user_agent,
      anonymous_id: carried.anonymous_id,
      browser_ids: Object.keys(carried.browser_ids).length ? carried.browser_ids : undefined,
      click_ids: Object.keys(carried.click_ids).length ? carried.click_ids : undefined,
    }),
    items: lineItems(order),
    page: landing
      ? defined({ url: landing, referrer: httpUrl(metaText(SESSION_REFERRER)) })
      : undefined,
    properties: defined({
      order_number: order.number,
      status: order.status,
      payment_method: order.payment_method,
      woocommerce_topic: topic,
      webhook_id: headers.get("x-wc-webhook-id")?.trim() || undefined,
      delivery_id: headers.get("x-wc-webhook-delivery-id")?.trim() || undefined,
    }),
  });
}

/** Maps `order.created` and `order.updated` of a paid order (`processing`, `completed`) to a purchase. */
function toEvents(payload: unknown, headers: Headers): SourceMapping {
  const topic = headers.get("x-wc-webhook-topic")?.trim();
  if (!topic) {
    return { kind: "ignored", reason: "No X-WC-Webhook-Topic header: not an order webhook" };
  }
  if (!PURCHASE_TOPICS.has(topic)) {
    return {
      kind: "ignored",
      reason: `Topic "${topic}" is not mapped; purchases come from ${
        WOOCOMMERCE_TOPICS.join(" and ")
      }`,
    };
  }
  if (typeof payload === "object" && payload !== null && "order" in payload && !("id" in payload)) {
    return {
      kind: "invalid",
      errors: [{
        path: "order",
        message:
          'is the legacy API format; set the webhook\'s API version to "WP REST API Integration v3"',
      }],
    };
  }
  const parsed = orderSchema.safeParse(payload);
  if (!parsed.success) return { kind: "invalid", errors: payloadErrors(parsed.error) };
  const order = parsed.data;
  if (!PAID_STATUSES.has(order.status)) {
    return {
      kind: "ignored",
      reason:
        `Order ${order.id} has status "${order.status}": not paid yet; the update that moves it to processing becomes the purchase`,
    };
  }
  return { kind: "purchase", event: purchase(order, topic, headers) };
}

/** WooCommerce's ping when a webhook is saved: `webhook_id=<id>`, unsigned. */
const PING = /^webhook_id=\d+$/;
const utf8 = new TextDecoder();

/** WooCommerce: `order.created` and `order.updated` webhooks. */
export const woocommerce = {
  id: "woocommerce",
  label: "WooCommerce",
  signatureHeader: "X-WC-Webhook-Signature",
  verify(rawBody, headers, secret) {
    return verifyBodyHmac(rawBody, headers, secret, "X-WC-Webhook-Signature");
  },
  toEvents,
  secretProblem() {
    return undefined;
  },
  isPing(rawBody, headers) {
    return !headers.has("x-wc-webhook-signature") && rawBody.byteLength <= 64 &&
      PING.test(utf8.decode(rawBody).trim());
  },
} satisfies SourcePlatform;

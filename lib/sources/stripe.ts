/**
 * Stripe payments (`checkout.session.completed`, `checkout.session.async_payment_succeeded`,
 * `payment_intent.succeeded`) as purchases.
 *
 * Signature: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the
 * HMAC-SHA256 of `<t>.<raw body>` under the endpoint's signing secret (`whsec_…`); any
 * matching v1 is enough (Stripe signs with the old and the new secret while one is rolled),
 * and the timestamp must be within 5 minutes of now.
 * https://docs.stripe.com/webhooks#verify-manually
 *
 * Amounts are in the currency's minor unit. https://docs.stripe.com/currencies#minor-units
 *
 * @module
 */
import { z } from "zod";
import { constantTimeEqual } from "../crypto.ts";
import { carriedIds } from "./_carried_ids.ts";
import { defined, httpUrl, optionalText, payloadErrors, splitName } from "./_order_fields.ts";
import { hmacSha256 } from "./_signature.ts";
import type { NativeInput, SourceMapping, SourcePlatform, Verification } from "./types.ts";

/** How far a signature's timestamp may be from now: Stripe's libraries' default, 300 s. */
export const STRIPE_TOLERANCE_S = 300;

/** Currencies whose amounts have no minor unit in the API. https://docs.stripe.com/currencies#zero-decimal */
const ZERO_DECIMAL = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "JPY",
  "KMF",
  "KRW",
  "MGA",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
]);

/** Currencies with three decimals in the API. https://docs.stripe.com/currencies#three-decimal */
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

/**
 * An amount in a currency's minor unit as a decimal value: ¥500 is 500, $10.00 is 1000,
 * 5.120 KWD is 5120. Every other currency has two decimals in Stripe's API, ISK, HUF and
 * TWD included (Stripe keeps them two-decimal for compatibility).
 */
export function fromMinorUnits(amount: number, currency: string): number {
  const code = currency.toUpperCase();
  const exponent = ZERO_DECIMAL.has(code) ? 0 : THREE_DECIMAL.has(code) ? 3 : 2;
  return amount / 10 ** exponent;
}

const stripeAddress = z.looseObject({
  city: optionalText,
  state: optionalText,
  postal_code: optionalText,
  country: optionalText,
}).nullish();

const contact = z.looseObject({
  email: optionalText,
  phone: optionalText,
  name: optionalText,
  address: stripeAddress,
}).nullish();

const metadata = z.record(z.string(), z.unknown()).nullish();

/** A Checkout Session, as `checkout.session.*` events carry it. */
const sessionSchema = z.looseObject({
  object: z.literal("checkout.session"),
  id: z.string(),
  mode: optionalText,
  payment_status: z.string(),
  amount_total: z.number().int().nullish(),
  currency: optionalText,
  payment_intent: optionalText,
  customer: optionalText,
  customer_email: optionalText,
  customer_details: contact,
  client_reference_id: optionalText,
  success_url: optionalText,
  metadata,
});

/** A PaymentIntent, as `payment_intent.*` events carry it. */
const paymentIntentSchema = z.looseObject({
  object: z.literal("payment_intent"),
  id: z.string(),
  amount: z.number().int(),
  amount_received: z.number().int().nullish(),
  currency: z.string(),
  customer: optionalText,
  receipt_email: optionalText,
  shipping: contact,
  metadata,
  charges: z.looseObject({
    data: z.array(z.looseObject({ billing_details: contact })).nullish(),
  }).nullish(),
});

/** The event envelope. https://docs.stripe.com/api/events/object */
const eventSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  created: z.number().int(),
  livemode: z.boolean().nullish(),
  data: z.looseObject({ object: z.unknown() }),
});

type StripeEvent = z.output<typeof eventSchema>;
type Contact = z.output<typeof contact>;

/** The event types that become purchases. */
const STRIPE_EVENT_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "payment_intent.succeeded",
] as const;

/** A Checkout Session's payment statuses that are purchases (`unpaid` waits for async_payment_succeeded). */
const PAID_SESSION = new Set(["paid", "no_payment_required"]);

interface Payment {
  /** The PaymentIntent's id, else the object's own. */
  paymentId: string;
  amount: number;
  currency: string;
  metadata: Record<string, unknown>;
  email?: string;
  contacts: Contact[];
  customerId?: string;
  pageUrl?: string;
  properties: Record<string, unknown>;
}

/** Whether a contact has an address Sluice reads (charges of some API versions carry an empty one). */
function hasAddress(contact: Contact): boolean {
  const address = contact?.address;
  return [address?.city, address?.state, address?.postal_code, address?.country]
    .some((value) => value !== undefined);
}

function purchase(event: StripeEvent, payment: Payment): NativeInput {
  const carried = carriedIds(Object.entries(payment.metadata));
  const named = payment.contacts.find((c) => c?.name);
  const address = payment.contacts.find(hasAddress)?.address ?? undefined;
  const orderId = carried.order_id ?? payment.paymentId;
  const pageUrl = httpUrl(carried.page_url) ?? payment.pageUrl;
  return defined({
    event_id: carried.event_id ?? orderId,
    event_name: "purchase",
    event_time: event.created,
    source: "stripe",
    action_source: "website",
    order_id: orderId,
    value: fromMinorUnits(payment.amount, payment.currency),
    currency: payment.currency.toUpperCase(),
    user_data: defined({
      email: payment.email ?? payment.contacts.find((c) => c?.email)?.email,
      phone: payment.contacts.find((c) => c?.phone)?.phone,
      ...splitName(named?.name),
      city: address?.city,
      state: address?.state,
      zip: address?.postal_code,
      country: address?.country,
      customer_id: payment.customerId,
      anonymous_id: carried.anonymous_id,
      browser_ids: Object.keys(carried.browser_ids).length ? carried.browser_ids : undefined,
      click_ids: Object.keys(carried.click_ids).length ? carried.click_ids : undefined,
    }),
    page: pageUrl ? { url: pageUrl } : undefined,
    properties: defined({
      stripe_event_id: event.id,
      stripe_event_type: event.type,
      ...payment.properties,
      test: event.livemode === false ? true : undefined,
    }),
  });
}

/** A page URL without its query and fragment (a success URL's `{CHECKOUT_SESSION_ID}`). */
function pageOf(url: string | undefined): string | undefined {
  const page = httpUrl(url);
  if (page === undefined) return undefined;
  const { origin, pathname } = new URL(page);
  return origin + pathname;
}

function fromSession(event: StripeEvent): SourceMapping {
  const parsed = sessionSchema.safeParse(event.data.object);
  if (!parsed.success) return invalid(parsed.error);
  const session = parsed.data;
  if (session.mode === "setup") {
    return {
      kind: "ignored",
      reason: `Checkout Session ${session.id} is in setup mode: no payment`,
    };
  }
  if (!PAID_SESSION.has(session.payment_status)) {
    return {
      kind: "ignored",
      reason:
        `Checkout Session ${session.id} has payment_status "${session.payment_status}": checkout.session.async_payment_succeeded becomes the purchase`,
    };
  }
  if (typeof session.amount_total !== "number" || session.currency === undefined) {
    return {
      kind: "invalid",
      errors: [{
        path: `data.object.${session.currency === undefined ? "currency" : "amount_total"}`,
        message: "is required for a paid Checkout Session",
      }],
    };
  }
  return {
    kind: "purchase",
    event: purchase(event, {
      paymentId: session.payment_intent ?? session.id,
      amount: session.amount_total,
      currency: session.currency,
      metadata: session.metadata ?? {},
      email: session.customer_details?.email ?? session.customer_email,
      contacts: [session.customer_details],
      customerId: session.customer,
      pageUrl: pageOf(session.success_url),
      properties: defined({
        checkout_session_id: session.id,
        client_reference_id: session.client_reference_id,
      }),
    }),
  };
}

function fromPaymentIntent(event: StripeEvent): SourceMapping {
  const parsed = paymentIntentSchema.safeParse(event.data.object);
  if (!parsed.success) return invalid(parsed.error);
  const intent = parsed.data;
  return {
    kind: "purchase",
    event: purchase(event, {
      paymentId: intent.id,
      amount: intent.amount_received ?? intent.amount,
      currency: intent.currency,
      metadata: intent.metadata ?? {},
      email: intent.receipt_email,
      contacts: [
        ...(intent.charges?.data ?? []).map((charge) => charge.billing_details),
        intent.shipping,
      ],
      customerId: intent.customer,
      properties: {},
    }),
  };
}

function invalid(error: z.ZodError): SourceMapping {
  return {
    kind: "invalid",
    errors: payloadErrors(error).map((e) => ({
      ...e,
      path: ["data.object", e.path].filter(Boolean).join("."),
    })),
  };
}

/** Maps paid Checkout Sessions and succeeded PaymentIntents to a purchase. */
function toEvents(payload: unknown): SourceMapping {
  const parsed = eventSchema.safeParse(payload);
  if (!parsed.success) return { kind: "invalid", errors: payloadErrors(parsed.error) };
  const event = parsed.data;
  if (event.type === "payment_intent.succeeded") return fromPaymentIntent(event);
  if (
    event.type === "checkout.session.completed" ||
    event.type === "checkout.session.async_payment_succeeded"
  ) return fromSession(event);
  return {
    kind: "ignored",
    reason: `Event type "${event.type}" is not mapped; purchases come from ${
      STRIPE_EVENT_TYPES.join(", ")
    }`,
  };
}

/** The `t=` timestamp and every `v1=` signature of a `Stripe-Signature` header. */
function signatureParts(header: string): { timestamp?: number; signatures: string[] } {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === "t" && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === "v1" && value) signatures.push(value);
  }
  return { timestamp, signatures };
}

function verify(rawBody: Uint8Array, headers: Headers, secret: string, now: number): Verification {
  const header = headers.get("stripe-signature");
  if (!header) return { ok: false, reason: "The Stripe-Signature header is missing" };
  const { timestamp, signatures } = signatureParts(header);
  if (timestamp === undefined) {
    return { ok: false, reason: "Stripe-Signature has no t=<unix seconds> timestamp" };
  }
  if (signatures.length === 0) {
    return { ok: false, reason: "Stripe-Signature has no v1= signature" };
  }
  const expected = hmacSha256(secret, [`${timestamp}.`, rawBody], "hex");
  // Every candidate is compared, so the time taken does not say which one matched.
  const matched = signatures.map((s) => constantTimeEqual(expected, s)).includes(true);
  if (!matched) {
    return {
      ok: false,
      reason:
        "No v1 signature in Stripe-Signature matches the body: it was not signed with this source's signing secret",
    };
  }
  const age = Math.round(now / 1000) - timestamp;
  if (Math.abs(age) > STRIPE_TOLERANCE_S) {
    return {
      ok: false,
      reason:
        `Stripe-Signature's timestamp is ${age} s from now; at most ${STRIPE_TOLERANCE_S} s is accepted (a replayed or delayed delivery)`,
    };
  }
  return { ok: true };
}

/** Stripe: paid Checkout Sessions and succeeded PaymentIntents. */
export const stripe = {
  id: "stripe",
  label: "Stripe",
  signatureHeader: "Stripe-Signature",
  verify,
  toEvents,
  secretProblem(secret) {
    return secret.startsWith("whsec_")
      ? undefined
      : "must be the endpoint's signing secret, which starts with whsec_ (Developers → Webhooks → the endpoint → Signing secret)";
  },
  isPing() {
    return false;
  },
} satisfies SourcePlatform;

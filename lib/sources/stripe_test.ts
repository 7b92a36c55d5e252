import assert from "node:assert/strict";
import { stripeSignature } from "../../tests/_signing.ts";
import { fromMinorUnits, stripe as stripeSource, STRIPE_TOLERANCE_S } from "./stripe.ts";
import type { NativeInput, SourceMapping, SourcePlatform } from "./types.ts";

/** Through the contract, as the ingest route calls it. */
const stripe: SourcePlatform = stripeSource;

const encoder = new TextEncoder();
const SECRET = "whsec_test_secret_0123456789";
const BODY_TEXT = '{"id":"evt_1","type":"payment_intent.succeeded"}';
const BODY = encoder.encode(BODY_TEXT);
const T = 1_700_000_000;
const NOW = T * 1000;
/** `printf '%s' "T.BODY" | openssl dgst -sha256 -hmac SECRET` */
const OPENSSL_V1 = "59a90dff743f748f8d6083812e877d28ff9bfa61e3dc6089626fd31f3ebb8a95";

const signed = (value: string) => new Headers({ "stripe-signature": value });

Deno.test("stripe.verify() accepts the hex HMAC-SHA256 of `t.body` (openssl and Web Crypto vectors)", async () => {
  assert.equal(await stripeSignature(SECRET, BODY_TEXT, T), `t=${T},v1=${OPENSSL_V1}`);
  assert.deepEqual(stripe.verify(BODY, signed(`t=${T},v1=${OPENSSL_V1}`), SECRET, NOW), {
    ok: true,
  });
});

Deno.test("stripe.verify() accepts any matching v1 among several, and ignores v0", () => {
  const header = `t=${T},v1=${"0".repeat(64)},v0=${"1".repeat(64)},v1=${OPENSSL_V1}`;
  assert.deepEqual(stripe.verify(BODY, signed(header), SECRET, NOW), { ok: true });
  assert.equal(stripe.verify(BODY, signed(`t=${T},v0=${OPENSSL_V1}`), SECRET, NOW).ok, false);
});

Deno.test("stripe.verify() refuses a timestamp more than 5 minutes from now, either way", () => {
  const header = signed(`t=${T},v1=${OPENSSL_V1}`);
  const edge = STRIPE_TOLERANCE_S * 1000;
  assert.equal(stripe.verify(BODY, header, SECRET, NOW + edge).ok, true);
  assert.equal(stripe.verify(BODY, header, SECRET, NOW - edge).ok, true);
  for (const now of [NOW + edge + 1000, NOW - edge - 1000, NOW + 86_400_000]) {
    const result = stripe.verify(BODY, header, SECRET, now);
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.reason, /timestamp/);
  }
});

Deno.test("stripe.verify() refuses a tampered body, another secret, a moved timestamp and broken headers", () => {
  const cases: [Uint8Array, Headers, string][] = [
    [
      encoder.encode(BODY_TEXT.replace("evt_1", "evt_2")),
      signed(`t=${T},v1=${OPENSSL_V1}`),
      SECRET,
    ],
    [BODY, signed(`t=${T},v1=${OPENSSL_V1}`), "whsec_another_secret"],
    [BODY, signed(`t=${T + 1},v1=${OPENSSL_V1}`), SECRET],
    [BODY, signed(`v1=${OPENSSL_V1}`), SECRET],
    [BODY, signed(`t=${T}`), SECRET],
    [BODY, signed("garbage"), SECRET],
    [BODY, new Headers(), SECRET],
  ];
  for (const [body, headers, secret] of cases) {
    const result = stripe.verify(body, headers, secret, NOW + 1000);
    assert.equal(result.ok, false, headers.get("stripe-signature") ?? "(none)");
    assert.match(result.ok ? "" : result.reason, /Stripe-Signature/);
  }
});

Deno.test("fromMinorUnits() divides by the currency's exponent: 0 for JPY/KRW, 3 for KWD/BHD, else 2", () => {
  assert.equal(fromMinorUnits(500, "jpy"), 500);
  assert.equal(fromMinorUnits(12_000, "KRW"), 12_000);
  assert.equal(fromMinorUnits(5120, "kwd"), 5.12);
  assert.equal(fromMinorUnits(1005, "bhd"), 1.005);
  assert.equal(fromMinorUnits(2198, "usd"), 21.98);
  assert.equal(fromMinorUnits(1000, "eur"), 10);
  // Stripe keeps ISK and HUF two-decimal in its API.
  assert.equal(fromMinorUnits(50_000, "isk"), 500);
  assert.equal(fromMinorUnits(50_000, "huf"), 500);
});

function event(type: string, object: Record<string, unknown>, livemode = true) {
  return { id: "evt_9", object: "event", type, created: T, livemode, data: { object } };
}

const SESSION = {
  object: "checkout.session",
  id: "cs_test_1",
  mode: "payment",
  payment_status: "paid",
  amount_total: 2198,
  currency: "eur",
  payment_intent: "pi_123",
  customer_details: { email: "ada@example.com", name: "Ada King Lovelace", phone: null },
  success_url: "https://shop.example/thanks?session_id={CHECKOUT_SESSION_ID}",
  metadata: {},
};

function purchaseOf(mapping: SourceMapping): NativeInput {
  assert.equal(mapping.kind, "purchase", JSON.stringify(mapping));
  return mapping.kind === "purchase" ? mapping.event : { event_name: "" };
}

Deno.test("stripe.toEvents() keys a paid session by its PaymentIntent, so payment_intent.succeeded is the same purchase", () => {
  const fromSession = purchaseOf(
    stripe.toEvents(event("checkout.session.completed", SESSION), new Headers()),
  );
  assert.equal(fromSession.event_id, "pi_123");
  assert.equal(fromSession.order_id, "pi_123");
  assert.equal(fromSession.value, 21.98);
  assert.equal(fromSession.currency, "EUR");
  assert.equal(fromSession.event_time, T);
  assert.deepEqual(fromSession.page, { url: "https://shop.example/thanks" });
  assert.equal(fromSession.user_data?.first_name, "Ada");
  assert.equal(fromSession.user_data?.last_name, "King Lovelace");
  const fromIntent = purchaseOf(stripe.toEvents(
    event("payment_intent.succeeded", {
      object: "payment_intent",
      id: "pi_123",
      amount: 2198,
      amount_received: 2198,
      currency: "eur",
      metadata: {},
    }),
    new Headers(),
  ));
  assert.equal(fromIntent.event_id, fromSession.event_id);
});

Deno.test("stripe.toEvents() takes the dedup key from metadata event_id, then order_id", () => {
  const withOrder = { ...SESSION, metadata: { order_id: "1001" } };
  const byOrder = purchaseOf(
    stripe.toEvents(event("checkout.session.completed", withOrder), new Headers()),
  );
  assert.equal(byOrder.event_id, "1001");
  assert.equal(byOrder.order_id, "1001");
  const withEvent = { ...SESSION, metadata: { order_id: "1001", event_id: "purchase-1001" } };
  const byEvent = purchaseOf(
    stripe.toEvents(event("checkout.session.completed", withEvent), new Headers()),
  );
  assert.equal(byEvent.event_id, "purchase-1001");
  assert.equal(byEvent.order_id, "1001");
});

Deno.test("stripe.toEvents() waits for async_payment_succeeded when a session is unpaid", () => {
  const unpaid = { ...SESSION, payment_status: "unpaid" };
  assert.equal(
    stripe.toEvents(event("checkout.session.completed", unpaid), new Headers()).kind,
    "ignored",
  );
  const later = stripe.toEvents(
    event("checkout.session.async_payment_succeeded", SESSION),
    new Headers(),
  );
  assert.equal(purchaseOf(later).event_id, "pi_123");
});

Deno.test("stripe.toEvents() marks test-mode events and ignores other event types", () => {
  const test = purchaseOf(
    stripe.toEvents(event("checkout.session.completed", SESSION, false), new Headers()),
  );
  assert.equal(test.properties?.test, true);
  for (const type of ["payment_intent.created", "charge.succeeded", "checkout.session.expired"]) {
    assert.equal(stripe.toEvents(event(type, SESSION), new Headers()).kind, "ignored", type);
  }
});

Deno.test("stripe.toEvents() names what a paid session or an event lacks", () => {
  const { amount_total: _a, ...noAmount } = SESSION;
  const mapped = stripe.toEvents(event("checkout.session.completed", noAmount), new Headers());
  assert.deepEqual(mapped.kind === "invalid" ? mapped.errors.map((e) => e.path) : [], [
    "data.object.amount_total",
  ]);
  const noType = stripe.toEvents({ id: "evt_1", created: T, data: { object: {} } }, new Headers());
  assert.deepEqual(noType.kind === "invalid" ? noType.errors.map((e) => e.path) : [], ["type"]);
  const wrongObject = stripe.toEvents(
    event("payment_intent.succeeded", { object: "charge", id: "ch_1" }),
    new Headers(),
  );
  assert.equal(wrongObject.kind, "invalid");
  assert.ok(
    wrongObject.kind === "invalid" &&
      wrongObject.errors.every((e) => e.path.startsWith("data.object.")),
  );
});

Deno.test("stripe.secretProblem() asks for the endpoint's whsec_ secret", () => {
  assert.equal(stripe.secretProblem("whsec_abc123"), undefined);
  assert.match(stripe.secretProblem("sk_live_abc123") ?? "", /whsec_/);
});

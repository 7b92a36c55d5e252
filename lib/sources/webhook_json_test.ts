import assert from "node:assert/strict";
import { parseWebhookJson } from "./webhook_json.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("parseWebhookJson() keeps integers past 2^53 as their exact digits", () => {
  const parsed = parseWebhookJson(
    bytes('{"id":820982911946154508,"n":-9007199254740993,"small":632910392,"price":"199.00"}'),
  );
  assert.deepEqual(parsed, {
    id: "820982911946154508",
    n: "-9007199254740993",
    small: 632910392,
    price: "199.00",
  });
});

Deno.test("parseWebhookJson() leaves decimals and exponents to JSON.parse", () => {
  assert.deepEqual(parseWebhookJson(bytes("[1.5, 1e21, 12345678901234567890.5]")), [
    1.5,
    1e21,
    12345678901234567890.5,
  ]);
});

Deno.test("parseWebhookJson() throws on invalid JSON and invalid UTF-8", () => {
  assert.throws(() => parseWebhookJson(bytes("{")), SyntaxError);
  assert.throws(() => parseWebhookJson(new Uint8Array([0x7b, 0xff, 0x7d])), TypeError);
});

import assert from "node:assert/strict";
import { duplicatePair, fieldLabel, rejectionExample } from "./ingest_counts.ts";

Deno.test("duplicatePair() names a pair only when the copies came from different sides", () => {
  assert.equal(duplicatePair("browser", { dialect: "native" }), "event_id|browser>server");
  assert.equal(duplicatePair("server", { dialect: "collect" }), "event_id|server>browser");
  assert.equal(duplicatePair("server", { dialect: "segment" }), undefined);
  assert.equal(duplicatePair(undefined, { dialect: "browser" }), undefined);
});

Deno.test("fieldLabel() drops batch positions and indexes, and keeps a bounded alphabet", () => {
  assert.equal(fieldLabel("events.3.user_data.email"), "user_data.email");
  assert.equal(fieldLabel("batch.0.items.12.price"), "items.price");
  assert.equal(fieldLabel("currency"), "currency");
  assert.equal(fieldLabel(""), "(body)");
  assert.equal(fieldLabel("properties.Ümlaut key!").length <= 60, true);
});

Deno.test("rejectionExample() keeps a hashed event id and a redacted message", () => {
  const { key, field, example } = rejectionExample("ws", "order-1", {
    path: "events.0.user_data.email",
    message: 'must be an e-mail address; "ada@example" is not one',
  }, 5);
  assert.deepEqual(key, ["an_ex", "ws", "ingest", "user_data.email"]);
  assert.equal(field, "user_data.email");
  assert.equal(example.at, 5);
  assert.match(example.event_id_sha256 ?? "", /^[0-9a-f]{16}$/);
  assert.ok(!example.detail.includes("ada@example"));
});

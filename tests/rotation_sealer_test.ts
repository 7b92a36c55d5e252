import assert from "node:assert/strict";
import { acceptPreviousSecrets, Sealer, secretFingerprint } from "../lib/crypto.ts";

const OLD = "sealer-old-secret-0123456789abcdef";
const NEW = "sealer-new-secret-0123456789abcdef";
const OTHER = "sealer-other-secret-0123456789abcd";

Deno.test("Sealer opens values of its previous secrets and seals under the current one only", () => {
  const old = new Sealer(OLD, "test", []);
  const rotating = new Sealer(NEW, "test", [OLD]);
  const onlyNew = new Sealer(NEW, "test", []);
  const sealedOld = old.seal("from before");
  assert.equal(rotating.open(sealedOld), "from before");
  const sealedNew = rotating.seal("from now on");
  assert.equal(onlyNew.open(sealedNew), "from now on");
  assert.throws(() => old.open(sealedNew));
  assert.throws(() => onlyNew.open(sealedOld));
  // Another purpose derives another key.
  assert.throws(() => new Sealer(NEW, "other", [OLD]).open(sealedOld));
});

Deno.test("Sealer.reseal() seals again under the current secret, or answers undefined when it already is", () => {
  const rotating = new Sealer(NEW, "test", [OLD]);
  const onlyNew = new Sealer(NEW, "test", []);
  const again = rotating.reseal(new Sealer(OLD, "test", []).seal("secret"));
  assert.ok(again);
  assert.equal(onlyNew.open(again), "secret");
  assert.equal(rotating.reseal(onlyNew.seal("current")), undefined);
  const bytes = rotating.resealBytes(new Sealer(OLD, "test", []).sealBytes("bytes"));
  assert.equal(onlyNew.openBytes(bytes!), "bytes");
  assert.throws(() => rotating.reseal(new Sealer(OTHER, "test", []).seal("foreign")));
});

Deno.test("acceptPreviousSecrets() lets every Sealer later built from the current secret open the old values", () => {
  const sealedOld = new Sealer(OLD, "store", []).seal("destination token");
  assert.throws(() => new Sealer(NEW, "store").open(sealedOld));
  acceptPreviousSecrets(NEW, [OLD, NEW]);
  try {
    assert.equal(new Sealer(NEW, "store").open(sealedOld), "destination token");
  } finally {
    acceptPreviousSecrets(NEW, []);
  }
  assert.throws(() => new Sealer(NEW, "store").open(sealedOld));
});

Deno.test("secretFingerprint() is 16 hex characters, stable, and differs between secrets", () => {
  assert.match(secretFingerprint(OLD), /^[0-9a-f]{16}$/);
  assert.equal(secretFingerprint(OLD), secretFingerprint(OLD));
  assert.notEqual(secretFingerprint(OLD), secretFingerprint(NEW));
});

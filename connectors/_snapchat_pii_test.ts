import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import { snapExternalId, snapPhone } from "./_snapchat_pii.ts";

Deno.test("snapPhone() follows Snap's documented example: country code, no +", () => {
  assert.equal(snapPhone("+44 844 412 4653"), "448444124653");
  assert.equal(
    sha256Hex(snapPhone("+44 844 412 4653")!),
    "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383",
  );
});

Deno.test("snapPhone() drops 00 and the trunk 0 after the country code, as Snap's SDKs", () => {
  // Snapchat/business-sdk-go capi_hash_test.go: all four hash to the same digest.
  for (
    const raw of ["+44-447-234-2344", "0044-447-234-2344", "+44-0447-234-2344", "+44 0447 234 2344"]
  ) {
    assert.equal(snapPhone(raw), "444472342344", raw);
    assert.equal(
      sha256Hex(snapPhone(raw)!),
      "19f25a18866af88fc60189c3af85010a0b971cf976053787fe21e004538c20a0",
      raw,
    );
  }
});

Deno.test("snapPhone() reads national numbers with the country hint", () => {
  for (const raw of ["447-234-2344", "(447)-234-2344", "447 234-2344", "+1-(447) 234 2344"]) {
    assert.equal(
      sha256Hex(snapPhone(raw, "US")!),
      "34053b331d29734f081bf74160cd33bc2f621b3b6f8ec991500bebf49f14e014",
      raw,
    );
  }
  assert.equal(snapPhone("06 12 34 56 78", "FR"), "33612345678");
  assert.equal(snapPhone("4472342344"), undefined, "ambiguous without a country");
  assert.equal(snapPhone("call me"), undefined);
});

Deno.test("snapExternalId() trims and lowercases", () => {
  assert.equal(snapExternalId(" User-42 "), "user-42");
  assert.equal(snapExternalId("   "), undefined);
});

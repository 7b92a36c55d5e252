import assert from "node:assert/strict";
import { encodeTime } from "ulid";
import { eventKey } from "./kv/keys.ts";
import { firstEventAt, pixelScriptUrl, pixelSnippet } from "./pixel_install.ts";

Deno.test("pixelSnippet() is the documented script tag, attributes escaped", () => {
  assert.equal(pixelScriptUrl("https://sluice.example"), "https://sluice.example/v1/pixel.js");
  assert.equal(
    pixelSnippet("https://sluice.example", "pk_abc"),
    '<script async src="https://sluice.example/v1/pixel.js" data-public-id="pk_abc"></script>',
  );
  assert.equal(
    pixelSnippet("https://a.example", 'pk_"><x>&'),
    '<script async src="https://a.example/v1/pixel.js" ' +
      'data-public-id="pk_&quot;&gt;&lt;x&gt;&amp;"></script>',
  );
});

Deno.test("firstEventAt() answers the oldest stored event's receive time, or null", async () => {
  using kv = await Deno.openKv(":memory:");
  assert.equal(await firstEventAt(kv, "ws_1"), null);
  const t = Date.UTC(2026, 11, 1, 12);
  await kv.set(eventKey("ws_1", `${encodeTime(t + 5_000, 10)}0000000000000000`), new Uint8Array());
  await kv.set(eventKey("ws_1", `${encodeTime(t, 10)}0000000000000000`), new Uint8Array());
  await kv.set(eventKey("ws_0", `${encodeTime(t - 9_000, 10)}0000000000000000`), new Uint8Array());
  assert.equal(await firstEventAt(kv, "ws_1"), t);
  assert.equal(await firstEventAt(kv, "ws_2"), null);
});

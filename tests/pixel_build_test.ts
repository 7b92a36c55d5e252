/**
 * The committed pixel build: built from the current sources, within its size budget as
 * served, and what `deno bundle --minify` makes of the sources today (same Deno).
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  bundlePixel,
  gzipSize,
  type PixelManifest,
  pixelSourcesDigest,
} from "../static/pixel/build.ts";
import { openTestSluice } from "./_harness.ts";

const BUILD = new URL("../static/pixel/build/", import.meta.url);
const BUDGET_GZIP_BYTES = 2048;

async function manifest(): Promise<PixelManifest> {
  return JSON.parse(await Deno.readTextFile(new URL("manifest.json", BUILD)));
}

Deno.test("static/pixel/build/pixel.js was built from the current sources (deno task build:pixel)", async () => {
  assert.equal(
    (await manifest()).sources_sha256,
    await pixelSourcesDigest(),
    "The pixel's sources changed since it was built: run `deno task build:pixel` and commit the build",
  );
});

Deno.test("GET /v1/pixel.js serves at most 2 KB gzipped (level 9)", async () => {
  await using s = await openTestSluice();
  const res = await s.request("/v1/pixel.js");
  assert.equal(res.status, 200);
  const served = new Uint8Array(await res.arrayBuffer());
  const size = gzipSize(served);
  console.log(`pixel.js: ${served.length} bytes, ${size} gzipped (budget ${BUDGET_GZIP_BYTES})`);
  assert.ok(size <= BUDGET_GZIP_BYTES, `${size} bytes gzipped is over the budget`);
  assert.deepEqual(served, await Deno.readFile(new URL("pixel.js", BUILD)));
  const m = await manifest();
  assert.equal(m.bytes, served.length);
  assert.equal(m.gzip_bytes, size);
});

Deno.test({
  name: "deno bundle --minify of the sources gives the committed pixel.js byte for byte",
  // Another Deno may minify differently; the digest test above still holds the sources.
  ignore: await manifest().then((m) => m.deno !== Deno.version.deno),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const fresh = await bundlePixel(`${dir}/pixel.js`);
      assert.deepEqual(fresh, await Deno.readFile(new URL("pixel.js", BUILD)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("GET /v1/pixel.js caches for 5 minutes, revalidates with its ETag and sends gzip when asked", async () => {
  await using s = await openTestSluice();
  const plain = await s.request("/v1/pixel.js");
  const body = new Uint8Array(await plain.arrayBuffer());
  assert.equal(plain.headers.get("cache-control"), "public, max-age=300");
  assert.match(plain.headers.get("content-type") ?? "", /^text\/javascript/);
  assert.equal(plain.headers.get("vary"), "Accept-Encoding");
  const etag = plain.headers.get("etag") ?? "";
  assert.match(etag, /^W\/"[a-f0-9]{32}"$/);

  const zipped = await s.request("/v1/pixel.js", { headers: { "accept-encoding": "gzip, br" } });
  assert.equal(zipped.headers.get("content-encoding"), "gzip");
  assert.equal(zipped.headers.get("etag"), etag);
  assert.deepEqual(new Uint8Array(gunzipSync(new Uint8Array(await zipped.arrayBuffer()))), body);
  const refused = await s.request("/v1/pixel.js", { headers: { "accept-encoding": "gzip;q=0" } });
  assert.equal(refused.headers.get("content-encoding"), null);
  await refused.body?.cancel();

  for (const validator of [etag, etag.slice(2), `"other", ${etag}`]) {
    const again = await s.request("/v1/pixel.js", { headers: { "if-none-match": validator } });
    assert.equal(again.status, 304, validator);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(await again.text(), "");
  }
  const changed = await s.request("/v1/pixel.js", { headers: { "if-none-match": '"old"' } });
  assert.equal(changed.status, 200);
  await changed.body?.cancel();
});

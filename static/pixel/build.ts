/**
 * Builds the pixel: `deno task build:pixel` bundles and minifies static/pixel/pixel.ts with
 * `deno bundle --minify` into static/pixel/build/pixel.js, and records in
 * static/pixel/build/manifest.json the SHA-256 of the sources it was built from (a test
 * fails when the committed build is older than the sources) and its sizes.
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { sha256Hex } from "../../core/digest.ts";

/** The pixel's source files, whose digest the manifest records. */
export const PIXEL_SOURCES = ["pixel.ts", "tracker.ts"] as const;

/** What `build/manifest.json` holds. */
export interface PixelManifest {
  /** SHA-256 hex of the sources, concatenated in {@link PIXEL_SOURCES} order. */
  sources_sha256: string;
  /** The Deno that built it (another may minify differently). */
  deno: string;
  bytes: number;
  gzip_bytes: number;
}

const HERE = new URL("./", import.meta.url);

/** SHA-256 of the pixel's current sources. */
export async function pixelSourcesDigest(dir = HERE): Promise<string> {
  const texts = await Promise.all(PIXEL_SOURCES.map((f) => Deno.readTextFile(new URL(f, dir))));
  return sha256Hex(texts.join("\u0000"));
}

/** Size of bytes gzipped at level 9, as the size budget is measured. */
export function gzipSize(bytes: Uint8Array): number {
  return gzipSync(bytes, { level: 9 }).length;
}

/** Bundles and minifies the pixel into `output`; returns the bundle's bytes. */
export async function bundlePixel(output: string): Promise<Uint8Array> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--platform=browser",
      "--minify",
      "--format=iife",
      "--output",
      output,
      new URL("pixel.ts", HERE).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`Cannot bundle the pixel: ${new TextDecoder().decode(result.stderr)}`);
  }
  return await Deno.readFile(output);
}

/** Builds static/pixel/build/pixel.js and its manifest. */
export async function buildPixel(): Promise<PixelManifest> {
  const out = new URL("build/", HERE);
  await Deno.mkdir(out, { recursive: true });
  const bytes = await bundlePixel(new URL("pixel.js", out).pathname);
  const manifest: PixelManifest = {
    sources_sha256: await pixelSourcesDigest(),
    deno: Deno.version.deno,
    bytes: bytes.length,
    gzip_bytes: gzipSize(bytes),
  };
  await Deno.writeTextFile(new URL("manifest.json", out), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

if (import.meta.main) {
  const manifest = await buildPixel();
  console.log(
    `static/pixel/build/pixel.js: ${manifest.bytes} bytes, ${manifest.gzip_bytes} gzipped`,
  );
}

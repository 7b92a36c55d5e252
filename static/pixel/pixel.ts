/**
 * The pixel's entry: reads its script tag (`data-public-id`, `data-consent`), starts the
 * pixel and replays the calls the snippet's stub queued before it loaded.
 *
 * @module
 */
import { createPixel, type PixelWindow, type SluiceCommand } from "./tracker.ts";

/** The snippet's stub: calls made before the pixel loaded wait in `q`. */
type Stub = SluiceCommand & { q?: ArrayLike<unknown>[]; loaded?: boolean };

/** The browser globals the entry reads, beyond what the pixel itself uses. */
interface BrowserGlobals extends PixelWindow {
  readonly document: PixelWindow["document"] & {
    readonly currentScript: {
      readonly src?: string;
      readonly dataset?: Record<string, string | undefined>;
    } | null;
  };
  sluice?: Stub;
}

// This file is type-checked with the project's Deno types, which have no DOM: the browser's
// global object is described by the interface above.
const page = globalThis as unknown as BrowserGlobals;
const script = page.document.currentScript;
const stub = page.sluice;
const publicId = script?.dataset?.publicId;
if (script?.src && publicId && !stub?.loaded) {
  const sluice: Stub = createPixel(page, {
    // Where the pixel was loaded from, less `/v1/pixel.js`: Sluice may sit under a path.
    base: script.src.split("/v1/pixel.js")[0]!,
    publicId,
    consentRequired: script.dataset?.consent === "required",
  });
  sluice.loaded = true;
  page.sluice = sluice;
  for (const args of stub?.q ?? []) sluice(String(args[0]), args[1], args[2]);
}

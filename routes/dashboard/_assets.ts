/** The dashboard's built files: islands (built once per process when stale) and the stylesheet. */
import { errorText, log } from "../../lib/log.ts";
import { sha256Hex } from "../../core/digest.ts";
import type { PageAssets } from "../../components/island.tsx";
import { ensureIslands } from "../../scripts/build.ts";

/** The stylesheet file. */
export const STYLESHEET = new URL("../../static/dashboard.css", import.meta.url);

let assets: Promise<PageAssets> | undefined;

/**
 * The assets pages link to. The first call builds the islands when their manifest is missing
 * or stale; a failed build is logged and pages are served without islands (they read
 * without JavaScript), and the next call tries again.
 */
export function pageAssets(): Promise<PageAssets> {
  assets ??= (async () => {
    const css = await Deno.readTextFile(STYLESHEET);
    const stylesheet = `/static/dashboard.css?v=${sha256Hex(css).slice(0, 12)}`;
    try {
      return { islands: await ensureIslands(), stylesheet };
    } catch (error) {
      log.error("Cannot build the dashboard islands; pages are served without them", {
        error: errorText(error),
      });
      assets = undefined;
      return { islands: null, stylesheet };
    }
  })();
  return assets;
}

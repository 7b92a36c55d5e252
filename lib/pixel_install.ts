/**
 * What the settings page shows to install the browser pixel: the snippet to paste, and
 * whether any event has arrived yet ("waiting for your first event…").
 *
 * @module
 */
import { decodeTime } from "ulid";
import { eventPrefix } from "./kv/keys.ts";

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  '"': "&quot;",
  "<": "&lt;",
  ">": "&gt;",
};

function attribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}

/** The URL of the pixel script on a Sluice reached at `origin` (no trailing slash). */
export function pixelScriptUrl(origin: string): string {
  return `${origin}/v1/pixel.js`;
}

/** The `<script>` tag that loads the pixel for a workspace's public id. */
export function pixelSnippet(origin: string, publicId: string): string {
  return `<script async src="${attribute(pixelScriptUrl(origin))}" ` +
    `data-public-id="${attribute(publicId)}"></script>`;
}

/**
 * When the oldest event still stored in a workspace was received (epoch ms), or null when
 * none is: one key read, since event keys are ULIDs in time order.
 */
export async function firstEventAt(kv: Deno.Kv, wsId: string): Promise<number | null> {
  for await (const entry of kv.list({ prefix: eventPrefix(wsId) }, { limit: 1 })) {
    return decodeTime(String(entry.key[2]));
  }
  return null;
}

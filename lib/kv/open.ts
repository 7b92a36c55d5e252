import { DEPLOY_KV, isRemoteKv } from "../config.ts";

/**
 * Opens Deno KV at a file path (creating its folder), `:memory:`, a remote KV URL, or, for
 * {@link DEPLOY_KV}, the Deno Deploy app's managed KV (`Deno.openKv()` without a path).
 */
export async function openKv(location: string): Promise<Deno.Kv> {
  if (location === DEPLOY_KV) return await Deno.openKv();
  if (location !== ":memory:" && !isRemoteKv(location)) {
    const folder = location.replace(/[/\\][^/\\]*$/, "");
    if (folder && folder !== location) await Deno.mkdir(folder, { recursive: true });
  }
  return await Deno.openKv(location);
}

import { isRemoteKv } from "../config.ts";

/** Opens Deno KV at a file path (creating its folder), `:memory:`, or a remote KV URL. */
export async function openKv(location: string): Promise<Deno.Kv> {
  if (location !== ":memory:" && !isRemoteKv(location)) {
    const folder = location.replace(/[/\\][^/\\]*$/, "");
    if (folder && folder !== location) await Deno.mkdir(folder, { recursive: true });
  }
  return await Deno.openKv(location);
}

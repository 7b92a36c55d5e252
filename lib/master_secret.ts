import { log } from "./log.ts";
import { isRemoteKv } from "./config.ts";
import { randomBase62 } from "./crypto.ts";

/**
 * The master secret: `SLUICE_SECRET`, or for a local KV file one generated once and kept
 * beside it (with a warning), or for `:memory:` a fresh one per process.
 */
export async function resolveMasterSecret(kvPath: string, configured?: string): Promise<string> {
  if (configured) {
    if (configured.length < 16) throw new Error("SLUICE_SECRET must be at least 16 characters");
    return configured;
  }
  if (kvPath === ":memory:") return randomBase62(43);
  if (isRemoteKv(kvPath)) {
    throw new Error(
      "SLUICE_SECRET is required with a remote KV: every instance needs the same key",
    );
  }
  const file = `${kvPath}.secret`;
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const secret = randomBase62(43);
  await Deno.writeTextFile(file, secret + "\n", { mode: 0o600, createNew: true });
  log.warn(
    `SLUICE_SECRET is not set: generated one and kept it in ${file}. Set SLUICE_SECRET in production and back it up; without it stored secrets and PII cannot be read.`,
  );
  return secret;
}

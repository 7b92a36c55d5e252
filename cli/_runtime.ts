/**
 * Opening the instance from a command: the same configuration as the server (environment,
 * then `.env`), with errors a command reports in one line.
 *
 * @module
 */
import { type Config, configFromEnv, isRemoteKv } from "../lib/config.ts";
import { openRuntime, type Runtime } from "../lib/runtime.ts";
import { CommandError } from "./_args.ts";

/** The configuration; an invalid variable is a {@link CommandError} naming it. */
export function loadConfig(): Config {
  try {
    return configFromEnv();
  } catch (error) {
    throw new CommandError((error as Error).message, "fix the variable in the environment or .env");
  }
}

/** Whether the KV a configuration names exists already (a remote or :memory: KV always does). */
async function kvExists(config: Config): Promise<boolean> {
  if (config.kvPath === ":memory:" || isRemoteKv(config.kvPath)) return true;
  try {
    await Deno.stat(config.kvPath);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Fails unless the KV exists: reading commands must not create an empty one. */
export async function requireKv(config: Config): Promise<void> {
  if (!(await kvExists(config))) {
    throw new CommandError(
      `No KV at ${config.kvPath}`,
      "set SLUICE_KV to the server's KV (the same environment as `deno task start`)",
    );
  }
}

/** Opens the runtime (KV and services) for a command and closes it after `use`. */
export async function withRuntime<T>(
  config: Config,
  use: (rt: Runtime) => Promise<T>,
): Promise<T> {
  let rt: Runtime;
  try {
    rt = await openRuntime(config);
  } catch (error) {
    throw new CommandError(
      `Cannot open ${config.kvPath}: ${(error as Error).message}`,
      "check SLUICE_KV and SLUICE_SECRET",
    );
  }
  try {
    return await use(rt);
  } finally {
    await rt.close();
  }
}

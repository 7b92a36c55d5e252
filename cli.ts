import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { configFromEnv } from "./lib/config.ts";
import { openRuntime } from "./lib/runtime.ts";
import { createWorkspaceSchema, workspaceCreatedJson } from "./routes/api/workspaces.ts";
import { parseDuration } from "./lib/duration.ts";
import { hashNormalized, normalizeEmail } from "./core/pii/mod.ts";

const USAGE = `Usage:
  deno task sluice workspace create --name NAME [--origin URL]...
  deno task sluice token mint --workspace WS_ID --user USER_ID [--ttl 7d] [--email EMAIL] [--show-key]

Uses the same SLUICE_KV and SLUICE_SECRET as the server.`;

/** The `sluice` command line. Returns the process exit code. */
export async function cli(args: string[]): Promise<number> {
  const [group, action, ...rest] = args;
  if (group === "workspace" && action === "create") {
    const { values } = parseArgs({
      args: rest,
      options: { name: { type: "string" }, origin: { type: "string", multiple: true } },
    });
    const parsed = createWorkspaceSchema.safeParse({
      name: values.name,
      allowed_origins: values.origin,
    });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        console.error(
          `--${
            issue.path[0] === "allowed_origins" ? "origin" : String(issue.path[0])
          }: ${issue.message}`,
        );
      }
      console.error(USAGE);
      return 2;
    }
    const rt = await openRuntime(configFromEnv());
    try {
      const created = await rt.workspaces.create(parsed.data);
      console.log(JSON.stringify(workspaceCreatedJson(created), null, 2));
    } finally {
      await rt.close();
    }
    return 0;
  }
  if (group === "token" && action === "mint") return await mintToken(rest);
  console.error(USAGE);
  return 2;
}

/**
 * `token mint`: prints a magic-link token (docs/pixel.md) as JSON; with `--show-key`, also
 * the workspace's link key, with which the customer's server mints its own.
 */
async function mintToken(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      workspace: { type: "string" },
      user: { type: "string" },
      ttl: { type: "string", default: "7d" },
      email: { type: "string" },
      "show-key": { type: "boolean", default: false },
    },
  });
  let ttlMs = NaN;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch { /* reported below */ }
  const emailHash = values.email === undefined
    ? undefined
    : hashNormalized(values.email, normalizeEmail);
  const problems = [
    !values.workspace && "--workspace: the workspace id (ws_…) is required",
    !values.user && "--user: the user id is required",
    !(ttlMs >= 1000) && `--ttl: "${values.ttl}" is not a duration such as 30m, 7d`,
    values.email !== undefined && !emailHash && `--email: "${values.email}" is not an address`,
  ].filter((p) => typeof p === "string");
  if (problems.length || !values.workspace || !values.user) {
    for (const problem of problems) console.error(problem);
    console.error(USAGE);
    return 2;
  }
  const rt = await openRuntime(configFromEnv());
  try {
    if (!await rt.workspaces.get(values.workspace)) {
      console.error(`--workspace: no workspace "${values.workspace}" in this KV`);
      return 1;
    }
    const minted = rt.linkTokens.mint(values.workspace, values.user, {
      ttlSeconds: Math.round(ttlMs / 1000),
      emailHash,
    });
    const key = values["show-key"]
      ? { link_key: Buffer.from(rt.linkTokens.keyFor(values.workspace)).toString("base64url") }
      : {};
    console.log(JSON.stringify({ ...minted, ...key }, null, 2));
    return 0;
  } catch (error) {
    console.error(`Cannot mint the token: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    await rt.close();
  }
}

if (import.meta.main) Deno.exit(await cli(Deno.args));

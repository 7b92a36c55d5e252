import { parseArgs } from "node:util";
import { configFromEnv } from "./lib/config.ts";
import { openRuntime } from "./lib/runtime.ts";
import { createWorkspaceSchema, workspaceCreatedJson } from "./routes/api/workspaces.ts";

const USAGE = `Usage:
  deno task sluice workspace create --name NAME [--origin URL]...

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
  console.error(USAGE);
  return 2;
}

if (import.meta.main) Deno.exit(await cli(Deno.args));

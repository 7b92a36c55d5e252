import { workspacePrefix } from "../lib/kv/keys.ts";
import type { Workspace } from "../lib/workspaces.ts";
import { createWorkspaceSchema, workspaceCreatedJson } from "../routes/api/workspaces.ts";
import {
  type Command,
  helpHint,
  parseCommand,
  printJson,
  printTable,
  UsageError,
} from "./_args.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

const create: Command = {
  summary: "create a workspace and print its keys (once)",
  usage: `Usage: deno task sluice workspace create --name NAME [--origin URL]... [--json]

Creates a workspace with an ingest key and an admin key, and prints the same JSON as
POST /v1/workspaces. The keys are shown only here.

Options:
  --name NAME     the workspace's name (1-100 characters)
  --origin URL    an origin allowed to send browser events (repeat for several),
                  e.g. https://shop.example or https://*.shop.example
  --json          the JSON answer (the default for this command)
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      name: { type: "string" },
      origin: { type: "string", multiple: true },
    }, "workspace create");
    const parsed = createWorkspaceSchema.safeParse({
      name: values.name,
      allowed_origins: values.origin,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const flag = issue.path[0] === "allowed_origins" ? "--origin" : `--${String(issue.path[0])}`;
      const message = values.name === undefined && issue.path[0] === "name"
        ? "--name is required"
        : `${flag}: ${issue.message}`;
      throw new UsageError(message, helpHint("workspace create"));
    }
    await withRuntime(loadConfig(), async (rt) => {
      printJson(output, workspaceCreatedJson(await rt.workspaces.create(parsed.data)));
    });
    return 0;
  },
};

const list: Command = {
  summary: "list the workspaces",
  usage: `Usage: deno task sluice workspace list [--json]

Lists every workspace: id, name, public id and allowed origins.

Options:
  --json          {"data": [workspace, ...]} as GET /v1/workspace shows each
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {}, "workspace list");
    const config = loadConfig();
    await requireKv(config);
    await withRuntime(config, async (rt) => {
      const workspaces: Workspace[] = [];
      for await (const entry of rt.kv.list<Workspace>({ prefix: workspacePrefix() })) {
        workspaces.push(entry.value);
      }
      if (values.json) return printJson(output, { data: workspaces });
      if (workspaces.length === 0) {
        output.err("No workspaces yet: create one with `deno task sluice workspace create`");
        return;
      }
      printTable(
        output,
        ["ID", "NAME", "PUBLIC ID", "ORIGINS"],
        workspaces.map((ws) => [ws.id, ws.name, ws.public_id, ws.allowed_origins.join(",")]),
      );
    });
    return 0;
  },
};

/** `workspace list|create`. */
export const workspaceCommands: Record<string, Command> = { list, create };

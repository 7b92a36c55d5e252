import { keysPerCommit, kvLimits } from "../lib/kv/limits.ts";
import { workspacePrefix } from "../lib/kv/keys.ts";
import { reindexWorkspace } from "../lib/event_lookup.ts";
import type { Workspace } from "../lib/workspaces.ts";
import { type Command, CommandError, parseCommand, printJson } from "./_args.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

const reindex: Command = {
  summary: "index stored events for the search (after an upgrade or a restore)",
  usage: `Usage: deno task sluice search reindex [--workspace ID] [--json]

Fan-out indexes every event it takes for the search box and GET /v1/events?match= (its hashed
order id, email, click ids and customer id). Events stored before that index existed are
found only among the newest 5,000; this opens every stored event and indexes it. Safe to run
while the server runs, and again.

Options:
  --workspace ID  only this workspace (default: all)
  --json          {"workspaces": N, "events": N, "entries": N, "unreadable": N}
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, { workspace: { type: "string" } }, "search reindex");
    const config = loadConfig();
    await requireKv(config);
    await withRuntime(config, async (rt) => {
      const workspaces: Workspace[] = [];
      if (values.workspace !== undefined) {
        const workspace = await rt.workspaces.get(values.workspace);
        if (!workspace) {
          throw new CommandError(
            `No workspace "${values.workspace}"`,
            "list them with `deno task sluice workspace list`",
          );
        }
        workspaces.push(workspace);
      } else {
        for await (const { value } of rt.kv.list<Workspace>({ prefix: workspacePrefix() })) {
          workspaces.push(value);
        }
      }
      const totals = { workspaces: workspaces.length, events: 0, entries: 0, unreadable: 0 };
      for (const workspace of workspaces) {
        const done = await reindexWorkspace(rt.kv, rt.events.sealer, workspace.id, {
          retentionMs: workspace.settings.retention_days * 86_400_000,
          perCommit: keysPerCommit(kvLimits(rt.config.kvMaxChecks)),
        });
        totals.events += done.events;
        totals.entries += done.entries;
        totals.unreadable += done.unreadable;
      }
      if (values.json) return printJson(output, totals);
      output.out(
        `Indexed ${totals.events} events of ${totals.workspaces} workspaces: ${totals.entries} search entries.`,
      );
      if (totals.unreadable > 0) {
        output.err(
          `${totals.unreadable} events could not be opened and were skipped: they are sealed under a secret this instance lacks (SLUICE_SECRET_PREVIOUS?)`,
        );
      }
    });
    return 0;
  },
};

/** `search reindex`. */
export const searchCommands: Record<string, Command> = { reindex };

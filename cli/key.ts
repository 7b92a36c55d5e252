import { type ApiKeyRecord, LastAdminKeyError, type Scope, SCOPES } from "../lib/auth/api_keys.ts";
import { parseDuration } from "../lib/duration.ts";
import type { Runtime } from "../lib/runtime.ts";
import {
  type Command,
  CommandError,
  helpHint,
  type Output,
  parseCommand,
  printJson,
  printTable,
  required,
  UsageError,
} from "./_args.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

/** The key as the API shows it: without its workspace. */
function shown({ workspace_id: _, expires_at: __, ...key }: ApiKeyRecord) {
  return key;
}

/** Runs `use` on an existing workspace's runtime; a missing workspace is a failure. */
async function inWorkspace(
  wsId: string,
  use: (rt: Runtime) => Promise<void>,
): Promise<void> {
  const config = loadConfig();
  await requireKv(config);
  await withRuntime(config, async (rt) => {
    if (!(await rt.workspaces.get(wsId))) {
      throw new CommandError(
        `No workspace "${wsId}"`,
        "list them with `deno task sluice workspace list`",
      );
    }
    await use(rt);
  });
}

function printSecret(output: Output, json: boolean | undefined, key: ApiKeyRecord, secret: string) {
  if (json) return printJson(output, { ...shown(key), secret });
  output.out(`${key.id}  ${key.name}  (${key.scopes.join(", ")})`);
  output.out(`secret: ${secret}`);
  output.err("The secret is shown only now: store it safely.");
}

const create: Command = {
  summary: "create an API key in a workspace (the way back in without keys)",
  usage: `Usage: deno task sluice key create --workspace ID --name NAME --scope SCOPE... [--json]

Creates an API key and prints its secret, once. An operator who lost every admin key
gets back in with --scope admin.

Options:
  --workspace ID  the workspace (see \`workspace list\`)
  --name NAME     what the key is for
  --scope SCOPE   ingest, read or admin (repeat for several)
  --json          {"id", "name", "scopes", "prefix", "created_at", "secret"}
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      workspace: { type: "string" },
      name: { type: "string" },
      scope: { type: "string", multiple: true },
    }, "key create");
    const wsId = required(values.workspace, "--workspace", "key create");
    const name = required(values.name, "--name", "key create").trim();
    if (name.length > 100) {
      throw new UsageError("--name is longer than 100 characters", helpHint("key create"));
    }
    const scopes = values.scope ?? [];
    if (scopes.length === 0) throw new UsageError("--scope is required", helpHint("key create"));
    for (const scope of scopes) {
      if (!(SCOPES as readonly string[]).includes(scope)) {
        throw new UsageError(
          `--scope "${scope}" is not one of ${SCOPES.join(", ")}`,
          helpHint("key create"),
        );
      }
    }
    await inWorkspace(wsId, async (rt) => {
      const created = await rt.apiKeys.create(wsId, { name, scopes: scopes as Scope[] });
      printSecret(output, values.json, created.record, created.secret);
    });
    return 0;
  },
};

const list: Command = {
  summary: "list a workspace's API keys (never their secrets)",
  usage: `Usage: deno task sluice key list --workspace ID [--json]

Options:
  --workspace ID  the workspace (see \`workspace list\`)
  --json          {"data": [key, ...]} as GET /v1/api-keys shows them
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, { workspace: { type: "string" } }, "key list");
    const wsId = required(values.workspace, "--workspace", "key list");
    await inWorkspace(wsId, async (rt) => {
      const keys = (await rt.apiKeys.list(wsId)).map(shown);
      if (values.json) return printJson(output, { data: keys });
      printTable(
        output,
        ["ID", "NAME", "SCOPES", "PREFIX", "CREATED"],
        keys.map((k) => [k.id, k.name, k.scopes.join(","), k.prefix, k.created_at]),
      );
    });
    return 0;
  },
};

const revoke: Command = {
  summary: "revoke an API key",
  usage: `Usage: deno task sluice key revoke --workspace ID KEY_ID [--json]

Revokes a key; it stops working within seconds. The workspace's last admin key cannot be
revoked: create another one first.

Options:
  --workspace ID  the workspace (see \`workspace list\`)
  --json          {"revoked": KEY_ID}
  -h, --help      this help`,
  async run(args, output) {
    const { values, positionals } = parseCommand(
      args,
      { workspace: { type: "string" } },
      "key revoke",
      1,
    );
    const wsId = required(values.workspace, "--workspace", "key revoke");
    const keyId = required(positionals[0], "KEY_ID", "key revoke");
    await inWorkspace(wsId, async (rt) => {
      let revoked: boolean;
      try {
        revoked = await rt.apiKeys.revoke(wsId, keyId);
      } catch (error) {
        if (!(error instanceof LastAdminKeyError)) throw error;
        throw new CommandError(
          error.message,
          `create one: deno task sluice key create --workspace ${wsId} --name NAME --scope admin`,
        );
      }
      if (!revoked) {
        throw new CommandError(
          `No API key "${keyId}" in workspace ${wsId}`,
          `list them with \`deno task sluice key list --workspace ${wsId}\``,
        );
      }
      if (values.json) printJson(output, { revoked: keyId });
      else output.out(`Revoked ${keyId}`);
    });
    return 0;
  },
};

const rotate: Command = {
  summary: "give an API key a new secret; the old one works for an overlap",
  usage: `Usage: deno task sluice key rotate --workspace ID KEY_ID [--overlap 24h] [--json]

Gives a key a new secret (printed once); the old secret keeps working for the overlap,
as POST /v1/api-keys/KEY_ID/rotate.

Options:
  --workspace ID  the workspace (see \`workspace list\`)
  --overlap TIME  how long the old secret still works: 0s to 7d (default 24h)
  --json          the key with "secret" and "previous_expires_at"
  -h, --help      this help`,
  async run(args, output) {
    const { values, positionals } = parseCommand(
      args,
      {
        workspace: { type: "string" },
        overlap: { type: "string" },
      },
      "key rotate",
      1,
    );
    const wsId = required(values.workspace, "--workspace", "key rotate");
    const keyId = required(positionals[0], "KEY_ID", "key rotate");
    let overlapMs: number;
    try {
      overlapMs = parseDuration(values.overlap ?? "24h");
    } catch (error) {
      throw new UsageError(`--overlap: ${(error as Error).message}`, helpHint("key rotate"));
    }
    if (overlapMs > 7 * 86_400_000) {
      throw new UsageError("--overlap is longer than 7d", helpHint("key rotate"));
    }
    await inWorkspace(wsId, async (rt) => {
      const rotated = await rt.apiKeys.rotate(wsId, keyId, overlapMs);
      if (!rotated) {
        throw new CommandError(
          `No API key "${keyId}" in workspace ${wsId}`,
          `list them with \`deno task sluice key list --workspace ${wsId}\``,
        );
      }
      const until = new Date(rotated.previous_expires_at).toISOString();
      if (values.json) {
        return printJson(output, {
          ...shown(rotated.record),
          secret: rotated.secret,
          previous_expires_at: until,
        });
      }
      printSecret(output, false, rotated.record, rotated.secret);
      output.err(`The old secret works until ${until}.`);
    });
    return 0;
  },
};

/** `key create|list|revoke|rotate`. */
export const keyCommands: Record<string, Command> = { create, list, revoke, rotate };

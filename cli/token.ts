import { Buffer } from "node:buffer";
import { hashNormalized, normalizeEmail } from "../core/pii/mod.ts";
import { parseDuration } from "../lib/duration.ts";
import {
  type Command,
  CommandError,
  helpHint,
  parseCommand,
  printJson,
  required,
  UsageError,
} from "./_args.ts";
import { loadConfig, requireKv, withRuntime } from "./_runtime.ts";

const mint: Command = {
  summary: "mint a magic-link token that links a browser to a known user (docs/pixel.md)",
  usage:
    `Usage: deno task sluice token mint --workspace ID --user USER_ID [--ttl 7d] [--email EMAIL] [--show-key]

Prints {"token", "expires_at"} as JSON: append ?_uid=TOKEN to a link (POST or GET /m) and the
browser that opens it is linked to USER_ID. With --show-key, also the workspace's link key, with
which your own server mints tokens (the algorithm is in docs/pixel.md).

Options:
  --workspace ID  the workspace (see \`workspace list\`)
  --user USER_ID  your user id for that person
  --ttl DURATION  how long the token is good for, e.g. 30m, 7d (default 7d, at most 30d)
  --email EMAIL   also link the person's hashed email
  --show-key      print the workspace's link key (base64url) too
  -h, --help      this help`,
  async run(args, output) {
    const { values } = parseCommand(args, {
      workspace: { type: "string" },
      user: { type: "string" },
      ttl: { type: "string", default: "7d" },
      email: { type: "string" },
      "show-key": { type: "boolean" },
    }, "token mint");
    const wsId = required(values.workspace, "--workspace", "token mint");
    const user = required(values.user, "--user", "token mint");
    let ttlMs: number;
    try {
      ttlMs = parseDuration(values.ttl ?? "7d");
    } catch {
      throw new UsageError(
        `--ttl "${values.ttl}" is not a duration such as 30m or 7d`,
        helpHint("token mint"),
      );
    }
    const emailHash = values.email === undefined
      ? undefined
      : hashNormalized(values.email, normalizeEmail);
    if (values.email !== undefined && !emailHash) {
      throw new UsageError(
        `--email "${values.email}" is not an email address`,
        helpHint("token mint"),
      );
    }
    const config = loadConfig();
    await requireKv(config);
    await withRuntime(config, async (rt) => {
      if (!(await rt.workspaces.get(wsId))) {
        throw new CommandError(
          `No workspace "${wsId}"`,
          "list them with `deno task sluice workspace list`",
        );
      }
      const minted = rt.linkTokens.mint(wsId, user, {
        ttlSeconds: Math.round(ttlMs / 1000),
        emailHash,
      });
      const key = values["show-key"]
        ? { link_key: Buffer.from(rt.linkTokens.keyFor(wsId)).toString("base64url") }
        : {};
      printJson(output, { ...minted, ...key });
    });
    return 0;
  },
};

/** `sluice token …`: magic-link tokens. */
export const tokenCommands: Record<string, Command> = { mint };

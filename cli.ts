import { type Command, CommandError, type Output, UsageError, wantsHelp } from "./cli/_args.ts";
import { backupCommands } from "./cli/backup.ts";
import { keyCommands } from "./cli/key.ts";
import { searchCommands } from "./cli/search.ts";
import { secretCommands } from "./cli/secret.ts";
import { tokenCommands } from "./cli/token.ts";
import { userCommands } from "./cli/user.ts";
import { workspaceCommands } from "./cli/workspace.ts";

/** Command groups (`sluice GROUP ACTION`) and their one-line descriptions. */
const GROUPS: Record<string, { summary: string; commands: Record<string, Command> }> = {
  workspace: { summary: "workspaces", commands: workspaceCommands },
  key: { summary: "API keys of a workspace", commands: keyCommands },
  search: { summary: "the search index", commands: searchCommands },
  secret: { summary: "the master secret (SLUICE_SECRET)", commands: secretCommands },
  user: { summary: "dashboard accounts", commands: userCommands },
  token: { summary: "magic-link tokens (browser ↔ known user)", commands: tokenCommands },
};

/** Commands without a group (`sluice backup`). */
const TOP: Record<string, Command> = backupCommands;

function commandList(): string {
  const lines: string[] = [];
  for (const [group, { commands }] of Object.entries(GROUPS)) {
    for (const [name, command] of Object.entries(commands)) {
      lines.push(`  ${`${group} ${name}`.padEnd(18)} ${command.summary}`);
    }
  }
  for (const [name, command] of Object.entries(TOP)) {
    lines.push(`  ${name.padEnd(18)} ${command.summary}`);
  }
  return lines.join("\n");
}

const USAGE = `Usage: deno task sluice COMMAND [options]

Commands:
${commandList()}

Every command takes --help, and --json for output scripts can read. The commands use the
same environment as the server (SLUICE_KV, SLUICE_SECRET, …; .env is read too).
Exit codes: 0 done, 1 failed, 2 the command line was wrong.`;

function groupUsage(group: string): string {
  const { summary, commands } = GROUPS[group]!;
  const lines = Object.entries(commands).map(([name, command]) =>
    `  ${name.padEnd(10)} ${command.summary}`
  );
  return `Usage: deno task sluice ${group} ACTION [options]   (${summary})

Actions:
${lines.join("\n")}

Run \`deno task sluice ${group} ACTION --help\` for an action's options.`;
}

/** Finds and runs the command `args` name; help and usage errors are answered here. */
async function dispatch(args: string[], output: Output): Promise<number> {
  const [first, second, ...rest] = args;
  if (first === undefined) {
    throw new UsageError("a command is required", "see `deno task sluice --help`");
  }
  if (first === "--help" || first === "-h" || first === "help") {
    output.out(USAGE);
    return 0;
  }
  const top = TOP[first];
  if (top) {
    const commandArgs = args.slice(1);
    if (wantsHelp(commandArgs)) {
      output.out(top.usage);
      return 0;
    }
    return await top.run(commandArgs, output);
  }
  const group = GROUPS[first];
  if (!group) {
    throw new UsageError(`unknown command "${first}"`, "see `deno task sluice --help`");
  }
  if (second === undefined || second === "--help" || second === "-h") {
    if (second === undefined) {
      throw new UsageError(
        `${first}: an action is required (${Object.keys(group.commands).join(", ")})`,
        `see \`deno task sluice ${first} --help\``,
      );
    }
    output.out(groupUsage(first));
    return 0;
  }
  const command = group.commands[second];
  if (!command) {
    throw new UsageError(
      `unknown command "${first} ${second}"`,
      `see \`deno task sluice ${first} --help\``,
    );
  }
  if (wantsHelp(rest)) {
    output.out(command.usage);
    return 0;
  }
  return await command.run(rest, output);
}

/**
 * The `sluice` command line. Returns the exit code: 0 done, 1 failed, 2 usage error. Errors
 * are one line and a hint on standard error, never a stack trace.
 */
export async function cli(args: string[], output: Output = processOutput()): Promise<number> {
  try {
    return await dispatch(args, output);
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`error: ${error.message}`);
      output.err(`hint: ${error.hint}`);
      return 2;
    }
    output.err(`error: ${oneLine(error)}`);
    if (error instanceof CommandError) output.err(`hint: ${error.hint}`);
    else {
      output.err("hint: this is unexpected; check SLUICE_KV and the KV's state, then retry");
    }
    return 1;
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!;
}

/** Standard output and error; progress only when standard error is a terminal. */
function processOutput(): Output {
  const encoder = new TextEncoder();
  const write = (stream: typeof Deno.stdout | typeof Deno.stderr, text: string) => {
    const bytes = encoder.encode(text);
    for (let written = 0; written < bytes.length;) {
      written += stream.writeSync(bytes.subarray(written));
    }
  };
  return {
    out: (line) => write(Deno.stdout, line + "\n"),
    err: (line) => write(Deno.stderr, line + "\n"),
    ...(Deno.stderr.isTerminal()
      ? { progress: (text: string) => write(Deno.stderr, `\r\x1b[2K${text}`) }
      : {}),
  };
}

if (import.meta.main) Deno.exit(await cli(Deno.args));

/**
 * What every command shares: argument parsing with `node:util` parseArgs, the two kinds of
 * error (usage: exit 2; failure: exit 1), each with a hint, and output.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** A command line that does not say what to do: exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A command that could not do what it was asked: exit code 1. */
export class CommandError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** Where a command writes: tests capture it, the CLI writes to the process's streams. */
export interface Output {
  /** A line of the answer (standard output). */
  out(line: string): void;
  /** A line of diagnostics (standard error). */
  err(line: string): void;
  /** Draws over the current standard-error line (progress); only when it is a terminal. */
  progress?(text: string): void;
}

/** One command: its usage text and what it does with its arguments. */
export interface Command {
  /** One line, shown in the group's list. */
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Runs the command; resolves to the exit code. */
  run(args: string[], output: Output): Promise<number>;
}

/** Options every command takes. */
const COMMON = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

/** Whether `--help` or `-h` is among the arguments (answered before anything is checked). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * Parses a command's arguments strictly: an unknown option, a missing value or a stray
 * argument is a {@link UsageError} naming it, with the command's help as the hint.
 */
export function parseCommand<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  commandName: string,
  positionals = 0,
) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...COMMON, ...options },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(
        `unexpected argument "${parsed.positionals[positionals]}"`,
        helpHint(commandName),
      );
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(parseArgsMessage(error), helpHint(commandName));
  }
}

/** The hint pointing to a command's help. */
export function helpHint(commandName: string): string {
  return `see \`deno task sluice ${commandName} --help\``;
}

/** A required option; a {@link UsageError} naming it when absent or empty. */
export function required(value: string | undefined, flag: string, commandName: string): string {
  if (value === undefined || value.trim() === "") {
    throw new UsageError(`${flag} is required`, helpHint(commandName));
  }
  return value;
}

/** parseArgs's message without its Node error code and its advice for `--` arguments. */
function parseArgsMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split(". To specify a positional")[0]!.replace(/^Option '([^']+)'/, "option $1");
}

/** Prints a value as indented JSON. */
export function printJson(output: Output, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

/** Prints rows as aligned columns under a header. */
export function printTable(output: Output, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ");
  output.out(line(header));
  for (const row of rows) output.out(line(row));
}

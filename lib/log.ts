/**
 * The one logger: one JSON object per line (`time`, `level`, `msg`, then the fields), debug and
 * info on stdout, warn and error on stderr. The level comes from `SLUICE_LOG_LEVEL`.
 *
 * Callers pass only what is safe to keep: ids, statuses, counts, durations — never a body, a
 * header, a URL with its query, a user's data or a secret. Free text (`msg`, `error`, `stack`) is
 * scrubbed as well, in case an error message quotes something it should not: e-mail
 * addresses, bearer tokens, Sluice secrets, URL query strings and long digit runs are masked.
 *
 * @module
 */

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Fields of one line; undefined fields are left out. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where lines go: stdout for debug and info, stderr for warn and error, by default. */
export type LogSink = (level: LogLevel, line: string) => void;

const encoder = new TextEncoder();

const defaultSink: LogSink = (level, line) => {
  const stream = level === "warn" || level === "error" ? Deno.stderr : Deno.stdout;
  try {
    stream.writeSync(encoder.encode(line + "\n"));
  } catch {
    // A closed stream (the parent went away) must not take the request down with it.
  }
};

let threshold = LOG_LEVELS.indexOf("info");
let sink: LogSink = defaultSink;

/** The logger's settings. */
export interface LogSettings {
  /** Lines below this level are dropped. */
  level: LogLevel;
  /** Where lines go. */
  sink: LogSink;
}

/** Changes the level and (for tests) where lines go; answers the settings before, to restore. */
export function configureLog(options: Partial<LogSettings>): LogSettings {
  const before = { level: LOG_LEVELS[threshold]!, sink };
  if (options.level) threshold = LOG_LEVELS.indexOf(options.level);
  if (options.sink) sink = options.sink;
  return before;
}

/** Whether lines of `level` are written (to skip building fields nobody reads). */
export function logs(level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= threshold;
}

/** Phone numbers have 9 to 15 digits; shorter runs (dates, ports, sizes) are kept. */
const maskPhoneLike = (run: string) => run.replace(/\D/g, "").length >= 9 ? "[number]" : run;

const SCRUBS: ((text: string) => string)[] = [
  (text) => text.replace(/\b(https?:\/\/[^\s?#"'<>]+)\?[^\s"'<>]*/gi, "$1?[query]"),
  (text) => text.replace(/[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[a-z]{2,}/gi, "[email]"),
  (text) => text.replace(/\b(Bearer|Basic)\s+\S+/gi, "$1 [redacted]"),
  (text) => text.replace(/\b(sk|pk|whsec|rk)_[A-Za-z0-9+/=_-]{6,}/g, "$1_[redacted]"),
  (text) => text.replace(/\+?\d[\d ().-]{7,}\d/g, maskPhoneLike),
];

/** Masks e-mail addresses, credentials, URL queries and phone-like digit runs in free text. */
export function scrub(text: string, maxChars = 500): string {
  const out = SCRUBS.reduce((masked, mask) => mask(masked), text);
  return out.length > maxChars ? `${out.slice(0, maxChars)}…` : out;
}

/** Free-text fields, scrubbed like `msg`, and how much of each is kept. */
const FREE_TEXT: Readonly<Record<string, number>> = { error: 500, stack: 4000 };

/** An error as the `error` field of a line (where it is scrubbed): its name and message, no stack. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function write(level: LogLevel, msg: string, fields: LogFields = {}): void {
  if (LOG_LEVELS.indexOf(level) < threshold) return;
  const line: Record<string, string | number | boolean | null> = {
    time: new Date().toISOString(),
    level,
    msg: scrub(msg),
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const keep = FREE_TEXT[name];
    line[name] = keep !== undefined && typeof value === "string" ? scrub(value, keep) : value;
  }
  sink(level, JSON.stringify(line));
}

/** The logger: `log.info("request", {route, status})`. */
export const log = {
  debug: (msg: string, fields?: LogFields): void => write("debug", msg, fields),
  info: (msg: string, fields?: LogFields): void => write("info", msg, fields),
  warn: (msg: string, fields?: LogFields): void => write("warn", msg, fields),
  error: (msg: string, fields?: LogFields): void => write("error", msg, fields),
};

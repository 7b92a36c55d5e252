const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration such as `100ms`, `30s`, `5m`, `2h` or `1d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`Cannot parse duration "${text}": use a number and ms, s, m, h or d`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** Parses a comma-separated list of durations; `name` labels errors. */
export function parseDurationList(text: string, name: string): number[] {
  try {
    const list = text.split(",").map((s) => s.trim()).filter(Boolean).map(parseDuration);
    if (list.length === 0) throw new Error("the list is empty");
    return list;
  } catch (error) {
    throw new Error(`Invalid ${name} "${text}": ${(error as Error).message}`);
  }
}

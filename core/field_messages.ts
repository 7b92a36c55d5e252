/**
 * What every field error says: what the field must be, in words a sender can act on
 * ("must be a number, not a string", "must be one of granted, denied", "is required (a
 * string)"), never zod's bare "Invalid input". Importing this module installs
 * {@link fieldMessage} as zod's error map for the whole process (workers too, since
 * core/event.ts imports it); a message a schema sets itself still wins.
 *
 * @module
 */
import { z } from "zod";

type RawIssue = z.core.$ZodRawIssue;

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  bigint: "an integer",
  object: "an object",
  record: "an object",
  array: "an array",
  tuple: "an array",
  date: "a date",
  null: "null",
  undefined: "absent",
  nan: "a number",
};

/** How a sent JSON value is named: "a string", "null", "an array". */
function sentType(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (typeof input === "number" && !Number.isFinite(input)) return String(input);
  return TYPE_NAMES[typeof input] ?? typeof input;
}

const UNITS: Readonly<Record<string, [one: string, many: string]>> = {
  string: ["character", "characters"],
  array: ["item", "items"],
  set: ["item", "items"],
  file: ["byte", "bytes"],
};

function sized(n: number | bigint, origin: string): string {
  const [one, many] = UNITS[origin] ?? ["", ""];
  return `${n} ${Number(n) === 1 ? one : many}`.trimEnd();
}

function quoted(values: readonly unknown[]): string {
  return values.map((v) => typeof v === "string" ? v : JSON.stringify(v)).join(", ");
}

/**
 * A union's alternatives, from the first issue each option raised ("must be a string or a
 * number"); a missing value "is required (a string or a number)".
 */
function unionMessage(
  errors: readonly (readonly z.core.$ZodIssue[])[],
  input: unknown,
): string | undefined {
  const expected: string[] = [];
  for (const issues of errors) {
    const [first] = issues;
    if (first?.code !== "invalid_type") {
      // The input had the type this option wants but broke one of its rules: that rule is the
      // helpful message (a string that is too long, a number out of range).
      if (first) return first.message;
      continue;
    }
    const name = TYPE_NAMES[first.expected] ?? first.expected;
    if (!expected.includes(name)) expected.push(name);
  }
  if (expected.length === 0) return undefined;
  const alternatives = `${expected.slice(0, -1).join(", ")}${expected.length > 1 ? " or " : ""}${
    expected.at(-1)
  }`;
  return input === undefined ? `is required (${alternatives})` : `must be ${alternatives}`;
}

/** The discriminator's value in a discriminated union's input (the input itself without one). */
function discriminatorOf(input: unknown, discriminator: string | undefined): unknown {
  if (discriminator === undefined) return input;
  return typeof input === "object" && input !== null
    ? (input as Record<string, unknown>)[discriminator]
    : undefined;
}

/** The message of one zod issue, saying what the field must be. */
export function fieldMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `is required (${expected})`;
      return `must be ${expected}, not ${sentType(issue.input)}`;
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${quoted(issue.values)}`
        : `must be one of ${quoted(issue.values)}`;
    case "too_small": {
      const { minimum, origin, inclusive, exact } = issue;
      if (origin === "string" && Number(minimum) === 1) return "must not be empty";
      if (origin === "array" && Number(minimum) === 1) return "must hold at least one item";
      if (UNITS[origin]) {
        const verb = origin === "string" ? "be" : "hold";
        return `must ${verb} ${exact ? "exactly" : "at least"} ${sized(minimum, origin)}`;
      }
      return inclusive ? `must be at least ${minimum}` : `must be greater than ${minimum}`;
    }
    case "too_big": {
      const { maximum, origin, inclusive, exact } = issue;
      if (UNITS[origin]) {
        const verb = origin === "string" ? "be" : "hold";
        return `must ${verb} ${exact ? "exactly" : "at most"} ${sized(maximum, origin)}`;
      }
      return inclusive ? `must be at most ${maximum}` : `must be less than ${maximum}`;
    }
    case "invalid_format": {
      if (issue.format === "regex") return `must match the pattern ${issue.pattern}`;
      if (issue.format === "url") return "must be a URL";
      if (issue.format === "email") return "must be an e-mail address";
      if (issue.format === "starts_with") return `must start with "${issue.prefix}"`;
      if (issue.format === "ends_with") return `must end with "${issue.suffix}"`;
      return `must be a valid ${issue.format}`;
    }
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `must not hold ${issue.keys.length === 1 ? "the field" : "the fields"} ${
        issue.keys.map((key) => `"${key}"`).join(", ")
      } (not ${issue.keys.length === 1 ? "a field" : "fields"} of this object)`;
    case "invalid_union":
      if (Array.isArray(issue.options) && issue.options.length > 0) {
        // The issue sits on the discriminator field (its path names it); its input is the object.
        const options = quoted(issue.options);
        return discriminatorOf(issue.input, issue.discriminator) === undefined
          ? `is required (one of ${options})`
          : `must be one of ${options}`;
      }
      if (issue.inclusive === false) return "must match exactly one of the accepted forms";
      return unionMessage(issue.errors, issue.input);
    case "invalid_key":
      return `has a key that ${issue.issues[0]?.message ?? "is not accepted"}`;
    case "invalid_element":
      return `holds a value that ${issue.issues[0]?.message ?? "is not accepted"}`;
    default:
      return undefined;
  }
}

z.config({ customError: fieldMessage });

/**
 * Folder-private: building the JSON records connectors send. Platforms differ in what they
 * take for "absent" (some refuse an empty string or an empty list, Klaviyo keeps both), so
 * each way of leaving fields out has its own name; likewise for reading free-form text
 * properties, which some platforms get trimmed and others as given.
 *
 * @module
 */

function omitWhere<T extends Record<string, unknown>>(
  record: T,
  absent: (value: unknown) => boolean,
): Partial<T> {
  // Object.fromEntries loses the key types; every kept value keeps its key, so Partial<T> holds.
  return Object.fromEntries(Object.entries(record).filter(([, v]) => !absent(v))) as Partial<T>;
}

/** `record` without its undefined fields; empty strings and empty lists stay. */
export function omitUndefined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return omitWhere(record, (v) => v === undefined);
}

/** `record` without its undefined and empty-string fields; empty lists stay. */
export function omitEmpty<T extends Record<string, unknown>>(record: T): Partial<T> {
  return omitWhere(record, (v) => v === undefined || v === "");
}

/** `record` without its undefined, empty-string and empty-list fields. */
export function omitEmptyAndEmptyArrays<T extends Record<string, unknown>>(record: T): Partial<T> {
  return omitWhere(
    record,
    (v) => v === undefined || v === "" || (Array.isArray(v) && v.length === 0),
  );
}

/** A string with more than white space in it, trimmed; undefined for anything else. */
export function trimmedText(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** A string with more than white space in it, as given (not trimmed); undefined for anything else. */
export function untrimmedText(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** The defined values, each once, in the order they first appear. */
export function uniqueDefined(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}

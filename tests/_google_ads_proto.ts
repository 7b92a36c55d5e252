/**
 * Test-only: checks Data Manager request bodies against Google's own protos, as shipped in
 * `npm:@google-ads/datamanager` (`build/protos/protos.json`). The proto3 JSON mapping is
 * read strictly: an unknown or misspelt field, a deprecated field, an enum name the proto
 * does not define (or its `*_UNSPECIFIED` zero), a value of the wrong JSON type, two members
 * of one oneof, or a missing `REQUIRED` field (`google.api.field_behavior`) is a problem.
 * What passes is then built with protobuf.js (`fromObject`, `verify`, `encode`).
 * Production code never imports this module.
 *
 * @module
 */
import { datamanagerProtos as protos, protobuf } from "./_deps.ts";

// The JSON import is typed from the package's generated protos.d.ts; it is a protobuf.js namespace.
const root = protobuf.Root.fromJSON(protos as unknown as protobuf.INamespace);
const PACKAGE = "google.ads.datamanager.v1";
const TIMESTAMP = ".google.protobuf.Timestamp";
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER = /^-?\d+$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function behaviours(field: protobuf.Field): string[] {
  const option: unknown = field.options?.["(google.api.field_behavior)"];
  return Array.isArray(option) ? option.map(String) : option === undefined ? [] : [String(option)];
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "" &&
    !(Array.isArray(value) && value.length === 0);
}

/** Checks `value` as the JSON of `type` at `path`, pushing problems; returns protobuf.js's object form. */
function checkMessage(type: protobuf.Type, value: unknown, path: string, out: string[]): unknown {
  if (type.fullName === TIMESTAMP) {
    if (typeof value !== "string" || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      out.push(`${path}: not an RFC 3339 timestamp (${JSON.stringify(value)})`);
      return {};
    }
    const ms = Date.parse(value);
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  }
  if (!isObject(value)) {
    out.push(`${path}: expected a ${type.name} object`);
    return {};
  }
  const converted: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key];
    const at = path ? `${path}.${key}` : key;
    if (!field) {
      out.push(`${at}: no such field in ${type.fullName.slice(1)}`);
      continue;
    }
    if (field.options?.deprecated) out.push(`${at}: deprecated`);
    field.resolve();
    if (field.repeated) {
      if (!Array.isArray(item)) out.push(`${at}: expected a list`);
      else converted[key] = item.map((one, i) => checkValue(field, one, `${at}[${i}]`, out));
    } else {
      converted[key] = checkValue(field, item, at, out);
    }
  }
  for (const field of type.fieldsArray) {
    if (behaviours(field).includes("REQUIRED") && !isSet(value[field.name])) {
      out.push(`${path ? `${path}.` : ""}${field.name}: required by ${type.fullName.slice(1)}`);
    }
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => value[name] !== undefined);
    if (set.length > 1) out.push(`${path}: ${set.join(" and ")} are one oneof (${oneof.name})`);
  }
  return converted;
}

function checkValue(field: protobuf.Field, value: unknown, path: string, out: string[]): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const known = typeof value === "string" && value in resolved.values &&
      resolved.values[value] !== 0;
    if (!known) out.push(`${path}: ${JSON.stringify(value)} is not a ${resolved.name} value`);
    return value;
  }
  if (resolved instanceof protobuf.Type) return checkMessage(resolved, value, path, out);
  const ok = field.type === "string"
    ? typeof value === "string"
    : field.type === "bool"
    ? typeof value === "boolean"
    : field.type === "double" || field.type === "float"
    ? typeof value === "number" && Number.isFinite(value)
    : field.type.endsWith("64")
    ? (typeof value === "number" && Number.isInteger(value)) ||
      (typeof value === "string" && INTEGER.test(value))
    : field.type.endsWith("32")
    ? typeof value === "number" && Number.isInteger(value)
    : field.type === "bytes"
    ? typeof value === "string"
    : false;
  if (!ok) out.push(`${path}: ${JSON.stringify(value)} is not a ${field.type}`);
  return value;
}

/**
 * The problems of `json` as the proto3 JSON form of the Data Manager message `typeName`
 * (e.g. `IngestEventsRequest`); an empty list when it conforms and protobuf.js builds and
 * encodes it.
 */
export function dataManagerProblems(typeName: string, json: unknown): string[] {
  const type = root.lookupType(`${PACKAGE}.${typeName}`);
  const problems: string[] = [];
  const converted = checkMessage(type, json, "", problems);
  if (problems.length > 0) return problems;
  const message = type.fromObject(converted as Record<string, unknown>);
  const invalid = type.verify(message);
  if (invalid) return [`protobuf.js: ${invalid}`];
  type.encode(message).finish();
  return [];
}

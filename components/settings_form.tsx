/**
 * A destination's settings form, generated from its connector's zod settings schema: one
 * input per field (text, url, number, checkbox, select, a list one per line), required or
 * optional as the schema says, defaults shown, the `.describe()` text as the hint, secrets
 * as write-only password inputs.
 */
import { z } from "zod";
import type { Connector } from "../connectors/types.ts";
import { describedBy, FormField } from "./form_field.tsx";

/** How a settings field is entered. */
export type SettingsFieldKind = "text" | "url" | "number" | "boolean" | "enum" | "list";

/** One settings field as the form shows it. */
export interface SettingsField {
  name: string;
  kind: SettingsFieldKind;
  required: boolean;
  description?: string;
  /** The schema's default, as text; never for secrets (a generated one would leak). */
  defaultText?: string;
  options?: string[];
  secret: boolean;
}

function defaultText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** The fields of a connector's settings, in schema order; fields of other shapes are left out. */
export function settingsFields(connector: Connector): SettingsField[] {
  if (!(connector.settings instanceof z.ZodObject)) return [];
  const fields: SettingsField[] = [];
  for (const [name, schema] of Object.entries(connector.settings.shape)) {
    const secret = connector.secretFields.includes(name);
    let inner = schema as z.ZodType;
    let required = true;
    let fallback: unknown;
    for (;;) {
      if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
        required = false;
        inner = inner.unwrap() as z.ZodType;
      } else if (inner instanceof z.ZodDefault) {
        required = false;
        if (!secret) fallback = inner.def.defaultValue;
        inner = inner.unwrap() as z.ZodType;
      } else if (inner instanceof z.ZodPipe) {
        inner = inner.in as z.ZodType;
      } else break;
    }
    const base = {
      name,
      required,
      secret,
      description: schema.description ?? inner.description,
      defaultText: defaultText(fallback),
    };
    if (inner instanceof z.ZodEnum) {
      fields.push({ ...base, kind: "enum", options: inner.options.map(String) });
    } else if (inner instanceof z.ZodNumber) fields.push({ ...base, kind: "number" });
    else if (inner instanceof z.ZodBoolean) fields.push({ ...base, kind: "boolean" });
    else if (inner instanceof z.ZodArray) fields.push({ ...base, kind: "list" });
    else if (inner instanceof z.ZodURL || connector.urlFields.includes(name)) {
      fields.push({ ...base, kind: "url" });
    } else if (inner instanceof z.ZodString) fields.push({ ...base, kind: "text" });
  }
  return fields;
}

/**
 * Settings from a posted form: empty fields are left out (the default applies, or, for a
 * secret of a saved destination, the stored value is kept); numbers that do not parse stay
 * text so the schema names them.
 */
export function settingsFromForm(
  fields: readonly SettingsField[],
  form: Record<string, unknown>,
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = form[`config.${field.name}`];
    if (field.kind === "boolean") {
      if (raw !== undefined) settings[field.name] = raw === "on" || raw === "true";
      continue;
    }
    const text = typeof raw === "string" ? raw.trim() : "";
    if (text === "") continue;
    if (field.kind === "number") {
      const n = Number(text);
      settings[field.name] = Number.isFinite(n) ? n : text;
    } else if (field.kind === "list") {
      settings[field.name] = text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    } else settings[field.name] = text;
  }
  return settings;
}

/** What the form shows in a field: the posted text, else the stored value; never a secret. */
export function fieldText(field: SettingsField, value: unknown): string {
  if (field.secret || value === undefined || value === null) return "";
  return Array.isArray(value) ? value.join("\n") : String(value);
}

/** A hint part as a sentence: ends with a full stop. */
function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** A schema message shown under its field: "is required (a string)" names the field first. */
export function fieldMessage(field: string, message: string): string {
  return /^[a-z]/.test(message) ? `${field} ${message}` : message;
}

/** The settings inputs of a connector. */
export function SettingsInputs(
  props: {
    fields: readonly SettingsField[];
    /** Field → text to show (posted or stored). */
    values: Record<string, string>;
    errors: Record<string, string>;
    /** Which secrets are stored (edit: "leave blank to keep"). */
    storedSecrets: readonly string[];
  },
) {
  return (
    <>
      {props.fields.map((field) => {
        const id = `config-${field.name}`;
        const name = `config.${field.name}`;
        const error = props.errors[field.name];
        const stored = props.storedSecrets.includes(field.name);
        const hint = [
          field.description,
          field.defaultText !== undefined ? `Default: ${field.defaultText}` : undefined,
          field.secret && stored ? "Stored; leave blank to keep it" : undefined,
          field.secret && !stored && !field.required && field.name === "secret"
            ? "Leave blank to have one generated (shown once)"
            : undefined,
        ].filter((part): part is string => Boolean(part)).map(sentence).join(" ");
        const common = {
          id,
          name,
          "aria-describedby": describedBy(id, true, error),
          "aria-invalid": error ? ("true" as const) : undefined,
        };
        const label = `${field.name}${field.required ? "" : " (optional)"}`;
        const value = props.values[field.name] ?? "";
        let control;
        if (field.kind === "enum") {
          control = (
            <select {...common}>
              {!field.required && <option value="">(default)</option>}
              {(field.options ?? []).map((o) => (
                <option key={o} value={o} selected={o === value}>{o}</option>
              ))}
            </select>
          );
        } else if (field.kind === "boolean") {
          control = <input {...common} type="checkbox" checked={value === "true"} />;
        } else if (field.kind === "list") {
          control = <textarea {...common} rows={3}>{value}</textarea>;
        } else if (field.secret) {
          control = (
            <input
              {...common}
              type="password"
              value=""
              placeholder={stored ? "•••••••• (stored)" : undefined}
              required={field.required && !stored}
              autocomplete="new-password"
              spellcheck={false}
            />
          );
        } else if (field.kind === "number") {
          control = (
            <input
              {...common}
              type="number"
              step="any"
              value={value}
              placeholder={field.defaultText}
              required={field.required}
            />
          );
        } else {
          const text = {
            ...common,
            value,
            placeholder: field.defaultText,
            required: field.required,
            autocomplete: "off",
            spellcheck: false,
          };
          control = field.kind === "url"
            ? <input {...text} type="url" />
            : <input {...text} type="text" />;
        }
        return (
          <FormField key={field.name} id={id} label={label} hint={hint} error={error} wide>
            {control}
          </FormField>
        );
      })}
    </>
  );
}

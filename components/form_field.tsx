/** Form pieces the settings pages share: a labelled field with its help and its error. */
import type { ComponentChildren } from "preact";

/** A labelled field: the label, the control, a hint and the error next to it. */
export function FormField(
  props: {
    id: string;
    label: string;
    hint?: ComponentChildren;
    error?: string;
    children: ComponentChildren;
    wide?: boolean;
  },
) {
  return (
    <div class={`field${props.wide ? " wide" : ""}${props.error ? " invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && <small id={`${props.id}-hint`} class="hint">{props.hint}</small>}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error" role="alert">{props.error}</small>
      )}
    </div>
  );
}

/** The `aria-describedby` of a control inside {@linkcode FormField}. */
export function describedBy(id: string, hint: boolean, error: string | undefined) {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

/** A `datetime-local` value (UTC) for an epoch-ms time. */
export function dateTimeValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/**
 * Epoch ms of a `datetime-local` value read as UTC (`2026-01-31T14:05`) or an ISO 8601 time
 * with its offset; undefined when it is neither.
 */
export function parseDateTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  const local = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(text);
  const ms = Date.parse(local ? `${text}Z` : text);
  return Number.isNaN(ms) || !/^\d{4}-/.test(text) ? undefined : ms;
}

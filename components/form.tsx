/** Pieces of the dashboard's management forms: notices, field errors and once-shown secrets. */
import type { ComponentChildren } from "preact";
import CopyButton from "../islands/CopyButton.tsx";
import { Island } from "./island.tsx";

/** A message a page shows above its content after an action. */
export interface Notice {
  kind: "ok" | "error" | "warn";
  text: string;
}

/** Field name → what is wrong with it. */
export type FieldErrors = Record<string, string>;

/** A notice box; errors are announced as alerts, the rest as status. */
export function NoticeBox(props: { notice?: Notice; children?: ComponentChildren }) {
  if (!props.notice) return null;
  return (
    <div
      class={`notice ${props.notice.kind}`}
      role={props.notice.kind === "error" ? "alert" : "status"}
    >
      <p>{props.notice.text}</p>
      {props.children}
    </div>
  );
}

/** The error of one field, placed next to it and tied to it by `aria-describedby`. */
export function FieldError(props: { id: string; errors: FieldErrors; name: string }) {
  const message = props.errors[props.name];
  return message ? <p id={props.id} class="field-error">{message}</p> : null;
}

/** Props that mark a field invalid and point it at its error, when it has one. */
export function invalidProps(errors: FieldErrors, name: string, errorId: string) {
  return errors[name] ? { "aria-invalid": "true" as const, "aria-describedby": errorId } : {};
}

/** A secret shown once, right after it was made, with what to do with it. */
export function SecretOnce(props: { label: string; secret: string; children?: ComponentChildren }) {
  return (
    <div class="notice warn secret-once" role="status">
      <p>
        <strong>{props.label}</strong>: copy it now. It is shown only this once and cannot be shown
        again.
      </p>
      <p>
        <code class="break secret">{props.secret}</code>
      </p>
      <Island
        name="CopyButton"
        component={CopyButton}
        props={{ text: props.secret, label: "Copy" }}
      />
      {props.children}
    </div>
  );
}

import { useSignal } from "@preact/signals";

/** Copies a text (a cURL command) to the clipboard; the text itself is on the page too. */
export default function CopyButton(props: { text: string; label: string }) {
  const state = useSignal<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      state.value = "copied";
    } catch {
      state.value = "failed";
    }
  };
  return (
    <span class="inline">
      <button type="button" class="secondary" onClick={copy}>{props.label}</button>
      <span role="status" class="muted">
        {state.value === "copied"
          ? "Copied"
          : state.value === "failed"
          ? "Copy failed: select the text below"
          : ""}
      </span>
    </span>
  );
}

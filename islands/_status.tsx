/** A delivery status as a small labelled chip; shared by the server pages and the islands. */

/** Short words for each delivery status. */
const LABELS: Record<string, string> = {
  pending: "pending",
  delivered: "delivered",
  accepted: "accepted",
  retrying: "retrying",
  failed: "failed",
  skipped: "skipped",
};

/** One destination's status on an event: a chip with the destination's name and the status. */
export function StatusChip(props: { status: string; label?: string; title?: string }) {
  const word = LABELS[props.status] ?? props.status;
  return (
    <span class={`chip chip-${props.status}`} title={props.title}>
      {props.label ? <span class="chip-name">{props.label}</span> : null}
      <span class="chip-status">{word}</span>
    </span>
  );
}

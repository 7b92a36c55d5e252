/** The one-click "resend what a paused destination skipped or failed" form. */
import { formatTime } from "./format.ts";
import { CsrfField } from "./layout.tsx";

/**
 * Posts a confirmed bulk retry of one destination's failed and skipped deliveries of the
 * events received since `since` (when its pause began, `health.since`).
 */
export function ResendSincePause(
  props: { csrf: string; destinationId: string; name: string; since: string },
) {
  return (
    <form method="post" action="/failures/retry" class="notice ok stack">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="platform_id" value={props.destinationId} />
      <input type="hidden" name="status" value="failed" />
      <input type="hidden" name="status" value="skipped" />
      <input type="hidden" name="from" value={props.since} />
      <input type="hidden" name="confirm" value="1" />
      <p>
        <strong>{props.name}</strong> was paused from {formatTime(props.since)}{" "}
        until its settings were fixed. Its events from then were skipped or failed.
      </p>
      <button type="submit">Resend everything it skipped or failed while paused</button>
    </form>
  );
}

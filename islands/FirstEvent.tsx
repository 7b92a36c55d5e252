import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/** How often the page asks whether the first event arrived, ms. */
const POLL_MS = 3_000;

/**
 * "Waiting for your first event…" until one arrives, then when it did: asks `url` (the
 * dashboard's JSON of `GET /v1/workspace/install`) every 3 s while waiting.
 */
export default function FirstEvent(props: { firstEventAt: string | null; url: string }) {
  const first = useSignal(props.firstEventAt);
  useEffect(() => {
    if (first.value) return;
    const timer = setInterval(async () => {
      try {
        const res = await fetch(props.url, { headers: { accept: "application/json" } });
        if (!res.ok) return;
        const body: { first_event_at?: unknown } = await res.json();
        if (typeof body.first_event_at === "string") {
          first.value = body.first_event_at;
          clearInterval(timer);
        }
      } catch {
        // Offline for a moment: the next tick asks again.
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  const at = first.value;
  return (
    <p role="status" class={`notice ${at ? "ok" : "warn"}`}>
      {at
        ? `First event received at ${at.replace("T", " ").replace(/\.\d+Z$/, " UTC")}.`
        : "Waiting for your first event… (this checks every 3 seconds)"}
    </p>
  );
}

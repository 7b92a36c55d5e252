import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { clock, type LiveEvent, type LiveFilters } from "./_live.ts";
import { StatusChip } from "./_status.tsx";

/** Most events the view keeps. */
const KEEP = 200;

/** Props of {@linkcode LiveEvents}. */
export interface LiveEventsProps {
  initial: LiveEvent[];
  filters: LiveFilters;
  statuses: string[];
}

/**
 * Events as they arrive, over server-sent events, with pause and filters and a status chip
 * per destination that changes as deliveries settle. Without JavaScript the server renders
 * the newest events and the filters work as a form.
 */
export default function LiveEvents(props: LiveEventsProps) {
  const events = useSignal<LiveEvent[]>(props.initial);
  const paused = useSignal(false);
  const held = useSignal<LiveEvent[]>([]);
  const state = useSignal("Showing the newest events");
  const filters = useSignal<LiveFilters>(props.filters);

  useEffect(() => {
    const query = new URLSearchParams(
      Object.entries(filters.value).filter(([, v]) => v) as [string, string][],
    );
    const last = events.value[0]?.id;
    if (last) query.set("after", last);
    const source = new EventSource(`/live/stream?${query}`);
    source.onopen = () => state.value = "Live: new events appear at the top";
    source.onerror = () => state.value = "Reconnecting…";
    source.addEventListener("event", (message) => {
      const event = JSON.parse((message as MessageEvent).data) as LiveEvent;
      if (paused.value) held.value = [event, ...held.value].slice(0, KEEP);
      else events.value = [event, ...events.value].slice(0, KEEP);
    });
    source.addEventListener("update", (message) => {
      const event = JSON.parse((message as MessageEvent).data) as LiveEvent;
      const replace = (list: LiveEvent[]) => list.map((e) => e.id === event.id ? event : e);
      events.value = replace(events.value);
      held.value = replace(held.value);
    });
    return () => source.close();
  }, [filters.value]);

  const togglePause = () => {
    if (paused.value) {
      events.value = [...held.value, ...events.value].slice(0, KEEP);
      held.value = [];
    }
    paused.value = !paused.value;
  };

  const applyFilters = (form: HTMLFormElement) => {
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim() || undefined;
    events.value = [];
    held.value = [];
    filters.value = {
      event_name: text("event_name"),
      source: text("source"),
      status: text("status"),
    };
  };

  return (
    <div>
      <form
        class="live-bar"
        method="get"
        action="/live"
        onSubmit={(e) => {
          e.preventDefault();
          applyFilters(e.currentTarget);
        }}
      >
        <div class="field">
          <label for="live-name">Event name</label>
          <input id="live-name" name="event_name" value={filters.value.event_name ?? ""} />
        </div>
        <div class="field">
          <label for="live-source">Source</label>
          <input id="live-source" name="source" value={filters.value.source ?? ""} />
        </div>
        <div class="field">
          <label for="live-status">Delivery status</label>
          <select id="live-status" name="status">
            <option value="">any</option>
            {props.statuses.map((s) => (
              <option key={s} value={s} selected={s === filters.value.status}>{s}</option>
            ))}
          </select>
        </div>
        <button type="submit">Apply</button>
        <button type="button" class="secondary" onClick={togglePause} aria-pressed={paused.value}>
          {paused.value ? `Resume (${held.value.length} new)` : "Pause"}
        </button>
      </form>
      <p class="live-state" role="status">{paused.value ? "Paused" : state.value}</p>
      <div class="table-wrap">
        <table class="stacked">
          <caption class="visually-hidden">Events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Event</th>
              <th scope="col">Order</th>
              <th scope="col">Destinations</th>
            </tr>
          </thead>
          <tbody>
            {events.value.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">Waiting for events…</td>
              </tr>
            )}
            {events.value.map((e) => (
              <tr key={e.id} data-event-id={e.event_id}>
                <td data-label="Time (UTC)">{clock(e.received_at)}</td>
                <td data-label="Event" class="break">
                  <a href={`/events/${encodeURIComponent(e.event_id)}`}>{e.event_name}</a>
                  <br />
                  <small class="muted">{e.source}</small>
                </td>
                <td data-label="Order" class="break">{e.order_id ?? "—"}</td>
                <td data-label="Destinations">
                  {e.deliveries.length === 0
                    ? <span class="muted">none yet</span>
                    : e.deliveries.map((d) => (
                      <StatusChip
                        key={d.platform_id}
                        status={d.status}
                        label={d.name}
                        title={d.error}
                      />
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

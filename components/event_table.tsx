import type { SluiceEvent } from "../core/event.ts";
import type { DeliveryRow } from "../lib/delivery/rows.ts";
import { StatusChip } from "../islands/_status.tsx";
import { formatTime } from "./format.ts";

/** One event in a list, with its delivery rows. */
export interface ListedEvent {
  event: SluiceEvent;
  rows: DeliveryRow[];
}

/** Each destination's status on an event, as chips named by destination. */
export function DeliveryChips(props: { rows: DeliveryRow[]; names: Record<string, string> }) {
  if (props.rows.length === 0) return <span class="muted">no destination</span>;
  return (
    <>
      {props.rows.map((row) => (
        <StatusChip
          key={row.platform_id}
          status={row.status}
          label={props.names[row.platform_id] ?? row.type}
          title={row.last_error}
        />
      ))}
    </>
  );
}

/** A table of events: time, name, ids, value and where each went. */
export function EventTable(props: { events: ListedEvent[]; names: Record<string, string> }) {
  return (
    <div class="table-wrap">
      <table class="stacked">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Event</th>
            <th scope="col">Order</th>
            <th scope="col" class="num hide-narrow">Value</th>
            <th scope="col">Destinations</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map(({ event, rows }) => (
            <tr key={event.id}>
              <td data-label="Received">{formatTime(event.received_at)}</td>
              <td data-label="Event" class="break">
                <a href={`/events/${encodeURIComponent(event.event_id)}`}>{event.event_name}</a>
                <br />
                <small class="muted">{event.event_id}</small>
              </td>
              <td data-label="Order" class="break">{event.order_id ?? "—"}</td>
              <td data-label="Value" class="num hide-narrow">
                {event.value === undefined ? "—" : `${event.value} ${event.currency ?? ""}`}
              </td>
              <td data-label="Destinations">
                <DeliveryChips rows={rows} names={props.names} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What the live view sends and shows for one event: no personal data, statuses only. */

/** One destination's status on a live event. */
export interface LiveDelivery {
  platform_id: string;
  name: string;
  status: string;
  error?: string;
}

/** One event in the live view. */
export interface LiveEvent {
  /** Storage id (ULID), the SSE event id. */
  id: string;
  event_id: string;
  event_name: string;
  source: string;
  received_at: number;
  order_id?: string;
  value?: number;
  currency?: string;
  deliveries: LiveDelivery[];
}

/** The live view's filters. */
export interface LiveFilters {
  event_name?: string;
  source?: string;
  status?: string;
}

/** A time as `14:05:09` in UTC (the same on the server and in the browser). */
export function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

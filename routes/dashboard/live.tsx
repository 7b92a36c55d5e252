/**
 * Live: events as they arrive. `GET /live/stream` is a server-sent event stream: it polls
 * the newest events once a second (one range read from the last event sent: an empty poll
 * costs one read, and ingest nothing), sends each new event that passes the filters, and
 * sends an `update` when the deliveries of an event still in flight change. A stream lasts
 * 15 seconds, then the browser reconnects with `Last-Event-ID` and resumes where it was, so
 * a graceful stop never waits on it.
 */
import { errorText, log } from "../../lib/log.ts";
import { type Context, Hono } from "hono";
import { Island } from "../../components/island.tsx";
import type { SluiceEvent } from "../../core/event.ts";
import LiveEvents from "../../islands/LiveEvents.tsx";
import type { LiveEvent, LiveFilters } from "../../islands/_live.ts";
import { deliveriesOf, DELIVERY_STATUSES, type DeliveryRow } from "../../lib/delivery/rows.ts";
import { eventsAfter } from "../../lib/event_feed.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";
import { destinationNames } from "./events.tsx";

const POLL_MS = 1_000;
const STREAM_LIFE_MS = 15_000;
const SNAPSHOT = 25;
/** Events whose deliveries are still watched for changes, at most. */
const WATCHED = 50;
/** How long an event's deliveries are watched after it arrived. */
const WATCH_FOR_MS = 10 * 60_000;
const FINAL = new Set(["delivered", "failed", "skipped"]);

function filtersOf(c: Context<DashboardEnv>): LiveFilters {
  const text = (name: string) => c.req.query(name)?.trim().slice(0, 100) || undefined;
  return {
    event_name: text("event_name"),
    source: text("source"),
    status: DELIVERY_STATUSES.find((s) => s === c.req.query("status")),
  };
}

function passes(filters: LiveFilters, event: SluiceEvent, rows: DeliveryRow[]): boolean {
  return (!filters.event_name || event.event_name === filters.event_name) &&
    (!filters.source || event.source === filters.source) &&
    (!filters.status || rows.some((r) => r.status === filters.status));
}

/** An event as the live view shows it: ids, name, value and statuses; no personal data. */
export function liveEventOf(
  event: SluiceEvent,
  rows: DeliveryRow[],
  names: Record<string, string>,
): LiveEvent {
  return {
    id: event.id,
    event_id: event.event_id,
    event_name: event.event_name,
    source: event.source,
    received_at: event.received_at,
    ...(event.order_id ? { order_id: event.order_id } : {}),
    ...(event.value === undefined ? {} : { value: event.value, currency: event.currency }),
    deliveries: rows.map((r) => ({
      platform_id: r.platform_id,
      name: names[r.platform_id] ?? r.type,
      status: r.status,
      ...(r.last_error ? { error: r.last_error } : {}),
    })),
  };
}

/** `GET /live` and `GET /live/stream`. */
export function liveRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const snapshot = async (wsId: string, filters: LiveFilters, names: Record<string, string>) => {
    const events = await eventsAfter(rt.kv, rt.events.sealer, wsId, undefined, SNAPSHOT);
    const shown: LiveEvent[] = [];
    for (const event of events) {
      const rows = await deliveriesOf(rt.kv, wsId, event.id);
      if (passes(filters, event, rows)) shown.push(liveEventOf(event, rows, names));
    }
    return shown;
  };

  app.get("/live", async (c) => {
    const wsId = c.get("workspace").id;
    const filters = filtersOf(c);
    const names = await destinationNames(rt, wsId);
    const initial = (await snapshot(wsId, filters, names)).reverse();
    return page(
      c,
      "Live",
      <Island
        name="LiveEvents"
        component={LiveEvents}
        props={{ initial, filters, statuses: [...DELIVERY_STATUSES] }}
      />,
    );
  });

  app.get("/live/stream", (c) => {
    const wsId = c.get("workspace").id;
    const filters = filtersOf(c);
    const resumeFrom = (c.req.header("last-event-id") ?? c.req.query("after"))?.slice(0, 40);
    const encoder = new TextEncoder();
    let stopped = false;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (type: string, data: LiveEvent) => {
          if (stopped) return;
          controller.enqueue(
            encoder.encode(`event: ${type}\nid: ${data.id}\ndata: ${JSON.stringify(data)}\n\n`),
          );
        };
        try {
          controller.enqueue(encoder.encode("retry: 1000\n\n"));
          const names = await destinationNames(rt, wsId);
          const watched = new Map<string, { event: SluiceEvent; shown: string }>();
          const watch = (event: SluiceEvent, rows: DeliveryRow[], live: LiveEvent) => {
            const settled = rows.length > 0 && rows.every((r) => FINAL.has(r.status));
            if (!settled && Date.now() - event.received_at < WATCH_FOR_MS) {
              watched.set(event.id, { event, shown: JSON.stringify(live.deliveries) });
              if (watched.size > WATCHED) watched.delete(watched.keys().next().value!);
            }
          };
          let last = resumeFrom;
          if (!last) {
            for (const live of await snapshot(wsId, filters, names)) send("event", live);
            last = (await eventsAfter(rt.kv, rt.events.sealer, wsId, undefined, 1))[0]?.id;
          }
          const until = Date.now() + STREAM_LIFE_MS;
          while (!stopped && Date.now() < until) {
            const fresh = await eventsAfter(rt.kv, rt.events.sealer, wsId, last);
            for (const event of fresh) {
              last = event.id;
              const rows = await deliveriesOf(rt.kv, wsId, event.id);
              if (!passes(filters, event, rows)) continue;
              const live = liveEventOf(event, rows, names);
              send("event", live);
              watch(event, rows, live);
            }
            for (const [id, { event, shown }] of [...watched]) {
              if (fresh.some((e) => e.id === id)) continue;
              const rows = await deliveriesOf(rt.kv, wsId, id);
              const live = liveEventOf(event, rows, names);
              if (JSON.stringify(live.deliveries) !== shown) send("update", live);
              watched.delete(id);
              watch(event, rows, live);
            }
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          }
        } catch (error) {
          if (!stopped) log.error("Live stream failed", { error: errorText(error) });
        } finally {
          if (!stopped) controller.close();
        }
      },
      cancel() {
        stopped = true;
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });

  return app;
}

/**
 * The events list (filters like `GET /v1/events`) and the search box every page carries:
 * an event id, order id, click or browser id, customer or anonymous id, or an email; an
 * exact hit opens the event.
 */
import { type Context, Hono } from "hono";
import { EventTable, type ListedEvent } from "../../components/event_table.tsx";
import type { SluiceEvent } from "../../core/event.ts";
import { deliveriesOf, DELIVERY_STATUSES } from "../../lib/delivery/rows.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { lookUp } from "../../lib/event_lookup.ts";
import { roleAllows } from "../../lib/auth/accounts.ts";
import { InvalidCursorError } from "../../lib/kv/page.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

const PAGE_SIZE = 50;

/** Whether an event is an exact match for a search text (ids, click ids, email). */
export function matchesExactly(event: SluiceEvent, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return false;
  const u = event.user_data;
  const ids = [
    event.event_id,
    event.order_id,
    u.customer_id,
    u.anonymous_id,
    ...(u.external_ids ?? []),
    ...Object.values(u.click_ids ?? {}),
    ...Object.values(u.browser_ids ?? {}),
  ];
  if (ids.some((id) => typeof id === "string" && id.toLowerCase() === q)) return true;
  // An email is compared in memory with the opened event; it is never stored or indexed.
  return q.includes("@") && typeof u.email === "string" && u.email.trim().toLowerCase() === q;
}

/** Most events a search lists. */
const SEARCH_LIMIT = 20;

/**
 * The events a search text names exactly: from the index (order id, email, click ids,
 * customer id), else among the newest events for the ids the index does not hold (anonymous,
 * external and browser ids, and events stored before the index).
 */
async function findEvents(rt: Runtime, wsId: string, query: string): Promise<SluiceEvent[]> {
  const hits = await lookUp(rt.kv, wsId, query, SEARCH_LIMIT);
  if (hits.length > 0) {
    const views = await Promise.all(hits.map((hit) => rt.events.getByUlid(wsId, hit.ulid)));
    return views.flatMap((view) => view ? [view.event] : []);
  }
  const scanned = await rt.events.list(wsId, {
    limit: SEARCH_LIMIT,
    filter: (e) => matchesExactly(e, query),
  });
  return scanned.data;
}

/** Names of the workspace's destinations by id. */
export async function destinationNames(rt: Runtime, wsId: string): Promise<Record<string, string>> {
  const list = await rt.destinations.list(wsId);
  return Object.fromEntries(list.map((d) => [d.id, d.name]));
}

async function withRows(rt: Runtime, wsId: string, events: SluiceEvent[]): Promise<ListedEvent[]> {
  return await Promise.all(
    events.map(async (event) => ({ event, rows: await deliveriesOf(rt.kv, wsId, event.id) })),
  );
}

/** `GET /events` and `GET /search`. */
export function eventsRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  app.get("/events", async (c) => {
    const wsId = c.get("workspace").id;
    const q = {
      name: c.req.query("event_name")?.slice(0, 100) || undefined,
      status: DELIVERY_STATUSES.find((s) => s === c.req.query("status")),
      platform: c.req.query("platform")?.slice(0, 64) || undefined,
      cursor: c.req.query("cursor")?.slice(0, 500),
    };
    const byDelivery = async (e: SluiceEvent) => {
      if (!q.status && !q.platform) return true;
      return (await deliveriesOf(rt.kv, wsId, e.id)).some((r) =>
        (!q.status || r.status === q.status) && (!q.platform || r.platform_id === q.platform)
      );
    };
    let result: { data: SluiceEvent[]; next_cursor: string | null };
    try {
      result = await rt.events.list(wsId, {
        limit: PAGE_SIZE,
        cursor: q.cursor,
        filter: async (e) => (!q.name || e.event_name === q.name) && await byDelivery(e),
      });
    } catch (error) {
      if (!(error instanceof InvalidCursorError)) throw error;
      result = { data: [], next_cursor: null };
    }
    const names = await destinationNames(rt, wsId);
    const more = new URLSearchParams({
      ...(q.name ? { event_name: q.name } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.platform ? { platform: q.platform } : {}),
      ...(result.next_cursor ? { cursor: result.next_cursor } : {}),
    });
    return page(
      c,
      "Events",
      <>
        <form method="get" action="/events" class="filters">
          <div class="field">
            <label for="f-name">Event name</label>
            <input id="f-name" name="event_name" value={q.name ?? ""} placeholder="purchase" />
          </div>
          <div class="field">
            <label for="f-status">Delivery status</label>
            <select id="f-status" name="status">
              <option value="">any</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s} value={s} selected={s === q.status}>{s}</option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-platform">Destination</label>
            <select id="f-platform" name="platform">
              <option value="">any</option>
              {Object.entries(names).map(([id, name]) => (
                <option key={id} value={id} selected={id === q.platform}>{name}</option>
              ))}
            </select>
          </div>
          <button type="submit">Filter</button>
        </form>
        {result.data.length === 0
          ? (
            <p>
              {q.name || q.status || q.platform
                ? "No event matches these filters among the newest 5,000."
                : "No events yet. Events appear here as soon as Sluice accepts them."}
            </p>
          )
          : <EventTable events={await withRows(rt, wsId, result.data)} names={names} />}
        {result.next_cursor && (
          <p>
            <a href={`/events?${more}`}>Older events</a>
          </p>
        )}
      </>,
    );
  });

  app.get("/search", async (c: Context<DashboardEnv>) => {
    const wsId = c.get("workspace").id;
    const query = (c.req.query("q") ?? "").trim().slice(0, 200);
    if (!query) return c.redirect("/events", 303);
    const direct = await rt.events.getByEventId(wsId, query);
    if (direct) return c.redirect(`/events/${encodeURIComponent(direct.event.event_id)}`, 303);
    if (query.includes("@") && !roleAllows(c.get("role"), "member")) {
      return page(
        c,
        "Search",
        <p class="notice warn" role="status">
          Viewers cannot search by email: the answer would tell whether a person has events. A
          member or owner can.
        </p>,
        { query, status: 403 },
      );
    }
    const found = await findEvents(rt, wsId, query);
    if (found.length === 1) {
      return c.redirect(`/events/${encodeURIComponent(found[0]!.event_id)}`, 303);
    }
    const names = await destinationNames(rt, wsId);
    return page(
      c,
      "Search",
      <>
        <p role="status">
          {found.length === 0
            ? `No event matches "${query}". Order ids, emails, click ids and customer ids are looked up in every stored event; other ids among the newest 5,000.`
            : `${found.length} events match "${query}", newest first.`}
        </p>
        {found.length > 0 && <EventTable events={await withRows(rt, wsId, found)} names={names} />}
      </>,
      { query },
    );
  });

  return app;
}

/**
 * One event (click 2 of "did this purchase reach Meta, and what did Meta say?"): the event
 * as received and as normalised, the dedup, consent and routing decisions, then per
 * destination every attempt with the platform's answer; replay, retry, forward, a platform
 * test send and "copy as cURL". Viewers see statuses and counts only: no user data,
 * properties, page, request or response bodies (enforced here, on the server).
 */
import { type Context, Hono } from "hono";
import { formatLatency, formatTime } from "../../components/format.ts";
import { Island } from "../../components/island.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { connectorFor } from "../../connectors/mod.ts";
import type { SluiceEvent } from "../../core/event.ts";
import CopyButton from "../../islands/CopyButton.tsx";
import { StatusChip } from "../../islands/_status.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import type { PlatformTestResult } from "../../lib/delivery/platform_test_send.ts";
import { curlOf, previewRequest } from "../../lib/delivery/preview.ts";
import { deliveriesOf, type DeliveryRow } from "../../lib/delivery/rows.ts";
import type { EventView } from "../../lib/event_store.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

/** Notices an action redirects back with (fixed texts: nothing from the request is echoed). */
const NOTICES: Record<string, string> = {
  replay: "Replay queued: the event goes through the current rules again.",
  retry_failed: "The failed deliveries are queued again.",
  forward: "Forward queued to the chosen destinations.",
  nothing: "Nothing was queued: no delivery matched.",
};

/** The event without what a viewer may not see: user data, properties, page, items' extras. */
export function viewerSafeEvent(event: SluiceEvent): Record<string, unknown> {
  const { user_data, properties, page: _page, items, ...rest } = event;
  return {
    ...rest,
    user_data: `${Object.keys(user_data).length} fields hidden for viewers`,
    properties: `${Object.keys(properties).length} properties hidden for viewers`,
    ...(items ? { items: `${items.length} items` } : {}),
  };
}

function Facts(props: { rows: [string, string | number | undefined][] }) {
  return (
    <dl class="facts">
      {props.rows.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => (
        <>
          <dt key={`${k}-t`}>{k}</dt>
          <dd key={`${k}-d`}>{String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

function History(props: { row: DeliveryRow; full: boolean }) {
  const history = props.row.history ?? [];
  if (history.length === 0) return <p class="muted">No attempt yet.</p>;
  return (
    <div class="table-wrap">
      <table class="stacked">
        <caption class="visually-hidden">Attempts, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Attempt</th>
            <th scope="col">Result</th>
            <th scope="col">HTTP</th>
            <th scope="col" class="hide-narrow">Latency</th>
            <th scope="col">What the platform said</th>
          </tr>
        </thead>
        <tbody>
          {[...history].reverse().map((h, i) => (
            <tr key={i}>
              <td data-label="When">{formatTime(h.at)}</td>
              <td data-label="Attempt">{h.note ? h.note.replace("_", " ") : `#${h.attempt}`}</td>
              <td data-label="Result">
                <StatusChip status={h.status} />
              </td>
              <td data-label="HTTP">{h.http_status ?? "—"}</td>
              <td data-label="Latency" class="hide-narrow">{formatLatency(h.latency_ms)}</td>
              <td data-label="What the platform said" class="break">
                {h.detail && <div>{h.detail}</div>}
                {h.error && <div>{h.error}</div>}
                {props.full && h.request && (
                  <div class="muted">
                    {h.request.method} {h.request.url}
                    {h.request.events > 1 &&
                      ` (event ${h.request.position + 1} of ${h.request.events} in the request)`}
                  </div>
                )}
                {props.full && h.response && (
                  <details>
                    <summary>Answer body</summary>
                    <pre>{h.response}</pre>
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DestinationPanel(
  props: {
    rt: Runtime;
    event: SluiceEvent;
    row: DeliveryRow;
    destination: Destination | undefined;
    full: boolean;
    canAct: boolean;
    csrf: string;
    test?: PlatformTestResult;
  },
) {
  const { row, destination, full } = props;
  const preview = full && destination && row.status !== "skipped"
    ? previewRequest(props.rt.destinations, connectorFor, destination, props.event, row.event_name)
    : undefined;
  const curl = preview && "request" in preview ? curlOf(preview.request) : undefined;
  return (
    <section class="panel" aria-labelledby={`d-${row.platform_id}`}>
      <h2 id={`d-${row.platform_id}`}>
        {destination?.name ?? row.platform_id} <span class="muted">({row.type})</span>{" "}
        <StatusChip status={row.status} />
      </h2>
      <Facts
        rows={[
          ["Sent as", row.event_name],
          ["Attempts", row.attempts],
          ["Last HTTP status", row.last_status],
          ["Latency", row.latency_ms === undefined ? undefined : formatLatency(row.latency_ms)],
          ["Platform said", row.detail],
          [row.status === "skipped" ? "Why skipped" : "Last error", row.last_error],
          [
            "Next retry",
            row.status === "retrying" && row.next_attempt_at
              ? formatTime(row.next_attempt_at)
              : undefined,
          ],
          ["Updated", formatTime(row.updated_at)],
        ]}
      />
      <h3>Attempts</h3>
      <History row={row} full={full} />
      {full && preview && (
        <details>
          <summary>This event's request (secrets masked)</summary>
          {"request" in preview
            ? (
              <>
                <p class="muted">
                  The event mapped alone with the destination's current settings; a batch carries it
                  beside others in the same form.
                </p>
                <pre>{curl}</pre>
              </>
            )
            : <p>Not available: {preview.unavailable}.</p>}
        </details>
      )}
      {props.canAct && (
        <div class="actions">
          {curl && (
            <Island
              name="CopyButton"
              component={CopyButton}
              props={{ text: curl, label: "Copy as cURL" }}
            />
          )}
          {destination && (
            <form
              method="post"
              action={`/events/${encodeURIComponent(props.event.event_id)}/test/${destination.id}`}
            >
              <CsrfField token={props.csrf} />
              <button type="submit" class="secondary">Send the platform's test event</button>
            </form>
          )}
        </div>
      )}
      {props.test && (
        <div class={`notice ${props.test.ok ? "ok" : "error"}`} role="status">
          <p>
            Test {props.test.sent ? "sent" : "not sent"}: {props.test.ok ? "accepted" : "refused"}
            {props.test.status !== null && ` (HTTP ${props.test.status})`}.{" "}
            {props.test.test_mode ?? "This platform has no test mode."}
          </p>
          {props.test.response && <pre>{props.test.response}</pre>}
        </div>
      )}
    </section>
  );
}

/** `/events/:event_id` and its actions. */
export function eventRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const load = async (c: Context<DashboardEnv>): Promise<EventView | null> =>
    await rt.events.getByEventId(c.get("workspace").id, c.req.param("event_id") ?? "");

  const render = async (
    c: Context<DashboardEnv>,
    view: EventView,
    extra: { test?: { destinationId: string; result: PlatformTestResult } } = {},
  ) => {
    const wsId = c.get("workspace").id;
    const { event } = view;
    const full = roleAllows(c.get("role"), "member");
    const rows = await deliveriesOf(rt.kv, wsId, event.id);
    const destinations = await rt.destinations.list(wsId);
    const byId = new Map(destinations.map((d) => [d.id, d]));
    const csrf = c.get("session").csrf;
    const notice = NOTICES[c.req.query("done") ?? ""];
    const base = `/events/${encodeURIComponent(event.event_id)}`;
    const consent = event.consent
      ? Object.entries(event.consent).map(([k, v]) => `${k}: ${v}`).join(", ")
      : "not sent (treated as granted)";
    return page(
      c,
      `${event.event_name} · ${event.event_id}`,
      <>
        {notice && <p class="notice ok" role="status">{notice}</p>}
        <section class="panel" aria-labelledby="received">
          <h2 id="received">Received</h2>
          <Facts
            rows={[
              ["Event id (dedup key)", event.event_id],
              ["Order id", event.order_id],
              ["Name as sent", event.original_event_name ?? event.event_name],
              ["Canonical name", event.event_name],
              [
                "Value",
                event.value === undefined ? undefined : `${event.value} ${event.currency ?? ""}`,
              ],
              ["Happened", formatTime(event.event_time)],
              ["Received", formatTime(event.received_at)],
              ["Source / dialect", `${event.source} / ${event.dialect}`],
              ["Trace id", event.trace_id],
            ]}
          />
        </section>
        <section class="panel" aria-labelledby="decisions">
          <h2 id="decisions">Decisions</h2>
          <Facts
            rows={[
              [
                "Dedup",
                `Accepted as the first "${event.event_id}"; copies within the workspace's ${
                  Math.round(c.get("workspace").settings.dedup_window_seconds / 3600)
                } h window were answered as duplicates and not stored`,
              ],
              ["Consent", consent],
              [
                "Routing",
                view.handed_off_at
                  ? `Fanned out ${formatTime(view.handed_off_at)} to ${
                    rows.filter((r) => r.status !== "skipped").length
                  } of ${rows.length} destinations`
                  : "Not fanned out yet",
              ],
              ...rows.filter((r) => r.status === "skipped").map((r): [string, string] => [
                `Skipped ${byId.get(r.platform_id)?.name ?? r.platform_id}`,
                r.last_error ?? "",
              ]),
            ]}
          />
        </section>
        {full && (
          <section class="actions" aria-label="Actions">
            <form method="post" action={`${base}/replay`}>
              <CsrfField token={csrf} />
              <button type="submit">Replay</button>
            </form>
            {rows.some((r) => r.status === "failed") && (
              <form method="post" action={`${base}/retry-failed`}>
                <CsrfField token={csrf} />
                <button type="submit" class="secondary">Retry failed</button>
              </form>
            )}
            {destinations.length > 0 && (
              <form method="post" action={`${base}/forward`} class="inline">
                <CsrfField token={csrf} />
                <fieldset class="inline">
                  <legend>Forward to</legend>
                  {destinations.map((d) => (
                    <label key={d.id} class="inline">
                      <input type="checkbox" name="platforms" value={d.id} /> {d.name}
                    </label>
                  ))}
                </fieldset>
                <button type="submit" class="secondary">Forward</button>
              </form>
            )}
          </section>
        )}
        {rows.length === 0 && <p>No destination took this event.</p>}
        {rows.map((row) => (
          <DestinationPanel
            key={row.platform_id}
            rt={rt}
            event={event}
            row={row}
            destination={byId.get(row.platform_id)}
            full={full}
            canAct={full}
            csrf={csrf}
            test={extra.test?.destinationId === row.platform_id ? extra.test.result : undefined}
          />
        ))}
        <section class="panel" aria-labelledby="normalised">
          <h2 id="normalised">As normalised</h2>
          {!full && (
            <p class="muted">
              Viewers see no personal data: user data, properties and page are hidden.
            </p>
          )}
          <pre>{JSON.stringify(full ? event : viewerSafeEvent(event), null, 2)}</pre>
        </section>
      </>,
    );
  };

  const notFound = (c: Context<DashboardEnv>) =>
    errorPage(c, 404, "Event not found", "No event with that id in this workspace.");

  app.get("/events/:event_id", async (c) => {
    const view = await load(c);
    return view ? await render(c, view) : await notFound(c);
  });

  const act = (kind: "replay" | "retry_failed" | "forward") => async (c: Context<DashboardEnv>) => {
    const view = await load(c);
    if (!view) return await notFound(c);
    const wsId = c.get("workspace").id;
    let platforms: string[] = [];
    if (kind === "forward") {
      const given = (await c.req.parseBody({ all: true }))["platforms"];
      const list = (Array.isArray(given) ? given : [given]).filter((v) => typeof v === "string");
      const known = new Set((await rt.destinations.list(wsId)).map((d) => d.id));
      platforms = (list as string[]).filter((id) => known.has(id));
      if (platforms.length === 0) {
        return c.redirect(`/events/${encodeURIComponent(view.event.event_id)}?done=nothing`, 303);
      }
    }
    const queued = await rt.engine.requeue(
      wsId,
      view.event,
      kind === "forward" ? { kind, destinationIds: platforms } : { kind },
    );
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: c.get("account").id },
      action: `event.${kind}`,
      target: view.event.event_id,
      note: `${queued.length} ${queued.length === 1 ? "delivery" : "deliveries"} queued`,
    });
    const done = queued.length ? kind : "nothing";
    return c.redirect(`/events/${encodeURIComponent(view.event.event_id)}?done=${done}`, 303);
  };

  app.post("/events/:event_id/replay", requireRole("member"), act("replay"));
  app.post("/events/:event_id/retry-failed", requireRole("member"), act("retry_failed"));
  app.post("/events/:event_id/forward", requireRole("member"), act("forward"));

  app.post("/events/:event_id/test/:destination", requireRole("member"), async (c) => {
    const view = await load(c);
    if (!view) return await notFound(c);
    const wsId = c.get("workspace").id;
    const destination = await rt.destinations.get(wsId, c.req.param("destination"));
    if (!destination) return await notFound(c);
    const connector = connectorFor(destination.type);
    const valid = connector?.settings.safeParse(rt.destinations.settingsOf(destination)).success;
    const result = valid ? await rt.engine.testDestination(destination) : undefined;
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: c.get("account").id },
      action: "platform.test",
      target: destination.id,
      note: result ? `ok ${result.ok}` : "settings invalid",
    });
    if (!result) {
      return errorPage(c, 422, "Cannot test", "This destination's settings are invalid.");
    }
    return await render(c, view, { test: { destinationId: destination.id, result } });
  });

  return app;
}

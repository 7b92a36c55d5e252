/**
 * The overview: per destination, how its deliveries went in the last 24 hours, its health
 * and last error, and banners for destinations that are unhealthy or paused. The counts come
 * from a {@linkcode DeliveryCountsSource} (today the delivery rows; the analytics counters
 * can take its place without touching the page).
 */
import { Hono } from "hono";
import { formatCount, formatTime } from "../../components/format.ts";
import { StatusChip } from "../../islands/_status.tsx";
import {
  type DeliveryCountsSource,
  type DestinationCounts,
  rowCounts,
} from "../../lib/delivery/destination_counts.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

const RANGE_MS = 24 * 3_600_000;

function DestinationCard(props: { destination: Destination; counts?: DestinationCounts }) {
  const { destination: d } = props;
  const c = props.counts ?? { delivered: 0, failed: 0, skipped: 0, pending: 0 };
  const state = !d.enabled ? "paused" : d.health.status;
  return (
    <article class="card" aria-labelledby={`card-${d.id}`}>
      <h2 id={`card-${d.id}`}>
        {d.name} <span class="muted">({d.type})</span>
      </h2>
      <StatusChip status={state} />
      <div class="counts">
        <div>
          <strong>{formatCount(c.delivered)}</strong>
          <span>delivered</span>
        </div>
        <div>
          <strong>{formatCount(c.failed)}</strong>
          <span>failed</span>
        </div>
        <div>
          <strong>{formatCount(c.skipped)}</strong>
          <span>skipped</span>
        </div>
        <div>
          <strong>{formatCount(c.pending)}</strong>
          <span>pending</span>
        </div>
      </div>
      {c.last_error
        ? (
          <p class="break">
            <span class="muted">Last error ({formatTime(c.last_error.at)}):</span>{" "}
            {c.last_error.reason}
          </p>
        )
        : <p class="muted">No failure in the last 24 hours.</p>}
      <p>
        <a href={`/events?status=failed&platform=${encodeURIComponent(d.id)}`}>
          Failed events<span class="visually-hidden">&nbsp;for {d.name}</span>
        </a>
      </p>
    </article>
  );
}

/** `GET /`; `counts` says where the numbers come from. */
export function overviewRoutes(
  rt: Runtime,
  counts: DeliveryCountsSource = rowCounts(rt.kv),
): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.get("/", async (c) => {
    const wsId = c.get("workspace").id;
    const destinations = await rt.destinations.list(wsId);
    const { counts: byId, complete } = await counts(wsId, Date.now() - RANGE_MS);
    const unhealthy = destinations.filter((d) => d.health.status === "unhealthy");
    const paused = destinations.filter((d) => !d.enabled);
    return page(
      c,
      "Overview",
      <>
        {unhealthy.map((d) => (
          <p key={d.id} class="notice error" role="alert">
            <strong>{d.name} is unhealthy</strong>
            {d.health.since && ` since ${formatTime(d.health.since)}`}:{" "}
            {d.health.reason ?? "sends fail"}. Its events are skipped until its settings are fixed.
          </p>
        ))}
        {paused.map((d) => (
          <p key={d.id} class="notice warn" role="status">
            <strong>{d.name} is paused</strong>: events are not sent to it.
          </p>
        ))}
        <p class="muted">
          Deliveries of the events received in the last 24 hours, per destination
          {complete ? "" : " (the newest 20,000 only)"}.
        </p>
        {destinations.length === 0
          ? (
            <p>
              No destination is connected yet. Connect one with <code>POST /v1/platforms</code>{" "}
              (see the API reference at <a href="/openapi.json">/openapi.json</a>).
            </p>
          )
          : (
            <div class="cards">
              {destinations.map((d) => (
                <DestinationCard key={d.id} destination={d} counts={byId.get(d.id)} />
              ))}
            </div>
          )}
      </>,
    );
  });
  return app;
}

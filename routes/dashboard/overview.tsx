/**
 * The overview (`GET /?range=24h|7d|30d`): the span's headline figures, a volume chart of
 * events accepted, duplicates and rejected (uPlot in the browser, SVG lines and a table
 * without JavaScript), and a card per destination with its counts, a delivered/failed
 * sparkline, latency, match-quality and dedup badges and its newest error; banners for
 * destinations that are unhealthy or paused. Everything is read from the analytics counters
 * (the reports of `/v1/analytics/*` and a {@linkcode DeliveryCountsSource}), in parallel:
 * a load costs the span's buckets times the destinations, never the events.
 *
 * @module
 */
import { Hono } from "hono";
import { formatCount, formatLatency, formatTime } from "../../components/format.ts";
import { Island } from "../../components/island.tsx";
import { Sparkline } from "../../components/sparkline.tsx";
import { StatusChip } from "../../islands/_status.tsx";
import VolumeChart from "../../islands/VolumeChart.tsx";
import { HOUR_MS } from "../../lib/analytics/counters.ts";
import { type Dedup, dedup } from "../../lib/analytics/dedup.ts";
import { type Overview, overview } from "../../lib/analytics/overview.ts";
import { type Quality, quality } from "../../lib/analytics/quality.ts";
import { hoursOf, type RangeName, resolveRange, zonedDays } from "../../lib/analytics/range.ts";
import type { ReportContext } from "../../lib/analytics/report.ts";
import { type Interval, type Volume, volume } from "../../lib/analytics/volume.ts";
import {
  counterCounts,
  type DeliveryCountsSource,
  type DestinationCounts,
} from "../../lib/delivery/destination_counts.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { workspaceZone } from "../../lib/workspaces.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

/** The page's ranges: query value, words, bucket width. */
const RANGES: [value: RangeName, span: string, interval: Interval][] = [
  ["24h", "24 hours", "hour"],
  ["7d", "7 days", "day"],
  ["30d", "30 days", "day"],
];

type DestinationQuality = Quality["destinations"][number];
type DestinationPairs = Dedup["destinations"][number];

/** What one card shows besides the destination itself. */
interface CardFigures {
  counts: DestinationCounts;
  quality?: DestinationQuality;
  pairs?: DestinationPairs;
}

/** The counts of a destination without any delivery in the span. */
function noDeliveries(buckets: number): DestinationCounts {
  const zeros = Array<number>(buckets).fill(0);
  return {
    delivered: 0,
    failed: 0,
    skipped: 0,
    pending: 0,
    series: { delivered: zeros, failed: zeros },
    average_latency_ms: null,
    p95_latency_ms: null,
  };
}

/** A change in percent as `+20 %`, or nothing without a previous value. */
function Change(props: { pct: number | null }) {
  if (props.pct === null) return null;
  const sign = props.pct > 0 ? "+" : props.pct < 0 ? "−" : "±";
  return <em class="change">{`${sign}${Math.abs(props.pct)} % on the span before`}</em>;
}

function Headline(props: { o: Overview; span: string }) {
  const { o } = props;
  const rate = o.deliveries.rate;
  return (
    <section class="panel" aria-labelledby="headline">
      <h2 id="headline">The last {props.span}</h2>
      <div class="counts headline">
        <div>
          <strong>{formatCount(o.events.value)}</strong>
          <span>events accepted</span>
          <Change pct={o.events.change_pct} />
        </div>
        <div>
          <strong>{formatCount(o.duplicates.value)}</strong>
          <span>duplicates</span>
        </div>
        <div>
          <strong>{formatCount(o.rejected.value)}</strong>
          <span>rejected</span>
        </div>
        <div>
          <strong>{rate === null ? "—" : `${(rate * 100).toFixed(1)} %`}</strong>
          <span>delivered of those answered</span>
        </div>
        <div>
          <strong>{formatLatency(o.latency.p95_ms ?? undefined)}</strong>
          <span>p95 accept → delivery</span>
        </div>
        <div>
          <strong>{formatLatency(o.latency.average_ms ?? undefined)}</strong>
          <span>average accept → delivery</span>
        </div>
      </div>
    </section>
  );
}

function VolumeSection(props: { v: Volume; span: string; per: Interval }) {
  const { v, per } = props;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const duplicates = sum(v.duplicates);
  const totals = `${formatCount(sum(v.events))} accepted, ${formatCount(duplicates)} ${
    duplicates === 1 ? "duplicate" : "duplicates"
  }, ${formatCount(sum(v.rejected))} rejected`;
  const label = `Events per ${per}, last ${props.span} (${v.range.tz}): ${totals}`;
  return (
    <section class="panel" aria-labelledby="volume">
      <h2 id="volume">Events per {per}</h2>
      <p class="muted">
        Last {props.span}, {v.range.tz}: {totals}.
      </p>
      <Island
        name="VolumeChart"
        component={VolumeChart}
        props={{
          starts: v.buckets.map((b) => Date.parse(b.start)),
          events: v.events,
          duplicates: v.duplicates,
          rejected: v.rejected,
          per,
          tz: v.range.tz,
          label,
        }}
      />
      <details>
        <summary>The numbers per {per}</summary>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{label}</caption>
            <thead>
              <tr>
                <th scope="col">{per === "hour" ? "Hour (UTC)" : `Day (${v.range.tz})`}</th>
                <th scope="col" class="num">Accepted</th>
                <th scope="col" class="num">Duplicates</th>
                <th scope="col" class="num">Rejected</th>
              </tr>
            </thead>
            <tbody>
              {v.buckets.map((b, i) => (
                <tr key={b.start}>
                  <th scope="row">
                    {per === "hour" ? b.label.slice(0, 16).replace("T", " ") : b.label}
                  </th>
                  <td class="num">{formatCount(v.events[i] ?? 0)}</td>
                  <td class="num">{formatCount(v.duplicates[i] ?? 0)}</td>
                  <td class="num">{formatCount(v.rejected[i] ?? 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

/** The match-quality estimate as a badge linking to the destination on /quality. */
function QualityBadge(props: { q?: DestinationQuality; id: string; range: RangeName }) {
  const score = props.q?.score ?? null;
  const level = score === null ? "none" : score >= 7 ? "good" : score >= 4 ? "fair" : "poor";
  return (
    <a class={`badge badge-${level}`} href={`/quality?range=${props.range}#q-${props.id}`}>
      Match quality <strong>{score === null ? "—" : `${score.toFixed(1)} / 10`}</strong>
    </a>
  );
}

/** Browser/server pairs this destination saw, and the share counted once. */
/**
 * Of the pairs the destination would have seen, the share counted once. Merged pairs are
 * counted at ingest, before routing, so a destination that was sent nothing in the span
 * (paused, or every event skipped) shows none rather than the workspace's.
 */
function DedupBadge(props: { pairs?: DestinationPairs; sent: boolean; range: RangeName }) {
  const p = props.pairs;
  const href = `/quality?range=${props.range}#dedup`;
  if (!p || !props.sent || p.pairs_seen === 0) {
    return <a class="badge badge-none" href={href}>Dedup: no pairs</a>;
  }
  const once = p.pairs_seen - p.double_counted;
  const pct = Math.round((once / p.pairs_seen) * 100);
  return (
    <a class={`badge badge-${p.double_counted === 0 ? "good" : "fair"}`} href={href}>
      Pairs merged <strong>{pct} %</strong> ({formatCount(once)} of {formatCount(p.pairs_seen)})
    </a>
  );
}

/** The newest failure among the destination's issues, from their hashed examples. */
function lastFailure(q?: DestinationQuality): { detail: string; at: string } | undefined {
  const examples = (q?.issues ?? []).flatMap((i) =>
    i.status === "failed" && i.example ? [i.example] : []
  );
  return examples.sort((a, b) => b.at.localeCompare(a.at))[0];
}

function DestinationCard(
  props: { destination: Destination; figures: CardFigures; range: RangeName; per: Interval },
) {
  const { destination: d, figures } = props;
  const c = figures.counts;
  const state = !d.enabled ? "paused" : d.health.status;
  const failure = lastFailure(figures.quality);
  return (
    <article class="card dest-card" aria-labelledby={`card-${d.id}`}>
      <div class="card-head">
        <h3 id={`card-${d.id}`}>
          {d.name} <span class="muted">({d.type})</span>
        </h3>
        <StatusChip status={state} />
      </div>
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
      <Sparkline delivered={c.series.delivered} failed={c.series.failed} per={props.per} />
      <p class="latency">
        Accept → delivery: {c.p95_latency_ms !== null && (
          <>
            p95 <strong>{formatLatency(c.p95_latency_ms)}</strong>,{" "}
          </>
        )}
        average <strong>{formatLatency(c.average_latency_ms ?? undefined)}</strong>
      </p>
      <p class="badges">
        <QualityBadge q={figures.quality} id={d.id} range={props.range} />
        <DedupBadge
          pairs={figures.pairs}
          sent={c.delivered + c.failed + c.pending > 0}
          range={props.range}
        />
      </p>
      {failure
        ? (
          <p class="break">
            <span class="muted">Last error ({formatTime(failure.at)}):</span> {failure.detail}
          </p>
        )
        : <p class="muted">No failure in this span.</p>}
      <p>
        <a href={`/events?status=failed&platform=${encodeURIComponent(d.id)}`}>
          Failed events<span class="visually-hidden">&nbsp;for {d.name}</span>
        </a>
      </p>
    </article>
  );
}

function RangeLinks(props: { range: RangeName }) {
  return (
    <nav aria-labelledby="span-label" class="range-links">
      <span id="span-label" class="muted">The last</span>
      <ul>
        {RANGES.map(([value, span]) => (
          <li key={value}>
            <a href={`/?range=${value}`} aria-current={value === props.range ? "page" : undefined}>
              {span}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** `GET /`; `counts` says where the per-destination numbers come from. */
export function overviewRoutes(
  rt: Runtime,
  counts: DeliveryCountsSource = counterCounts,
): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.get("/", async (c) => {
    const wsId = c.get("workspace").id;
    const asked = c.req.query("range");
    const [range, span, per] = RANGES.find(([v]) => v === asked) ?? RANGES[0]!;
    const now = Date.now();
    const destinations = await rt.destinations.list(wsId);
    const ctx: ReportContext = {
      kv: rt.kv,
      wsId,
      range: resolveRange({ range, tz: workspaceZone(c.get("workspace")) }, now),
      destinations: destinations.map(({ id, name, type }) => ({ id, name, type })),
      now,
    };
    const buckets = per === "hour"
      ? hoursOf(ctx.range).map((start) => ({ start, end: start + HOUR_MS }))
      : zonedDays(ctx.range).map((day) => day.span);
    const [v, o, q, pairs, byId] = await Promise.all([
      volume(ctx, per),
      overview(ctx),
      quality(ctx),
      dedup(ctx),
      counts(ctx, buckets),
    ]);
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
        <RangeLinks range={range} />
        <Headline o={o} span={span} />
        <VolumeSection v={v} span={span} per={per} />
        <section aria-labelledby="destinations">
          <h2 id="destinations">Destinations</h2>
          <p class="muted">
            Deliveries of the events received in the last{" "}
            {span}, per destination; latency from acceptance to the platform's, for first
            deliveries.
          </p>
          {destinations.length === 0
            ? (
              <p>
                No destination is connected yet. Connect one on{" "}
                <a href="/destinations">Destinations</a> or with <code>POST /v1/platforms</code>.
              </p>
            )
            : (
              <div class="cards">
                {destinations.map((d) => (
                  <DestinationCard
                    key={d.id}
                    destination={d}
                    range={range}
                    per={per}
                    figures={{
                      counts: byId.get(d.id) ?? noDeliveries(buckets.length),
                      quality: q.destinations.find((x) => x.id === d.id),
                      pairs: pairs.destinations.find((x) => x.id === d.id),
                    }}
                  />
                ))}
              </div>
            )}
        </section>
      </>,
    );
  });
  return app;
}

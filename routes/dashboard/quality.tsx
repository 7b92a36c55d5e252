/**
 * Data quality (`GET /quality?range=24h|7d|30d`): per destination the match-quality estimate,
 * what to add next, identifier completeness and the top issues (lib/analytics/quality.ts); the
 * browser/server pairs (dedup.ts); orders received against orders each destination took, with
 * the first missing ones (reconciliation.ts). The same readers as `/v1/analytics/*`; counts
 * and hashed examples only, so viewers see it too.
 *
 * @module
 */
import { Hono } from "hono";
import { formatCount } from "../../components/format.ts";
import { FormField } from "../../components/form_field.tsx";
import { type Dedup, dedup } from "../../lib/analytics/dedup.ts";
import { type Quality, quality } from "../../lib/analytics/quality.ts";
import { type RangeName, resolveRange } from "../../lib/analytics/range.ts";
import { type Reconciliation, reconciliation } from "../../lib/analytics/reconciliation.ts";
import type { ReportContext } from "../../lib/analytics/report.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { workspaceZone } from "../../lib/workspaces.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";

/** The page's ranges: query value and label. */
const RANGES: [value: RangeName, label: string][] = [
  ["24h", "last 24 hours"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
];

/** Missing orders listed. */
const MISSING_SHOWN = 10;

type DestinationQuality = Quality["destinations"][number];

/** A share 0–1 as `42 %`, or a dash without a basis. */
function percent(share: number | null): string {
  return share === null ? "—" : `${Math.round(share * 100)} %`;
}

/** A bar of `share` in 5 % steps (classes, since the CSP allows no inline style). */
function Bar(props: { share: number | null }) {
  const step = Math.round((props.share ?? 0) * 20) * 5;
  return (
    <span class="bar" aria-hidden="true">
      <span class={`bar-fill w${step}`} />
    </span>
  );
}

function QualityCard(props: { d: DestinationQuality }) {
  const { d } = props;
  const rows = d.completeness.filter((c) => c.weight > 0 || (c.events_share ?? 0) > 0);
  return (
    <article class="card" aria-labelledby={`q-${d.id}`}>
      <h3 id={`q-${d.id}`}>
        {d.name} <span class="muted">({d.type})</span>
      </h3>
      <div class="counts">
        <div>
          <strong>{d.score === null ? "—" : `${d.score.toFixed(1)} / 10`}</strong>
          <span>match quality</span>
        </div>
        <div>
          <strong>{d.purchase_score === null ? "—" : `${d.purchase_score.toFixed(1)}`}</strong>
          <span>on purchases</span>
        </div>
        <div>
          <strong>{formatCount(d.events_sent)}</strong>
          <span>events sent</span>
        </div>
        <div>
          <strong>{formatCount(d.purchases_sent)}</strong>
          <span>purchases sent</span>
        </div>
      </div>
      {d.score === null && (
        <p class="muted">
          {d.events_sent === 0
            ? "No event was sent here in this range."
            : "No match-quality estimate for this platform."}
        </p>
      )}
      <h4>What to add next</h4>
      {d.next_steps.length === 0
        ? <p class="muted">Nothing to add: no identifier would raise the estimate noticeably.</p>
        : (
          <ul class="next-steps">
            {d.next_steps.map((s) => <li key={s.identifier}>{s.message}</li>)}
          </ul>
        )}
      {rows.length > 0 && (
        <div
          class="table-wrap"
          tabIndex={0}
          role="region"
          aria-label={`Identifier completeness for ${d.name}`}
        >
          <table>
            <caption class="visually-hidden">Identifier completeness for {d.name}</caption>
            <thead>
              <tr>
                <th scope="col">Identifier</th>
                <th scope="col" class="num">Events</th>
                <th scope="col" class="num">Purchases</th>
                <th scope="col" class="num">Weight</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.identifier}>
                  <th scope="row">{c.identifier.replaceAll("_", " ")}</th>
                  <td class="num">
                    {percent(c.events_share)}
                    <Bar share={c.events_share} />
                  </td>
                  <td class="num">{percent(c.purchases_share)}</td>
                  <td class="num">{c.weight}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h4>Top issues</h4>
      {d.issues.length === 0
        ? <p class="muted">No failed or skipped delivery in this range.</p>
        : (
          <ul class="plain issues">
            {d.issues.map((i) => (
              <li key={`${i.status}-${i.reason}`}>
                <strong>{formatCount(i.count)}</strong> {i.status}: {i.reason.replaceAll("_", " ")}
                {i.example && (
                  <div class="muted break">
                    e.g. {i.example.detail}
                    {i.example.event_id_sha256 && (
                      <>
                        {" "}(event <code>{i.example.event_id_sha256}</code>, hashed)
                      </>
                    )}
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
    </article>
  );
}

function DedupTable(props: { report: Dedup }) {
  const { report } = props;
  return (
    <section class="panel" aria-labelledby="dedup">
      <h2 id="dedup">Browser and server pairs</h2>
      <p class="muted">
        {formatCount(report.duplicates)}{" "}
        duplicate copies refused; pairs merged (same event id from both sides): {formatCount(
          report.merged_pairs.browser_then_server + report.merged_pairs.server_then_browser,
        )}; orders seen under two event ids: {formatCount(
          report.mismatched_ids.browser_then_server + report.mismatched_ids.server_then_browser +
            report.mismatched_ids.same_side,
        )}.
      </p>
      {report.destinations.length > 0 && (
        <div
          class="table-wrap"
          tabIndex={0}
          role="region"
          aria-label="Browser and server pairs per destination"
        >
          <table class="stacked long-labels">
            <caption class="visually-hidden">Browser and server pairs per destination</caption>
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col" class="num">Pairs seen</th>
                <th scope="col" class="num">Merged</th>
                <th scope="col" class="num">Mismatched ids</th>
                <th scope="col" class="num">Double counted</th>
                <th scope="col" class="num">Dedup rate</th>
              </tr>
            </thead>
            <tbody>
              {report.destinations.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.name}</th>
                  <td class="num" data-label="Pairs seen">{formatCount(d.pairs_seen)}</td>
                  <td class="num" data-label="Merged">{formatCount(d.merged)}</td>
                  <td class="num" data-label="Mismatched ids">
                    {formatCount(d.mismatched_ids_sent)}
                  </td>
                  <td class="num" data-label="Double counted">{formatCount(d.double_counted)}</td>
                  <td class="num" data-label="Dedup rate">
                    {percent(
                      d.pairs_seen === 0 ? null : (d.pairs_seen - d.double_counted) / d.pairs_seen,
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ReconciliationTable(props: { report: Reconciliation }) {
  const { report } = props;
  const names = new Map(report.destinations.map((d) => [d.id, d.name]));
  const missing = report.missing.data.slice(0, MISSING_SHOWN);
  return (
    <section class="panel" aria-labelledby="reconciliation">
      <h2 id="reconciliation">Orders</h2>
      <p class="muted">
        {formatCount(report.orders_received)} orders received (each order id once).
      </p>
      {report.destinations.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Orders per destination">
          <table class="stacked long-labels">
            <caption class="visually-hidden">Orders per destination</caption>
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col" class="num">Received</th>
                <th scope="col" class="num">Accepted</th>
                <th scope="col" class="num">Failed</th>
                <th scope="col" class="num">Skipped</th>
                <th scope="col" class="num">Pending</th>
                <th scope="col" class="num">Not routed</th>
              </tr>
            </thead>
            <tbody>
              {report.destinations.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.name}</th>
                  <td class="num" data-label="Received">{formatCount(report.orders_received)}</td>
                  <td class="num" data-label="Accepted">{formatCount(d.accepted)}</td>
                  <td class="num" data-label="Failed">{formatCount(d.failed)}</td>
                  <td class="num" data-label="Skipped">{formatCount(d.skipped)}</td>
                  <td class="num" data-label="Pending">{formatCount(d.pending)}</td>
                  <td class="num" data-label="Not routed">{formatCount(d.not_routed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Missing orders, newest first</h3>
      {missing.length === 0
        ? <p class="muted">None: every order sent was accepted or is still on its way.</p>
        : (
          <ul class="plain">
            {missing.map((m) => (
              <li key={`${m.destination_id}-${m.order_id}`}>
                <a href={`/search?q=${encodeURIComponent(m.order_id)}`} class="break">
                  Order {m.order_id}
                </a>{" "}
                <span class="muted">
                  {names.get(m.destination_id) ?? m.destination_id}: {m.status}
                  {m.reason && ` (${m.reason.replaceAll("_", " ")})`}
                </span>
              </li>
            ))}
          </ul>
        )}
    </section>
  );
}

/** `GET /quality`. */
export function qualityRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.get("/quality", async (c) => {
    const wsId = c.get("workspace").id;
    const asked = c.req.query("range");
    const range = RANGES.find(([v]) => v === asked)?.[0] ?? "7d";
    const now = Date.now();
    const destinations = await rt.destinations.list(wsId);
    const ctx: ReportContext = {
      kv: rt.kv,
      wsId,
      range: resolveRange({ range, tz: workspaceZone(c.get("workspace")) }, now),
      destinations: destinations.map(({ id, name, type }) => ({ id, name, type })),
      now,
    };
    const [q, pairs, orders] = await Promise.all([
      quality(ctx),
      dedup(ctx),
      reconciliation(ctx, { limit: MISSING_SHOWN }),
    ]);
    return page(
      c,
      "Data quality",
      <>
        <form method="get" action="/quality" class="filters">
          <FormField id="q-range" label="Events received in the">
            <select id="q-range" name="range">
              {RANGES.map(([value, label]) => (
                <option value={value} selected={value === range}>{label}</option>
              ))}
            </select>
          </FormField>
          <button type="submit" class="secondary">Show</button>
        </form>
        <p class="muted">
          Counts only; examples are hashed. Estimates weigh the identifiers each platform matches on
          (0–10). Days in {ctx.range.tz} (the workspace's time zone, on Settings).
        </p>
        <section aria-labelledby="match">
          <h2 id="match">Match quality per destination</h2>
          {q.destinations.length === 0
            ? <p>No destination is connected yet.</p>
            : (
              <div class="cards wide">
                {q.destinations.map((d) => <QualityCard key={d.id} d={d} />)}
              </div>
            )}
        </section>
        {q.rejected_fields.length > 0 && (
          <section class="panel" aria-labelledby="rejected">
            <h2 id="rejected">Refused at ingest</h2>
            <ul class="plain">
              {q.rejected_fields.map((r) => (
                <li key={r.field}>
                  <strong>{formatCount(r.count)}</strong> <code>{r.field}</code>
                  {r.example && <span class="muted">: {r.example.detail}</span>}
                </li>
              ))}
            </ul>
          </section>
        )}
        <DedupTable report={pairs} />
        <ReconciliationTable report={orders} />
      </>,
    );
  });
  return app;
}

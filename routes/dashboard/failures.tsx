/**
 * Failures: the failed and skipped deliveries grouped by destination and reason (as
 * `GET /v1/deliveries/failures`), and a bulk retry of a filtered set (as
 * `POST /v1/deliveries/retry`): a dry run says how many match, a confirm queues them.
 * Viewers see the groups; members and owners retry.
 */
import { type Context, Hono } from "hono";
import { formatCount, formatTime } from "../../components/format.ts";
import {
  dateTimeValue,
  describedBy,
  FormField,
  parseDateTime,
} from "../../components/form_field.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { ResendSincePause } from "../../components/resend_paused.tsx";
import { StatusChip } from "../../islands/_status.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import { findDeliveries } from "../../lib/delivery/bulk_retry.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import { failureReport } from "../../lib/delivery/failures.ts";
import { DELIVERY_ROW_TTL_MS } from "../../lib/delivery/rows.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

/** The report's ranges: query value, label, hours. */
const RANGES: [value: string, label: string, hours: number][] = [
  ["1h", "last hour", 1],
  ["24h", "last 24 hours", 24],
  ["7d", "last 7 days", 168],
  ["30d", "last 30 days", 720],
];

/** Statuses a bulk retry from this page may pick. */
const RETRY_STATUSES = ["failed", "skipped"] as const;
type RetryStatus = typeof RETRY_STATUSES[number];

/** Most groups shown. */
const GROUP_LIMIT = 50;

/** A bulk retry filter as the form holds it, with the problems found in it. */
interface RetryForm {
  platformId: string;
  statuses: RetryStatus[];
  from: string;
  to: string;
  errors: Partial<Record<"platform_id" | "status" | "from" | "to", string>>;
}

/** A dry run's answer, shown above the confirm button. */
interface DryRun {
  matched: number;
  truncated: boolean;
  start: number;
  end: number;
}

function DestinationSelect(
  props: { id: string; name: string; destinations: Destination[]; value: string },
) {
  return (
    <select id={props.id} name={props.name}>
      <option value="">All destinations</option>
      {props.destinations.map((d) => (
        <option value={d.id} selected={d.id === props.value}>{d.name} ({d.type})</option>
      ))}
    </select>
  );
}

function RetryFilter(
  props: { csrf: string; destinations: Destination[]; form: RetryForm },
) {
  const { form } = props;
  const e = form.errors;
  return (
    <form method="post" action="/failures/retry" class="filters" novalidate>
      <CsrfField token={props.csrf} />
      <FormField id="retry-platform" label="Destination" error={e.platform_id}>
        <DestinationSelect
          id="retry-platform"
          name="platform_id"
          destinations={props.destinations}
          value={form.platformId}
        />
      </FormField>
      <fieldset aria-describedby={e.status ? "retry-status-error" : undefined}>
        <legend>Statuses</legend>
        {RETRY_STATUSES.map((status) => (
          <label class="check">
            <input
              type="checkbox"
              name="status"
              value={status}
              checked={form.statuses.includes(status)}
            />{" "}
            {status}
          </label>
        ))}
        {e.status && <small id="retry-status-error" class="field-error">{e.status}</small>}
      </fieldset>
      <FormField
        id="retry-from"
        label="Received from (UTC)"
        error={e.from}
      >
        <input
          id="retry-from"
          name="from"
          type="datetime-local"
          value={form.from}
          aria-describedby={describedBy("retry-from", false, e.from)}
          aria-invalid={e.from ? "true" : undefined}
        />
      </FormField>
      <FormField id="retry-to" label="Until (UTC, empty: now)" error={e.to}>
        <input
          id="retry-to"
          name="to"
          type="datetime-local"
          value={form.to}
          aria-describedby={describedBy("retry-to", false, e.to)}
          aria-invalid={e.to ? "true" : undefined}
        />
      </FormField>
      <button type="submit" class="secondary">Count matching deliveries</button>
    </form>
  );
}

function ConfirmRetry(props: { csrf: string; form: RetryForm; run: DryRun; name: string }) {
  const { run } = props;
  const noun = run.matched === 1 ? "delivery matches" : "deliveries match";
  return (
    <div class={`notice ${run.matched ? "warn" : "ok"}`} role="status">
      <p>
        <strong>{formatCount(run.matched)} {noun}</strong>: {props.name},{" "}
        {props.form.statuses.join(" and ")}, events received {formatTime(run.start)} to{" "}
        {formatTime(run.end)}.
        {run.truncated && " The search stopped early: narrow the time range to find them all."}
      </p>
      {run.matched > 0 && (
        <form method="post" action="/failures/retry" class="inline">
          <CsrfField token={props.csrf} />
          <input type="hidden" name="platform_id" value={props.form.platformId} />
          {props.form.statuses.map((s) => <input key={s} type="hidden" name="status" value={s} />)}
          <input type="hidden" name="from" value={new Date(run.start).toISOString()} />
          <input type="hidden" name="to" value={new Date(run.end).toISOString()} />
          <input type="hidden" name="confirm" value="1" />
          <button type="submit">
            Queue {run.matched === 1 ? "this delivery" : `these ${formatCount(run.matched)}`}
          </button>
        </form>
      )}
    </div>
  );
}

/** `/failures` and `POST /failures/retry`. */
export function failuresRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const render = async (
    c: Context<DashboardEnv>,
    retry?: { form: RetryForm; run?: DryRun },
  ) => {
    const wsId = c.get("workspace").id;
    const canAct = roleAllows(c.get("role"), "member");
    const destinations = await rt.destinations.list(wsId);
    const byId = new Map(destinations.map((d) => [d.id, d]));
    const rangeValue = RANGES.some(([v]) => v === c.req.query("range"))
      ? c.req.query("range")!
      : "24h";
    const hours = RANGES.find(([v]) => v === rangeValue)![2];
    const platformId = byId.has(c.req.query("platform") ?? "") ? c.req.query("platform")! : "";
    const end = Date.now();
    const report = await failureReport(rt.kv, rt.events.sealer, wsId, destinations, {
      start: end - hours * 3_600_000,
      end,
      destinationId: platformId || undefined,
      limit: GROUP_LIMIT,
    });
    const queued = Number.parseInt(c.req.query("queued") ?? "", 10);
    const csrf = c.get("session").csrf;
    const form: RetryForm = retry?.form ?? {
      platformId,
      statuses: ["failed"],
      from: dateTimeValue(end - hours * 3_600_000),
      to: "",
      errors: {},
    };
    const resend = byId.get(c.req.query("resend") ?? "");
    const since = parseDateTime(c.req.query("since"));
    const paused = destinations.filter((d) => d.health.status === "unhealthy");
    return page(
      c,
      "Failures",
      <>
        {Number.isSafeInteger(queued) && queued >= 0 && (
          <p class="notice ok" role="status">
            {queued === 0
              ? "Nothing was queued: no delivery matched any more."
              : `${formatCount(queued)} ${
                queued === 1 ? "delivery is" : "deliveries are"
              } queued again. Follow them on the Events page.`}
          </p>
        )}
        {canAct && resend && since !== undefined && resend.health.status === "healthy" && (
          <ResendSincePause
            csrf={csrf}
            destinationId={resend.id}
            name={resend.name}
            since={new Date(since).toISOString()}
          />
        )}
        {paused.map((d) => (
          <p key={d.id} class="notice error" role="alert">
            <strong>{d.name} is paused</strong>
            {d.health.since && ` since ${formatTime(d.health.since)}`}:{" "}
            {d.health.reason ?? "its credentials were refused"}. {canAct
              ? (
                <>
                  <a href={`/destinations/${d.id}`}>Fix its settings</a>; then resend what it
                  skipped or failed in one click.
                </>
              )
              : "An owner or member can fix its settings."}
          </p>
        ))}
        <form method="get" action="/failures" class="filters">
          <FormField id="f-platform" label="Destination">
            <DestinationSelect
              id="f-platform"
              name="platform"
              destinations={destinations}
              value={platformId}
            />
          </FormField>
          <FormField id="f-range" label="Events received in the">
            <select id="f-range" name="range">
              {RANGES.map(([value, label]) => (
                <option value={value} selected={value === rangeValue}>{label}</option>
              ))}
            </select>
          </FormField>
          <button type="submit" class="secondary">Show</button>
        </form>
        <p class="muted">
          Failed and skipped deliveries of the events received from{" "}
          {formatTime(report.covered_from)} to{" "}
          {formatTime(report.end)}, grouped by destination and reason, largest
          first{report.truncated ? " (the scan stopped early)" : ""}.
        </p>
        {report.data.length === 0
          ? <p class="notice ok" role="status">No failed or skipped delivery in this range.</p>
          : (
            <div class="table-wrap">
              <table class="stacked">
                <caption class="visually-hidden">Failure groups, largest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Destination</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">Count</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Newest</th>
                    <th scope="col">Example events</th>
                  </tr>
                </thead>
                <tbody>
                  {report.data.map((g) => (
                    <tr>
                      <td data-label="Destination">
                        {g.name ?? <span class="muted">deleted</span>}{" "}
                        <span class="muted">({g.type})</span>
                      </td>
                      <td data-label="Status">
                        <StatusChip status={g.status} />
                      </td>
                      <td data-label="Count" class="num">{formatCount(g.count)}</td>
                      <td data-label="Reason" class="break">
                        {g.example_reason || <span class="muted">no reason recorded</span>}
                        {g.reason_key !== g.example_reason && (
                          <div class="muted">grouped as: {g.reason_key}</div>
                        )}
                      </td>
                      <td data-label="Newest">{formatTime(g.last_at)}</td>
                      <td data-label="Example events">
                        {g.event_ids.length === 0
                          ? <span class="muted">no longer stored</span>
                          : (
                            <ul class="plain">
                              {g.event_ids.map((id) => (
                                <li>
                                  <a href={`/events/${encodeURIComponent(id)}`} class="break">
                                    {id}
                                  </a>
                                </li>
                              ))}
                            </ul>
                          )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        {report.total_groups > report.data.length && (
          <p class="muted">
            The {report.data.length} largest of {report.total_groups} groups are shown.
          </p>
        )}
        {canAct && (
          <section class="panel" aria-labelledby="retry">
            <h2 id="retry">Retry a filtered set</h2>
            <p class="muted">
              Sends the chosen deliveries again with the destination's current settings. First count
              them; then confirm.
            </p>
            <RetryFilter csrf={csrf} destinations={destinations} form={form} />
            {retry?.run && (
              <ConfirmRetry
                csrf={csrf}
                form={form}
                run={retry.run}
                name={byId.get(form.platformId)?.name ?? "all destinations"}
              />
            )}
          </section>
        )}
      </>,
      { status: retry && Object.keys(retry.form.errors).length ? 400 : 200 },
    );
  };

  app.get("/failures", (c) => render(c));

  app.post("/failures/retry", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const body = await c.req.parseBody({ all: true });
    const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
    const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
    const form: RetryForm = {
      platformId: text(body.platform_id),
      statuses: list(body.status).filter((s): s is RetryStatus =>
        (RETRY_STATUSES as readonly unknown[]).includes(s)
      ),
      from: text(body.from),
      to: text(body.to),
      errors: {},
    };
    const now = Date.now();
    const start = form.from ? parseDateTime(form.from) : now - DELIVERY_ROW_TTL_MS;
    const end = form.to ? parseDateTime(form.to) : now;
    if (form.platformId && !(await rt.destinations.get(wsId, form.platformId))) {
      form.errors.platform_id = "No such destination in this workspace.";
    }
    if (form.statuses.length === 0) form.errors.status = "Choose failed, skipped or both.";
    if (start === undefined) form.errors.from = "Give a date and time, like 2026-01-31T14:05.";
    if (end === undefined) form.errors.to = "Give a date and time, like 2026-01-31T14:05.";
    if (start !== undefined && end !== undefined && start > end) {
      form.errors.from = "Must not be after the end of the range.";
    }
    if (Object.keys(form.errors).length || start === undefined || end === undefined) {
      return render(c, { form });
    }
    const { matches, truncated } = await findDeliveries(rt.kv, wsId, {
      destinationId: form.platformId || undefined,
      statuses: form.statuses,
      start,
      end,
    });
    const matched = [...matches.values()].reduce((sum, d) => sum + d.size, 0);
    if (body.confirm !== "1") {
      form.from = dateTimeValue(start);
      form.to = dateTimeValue(end);
      return render(c, { form, run: { matched, truncated, start, end } });
    }
    const queued = await rt.engine.resend(wsId, matches);
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: c.get("account").id },
      action: "deliveries.retry",
      target: form.platformId || undefined,
      note: `queued ${queued} of ${matched} (${form.statuses.join(", ")})`,
    });
    return c.redirect(`/failures?queued=${queued}`, 303);
  });

  return app;
}

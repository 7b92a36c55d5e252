/**
 * Settings: the workspace's allowed origins, time zone, dedup window, retention and rate limits
 * (the same bounds as `PATCH /v1/workspace`), and the browser pixel's install snippet with a copy
 * button and a "waiting for your first event…" check (as `GET /v1/workspace/install`).
 * Owners change settings; everyone else reads them.
 */
import { type Context, Hono } from "hono";
import { formatCount } from "../../components/format.ts";
import { describedBy, FormField } from "../../components/form_field.tsx";
import { Island } from "../../components/island.tsx";
import { CsrfField } from "../../components/layout.tsx";
import CopyButton from "../../islands/CopyButton.tsx";
import FirstEvent from "../../islands/FirstEvent.tsx";
import { isTimeZone } from "../../lib/analytics/tz.ts";
import { roleAllows } from "../../lib/auth/accounts.ts";
import { firstEventAt, pixelSnippet } from "../../lib/pixel_install.ts";
import type { Runtime } from "../../lib/runtime.ts";
import {
  normalizeOrigin,
  type WorkspaceSettings,
  workspaceSettingsSchema,
  workspaceZone,
} from "../../lib/workspaces.ts";
import type { DashboardEnv } from "./_env.ts";
import { page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

/** Most allowed origins, and the longest one (as the API). */
const MAX_ORIGINS = 50;
const MAX_ORIGIN_LENGTH = 256;

/** The numeric settings the form edits, in order: field, label, unit. */
const NUMBER_FIELDS: [Exclude<keyof WorkspaceSettings, "time_zone">, string, string][] = [
  ["dedup_window_seconds", "Dedup window", "seconds"],
  ["retention_days", "Event retention", "days"],
  ["counter_retention_days", "Counter retention (optional)", "days"],
  ["rate_limit_per_minute", "Rate limit, whole workspace", "events per minute"],
  ["browser_rate_limit_per_minute", "Browser rate limit, per client IP", "requests per minute"],
];

/** What each setting does and its bounds (those of the workspace settings schema). */
const HINTS: Record<keyof WorkspaceSettings, string> = {
  dedup_window_seconds:
    "How long a repeated event id counts as a duplicate: 60 to 2,592,000 (30 days). Default 86,400.",
  retention_days: "How long events are kept: 1 to 3,650.",
  counter_retention_days:
    "How long daily and weekly counters are kept: 35 to 3,650; empty keeps the current value (default 400). Hourly counters are kept 35 days.",
  time_zone:
    "Where the days of the overview, Data quality and the analytics API begin and end (an API request's tz overrides it). Times are shown in UTC.",
  rate_limit_per_minute: "Events accepted per minute across the workspace.",
  browser_rate_limit_per_minute:
    "Requests per minute from one client IP on the browser endpoints (the pixel).",
};

/**
 * Current names the runtime's zone list gives under an older alias (it lists Asia/Calcutta,
 * not Asia/Kolkata); both are offered.
 */
const RENAMED_ZONES = [
  "America/Nuuk",
  "Asia/Ho_Chi_Minh",
  "Asia/Kathmandu",
  "Asia/Kolkata",
  "Asia/Yangon",
  "Atlantic/Faroe",
  "Europe/Kyiv",
  "Pacific/Kanton",
];

/** The zones to choose from: UTC first, then every zone the runtime knows and `current`. */
function zonesWith(current: string): string[] {
  const zones = new Set([...Intl.supportedValuesOf("timeZone"), ...RENAMED_ZONES, current]);
  zones.delete("UTC");
  return ["UTC", ...[...zones].filter(isTimeZone).sort()];
}

/** What the form holds: text per field, problems per field. */
interface SettingsDraft {
  origins: string;
  timeZone: string;
  numbers: Partial<Record<keyof WorkspaceSettings, string>>;
  errors: Record<string, string>;
}

/** `/settings`, `POST /settings` and `GET /settings/install` (JSON, for the island). */
export function settingsRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const render = async (c: Context<DashboardEnv>, draft?: SettingsDraft) => {
    const workspace = (await rt.workspaces.get(c.get("workspace").id)) ?? c.get("workspace");
    const canEdit = roleAllows(c.get("role"), "owner");
    const origin = rt.config.publicUrl ?? new URL(c.req.url).origin;
    const snippet = pixelSnippet(origin, workspace.public_id);
    const first = await firstEventAt(rt.kv, workspace.id);
    const form: SettingsDraft = draft ?? {
      origins: workspace.allowed_origins.join("\n"),
      timeZone: workspaceZone(workspace),
      numbers: Object.fromEntries(
        NUMBER_FIELDS.map(([f]) => [f, workspace.settings[f]?.toString() ?? ""]),
      ),
      errors: {},
    };
    const saved = c.req.query("done") === "saved";
    const invalid = Object.keys(form.errors).length > 0;
    return page(
      c,
      "Settings",
      <>
        {saved && <p class="notice ok" role="status">Settings saved.</p>}
        <section class="panel" aria-labelledby="install">
          <h2 id="install">Install the browser pixel</h2>
          <p>
            Paste this into every page's <code>&lt;head&gt;</code>. Public id{" "}
            <code>{workspace.public_id}</code> (not a secret).
          </p>
          <pre id="snippet">{snippet}</pre>
          <Island
            name="CopyButton"
            component={CopyButton}
            props={{ text: snippet, label: "Copy the snippet" }}
          />
          <Island
            name="FirstEvent"
            component={FirstEvent}
            props={{
              firstEventAt: first === null ? null : new Date(first).toISOString(),
              url: "/settings/install",
            }}
          />
        </section>
        <section class="panel" aria-labelledby="workspace">
          <h2 id="workspace">Workspace settings</h2>
          {invalid && (
            <p class="notice error" role="alert">
              The settings were not saved: see the messages next to the fields.
            </p>
          )}
          {canEdit
            ? (
              <form method="post" action="/settings" class="filters settings-form" novalidate>
                <CsrfField token={c.get("session").csrf} />
                <FormField
                  id="origins"
                  label="Allowed origins, one per line"
                  hint={
                    <>
                      Sites whose browsers may send events, like <code>https://shop.example</code>;
                      {" "}
                      <code>https://*.shop.example</code>{" "}
                      allows every subdomain (list the bare domain too). At most {MAX_ORIGINS}.
                    </>
                  }
                  error={form.errors.allowed_origins}
                  wide
                >
                  <textarea
                    id="origins"
                    name="allowed_origins"
                    rows={4}
                    spellcheck={false}
                    aria-describedby={describedBy("origins", true, form.errors.allowed_origins)}
                    aria-invalid={form.errors.allowed_origins ? "true" : undefined}
                  >
                    {form.origins}
                  </textarea>
                </FormField>
                <FormField
                  id="s-time_zone"
                  label="Time zone of days"
                  hint={HINTS.time_zone}
                  error={form.errors.time_zone}
                  wide
                >
                  <select
                    id="s-time_zone"
                    name="time_zone"
                    aria-describedby={describedBy("s-time_zone", true, form.errors.time_zone)}
                    aria-invalid={form.errors.time_zone ? "true" : undefined}
                  >
                    {zonesWith(form.timeZone).map((zone) => (
                      <option key={zone} value={zone} selected={zone === form.timeZone}>
                        {zone}
                      </option>
                    ))}
                  </select>
                </FormField>
                {NUMBER_FIELDS.map(([field, label, unit]) => {
                  const id = `s-${field}`;
                  const error = form.errors[field];
                  return (
                    <FormField
                      key={field}
                      id={id}
                      label={`${label} (${unit})`}
                      hint={HINTS[field]}
                      error={error}
                      wide
                    >
                      <input
                        id={id}
                        name={field}
                        type="number"
                        step="1"
                        value={form.numbers[field] ?? ""}
                        required={field !== "counter_retention_days"}
                        aria-describedby={describedBy(id, true, error)}
                        aria-invalid={error ? "true" : undefined}
                      />
                    </FormField>
                  );
                })}
                <button type="submit">Save settings</button>
              </form>
            )
            : (
              <dl class="facts">
                <dt>Allowed origins</dt>
                <dd class="break">{workspace.allowed_origins.join(", ") || "none"}</dd>
                <dt>Time zone of days</dt>
                <dd>{workspaceZone(workspace)}</dd>
                {NUMBER_FIELDS.map(([field, label, unit]) => (
                  <>
                    <dt key={`${field}-t`}>{label}</dt>
                    <dd key={`${field}-d`}>
                      {workspace.settings[field] === undefined
                        ? "default"
                        : `${formatCount(workspace.settings[field]!)} ${unit}`}
                    </dd>
                  </>
                ))}
              </dl>
            )}
        </section>
      </>,
      { status: invalid ? 400 : 200 },
    );
  };

  app.get("/settings", (c) => render(c));

  app.get("/settings/install", async (c) => {
    const first = await firstEventAt(rt.kv, c.get("workspace").id);
    return c.json({ first_event_at: first === null ? null : new Date(first).toISOString() }, 200, {
      "cache-control": "no-store",
    });
  });

  app.post("/settings", requireRole("owner"), async (c) => {
    const body = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
    const draft: SettingsDraft = {
      origins: text(body.allowed_origins),
      timeZone: text(body.time_zone),
      numbers: Object.fromEntries(NUMBER_FIELDS.map(([f]) => [f, text(body[f])])),
      errors: {},
    };
    const lines = draft.origins.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const origins: string[] = [];
    for (const line of lines) {
      try {
        if (line.length > MAX_ORIGIN_LENGTH) {
          throw new TypeError(`"${line.slice(0, 40)}…" is longer than ${MAX_ORIGIN_LENGTH}`);
        }
        origins.push(normalizeOrigin(line));
      } catch (error) {
        draft.errors.allowed_origins ??= error instanceof TypeError
          ? error.message
          : `"${line}" is not an origin`;
      }
    }
    if (lines.length > MAX_ORIGINS) {
      draft.errors.allowed_origins ??= `At most ${MAX_ORIGINS} origins.`;
    }
    const given: Record<string, unknown> = {};
    if (draft.timeZone !== "") given.time_zone = draft.timeZone;
    for (const [field] of NUMBER_FIELDS) {
      const raw = draft.numbers[field] ?? "";
      if (raw === "") continue;
      given[field] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    const parsed = workspaceSettingsSchema.partial().strict().safeParse(given);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? "");
        draft.errors[field] ??= issue.message;
      }
    }
    for (const [field] of NUMBER_FIELDS) {
      if (field !== "counter_retention_days" && given[field] === undefined) {
        draft.errors[field] ??= "Required.";
      }
    }
    if (Object.keys(draft.errors).length || !parsed.success) return render(c, draft);
    const wsId = c.get("workspace").id;
    const before = await rt.workspaces.get(wsId);
    await rt.workspaces.update(wsId, { allowed_origins: origins, settings: parsed.data });
    const changed = [
      ...(before && before.allowed_origins.join() !== origins.join() ? ["allowed_origins"] : []),
      ...[...NUMBER_FIELDS.map(([f]) => f), "time_zone" as const].filter((f) =>
        parsed.data[f] !== undefined && before?.settings[f] !== parsed.data[f]
      ),
    ];
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: c.get("account").id },
      action: "workspace.update",
      target: wsId,
      note: changed.length ? changed.join(", ") : "no change",
    });
    return c.redirect("/settings?done=saved", 303);
  });

  return app;
}

/**
 * Destinations: the list with health, the last error and the last 24 hours' deliveries per
 * destination (as `GET /v1/deliveries/summary`); connecting one with a form generated from
 * its connector's settings schema; editing, the platform test, enable/disable and delete
 * (as `/v1/platforms`). Viewers see names, health and counts only.
 */
import { type Context, Hono } from "hono";
import { formatCount, formatLatency, formatTime } from "../../components/format.ts";
import { describedBy, FormField } from "../../components/form_field.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { ResendSincePause } from "../../components/resend_paused.tsx";
import {
  fieldMessage,
  fieldText,
  type SettingsField,
  settingsFields,
  settingsFromForm,
  SettingsInputs,
} from "../../components/settings_form.tsx";
import { connectorFor, CONNECTORS, type PlatformType } from "../../connectors/mod.ts";
import type { Connector } from "../../connectors/types.ts";
import { StatusChip } from "../../islands/_status.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import { checkSettings } from "../../lib/delivery/destination_settings.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import type { PlatformTestResult } from "../../lib/delivery/platform_test_send.ts";
import { deliverySummary, type DestinationSummary } from "../../lib/delivery/summary.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

const RANGE_MS = 24 * 3_600_000;

/** Notices an action redirects back with (fixed texts: nothing from the request is echoed). */
const NOTICES: Record<string, string> = {
  created: "Connected. Send the platform's test event to check the settings.",
  saved: "Settings saved.",
  enabled: "Enabled: events are sent to it again.",
  disabled: "Disabled: events are not sent to it until it is enabled.",
  deleted: "Destination deleted.",
};

/** A form being filled in: the text of each field and the problems found. */
interface DraftForm {
  name: string;
  values: Record<string, string>;
  errors: Record<string, string>;
}

function healthOf(d: Destination): "healthy" | "unhealthy" | "paused" {
  return !d.enabled ? "paused" : d.health.status;
}

function Counts(props: { summary?: DestinationSummary }) {
  const c = props.summary?.counts;
  return (
    <div class="counts">
      {(["delivered", "failed", "skipped", "pending"] as const).map((k) => (
        <div key={k}>
          <strong>
            {formatCount(
              k === "pending" ? (c?.pending ?? 0) + (c?.retrying ?? 0) : c?.[k] ?? 0,
            )}
          </strong>
          <span>{k}</span>
        </div>
      ))}
    </div>
  );
}

function DestinationForm(
  props: {
    action: string;
    csrf: string;
    connector: Connector;
    fields: SettingsField[];
    draft: DraftForm;
    storedSecrets: readonly string[];
    submit: string;
  },
) {
  const nameError = props.draft.errors["name"];
  return (
    <form method="post" action={props.action} class="filters settings-form" novalidate>
      <CsrfField token={props.csrf} />
      <FormField
        id="dest-name"
        label="Name"
        hint="How this destination is shown in Sluice"
        error={nameError}
        wide
      >
        <input
          id="dest-name"
          name="name"
          value={props.draft.name}
          required
          maxLength={100}
          aria-describedby={describedBy("dest-name", true, nameError)}
          aria-invalid={nameError ? "true" : undefined}
        />
      </FormField>
      <SettingsInputs
        fields={props.fields}
        values={props.draft.values}
        errors={props.draft.errors}
        storedSecrets={props.storedSecrets}
      />
      <button type="submit">{props.submit}</button>
    </form>
  );
}

function testHeadline({ checked, ok }: PlatformTestResult): string {
  if (checked === "nothing") return "Nothing was checked";
  const what = checked === "event" ? "Test event" : "Credentials";
  return `${what} ${ok ? "accepted" : "refused"}`;
}

function TestResult(props: { result: PlatformTestResult }) {
  const { result } = props;
  const said = "reason" in result.outcome ? result.outcome.reason : result.outcome.detail;
  return (
    <div class={`notice ${result.ok ? "ok" : "error"}`} role="status">
      <p>
        <strong>{testHeadline(result)}</strong>
        {result.status !== null && ` (HTTP ${result.status}`}
        {result.status !== null && `, ${formatLatency(result.latency_ms)})`}.{" "}
        {result.test_mode ?? "This platform has no test mode: no event was sent."}
      </p>
      <p>
        Outcome: <code>{result.outcome.kind}</code>
        {said && <span class="break">: {said}</span>}
      </p>
      {result.response && (
        <details open>
          <summary>The platform's answer</summary>
          <pre>{result.response}</pre>
        </details>
      )}
    </div>
  );
}

/** `/destinations`, `/destinations/new?type=…`, `/destinations/:id` and their actions. */
export function destinationsRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  const actor = (c: Context<DashboardEnv>) => ({
    kind: "account" as const,
    id: c.get("account").id,
  });

  app.get("/destinations", async (c) => {
    const wsId = c.get("workspace").id;
    const canAct = roleAllows(c.get("role"), "member");
    const destinations = await rt.destinations.list(wsId);
    const now = Date.now();
    const summary = await deliverySummary(rt.kv, wsId, destinations, {
      start: now - RANGE_MS,
      end: now,
    });
    const byId = new Map(summary.data.map((s) => [s.platform_id, s]));
    const notice = NOTICES[c.req.query("done") ?? ""];
    return page(
      c,
      "Destinations",
      <>
        {notice && <p class="notice ok" role="status">{notice}</p>}
        <p class="muted">
          Deliveries of the events received in the last 24 hours
          {summary.truncated ? " (the scan stopped early)" : ""}.
        </p>
        {destinations.length === 0 ? <p>No destination is connected yet.</p> : (
          <div class="cards">
            {destinations.map((d) => {
              const s = byId.get(d.id);
              return (
                <article class="card" aria-labelledby={`dest-${d.id}`} key={d.id}>
                  <h2 id={`dest-${d.id}`}>
                    <a href={`/destinations/${d.id}`}>{d.name}</a>{" "}
                    <span class="muted">({connectorFor(d.type)?.label ?? d.type})</span>
                  </h2>
                  <StatusChip status={healthOf(d)} />
                  <Counts summary={s} />
                  {d.health.status === "unhealthy" && (
                    <p class="break">
                      <span class="muted">
                        Paused since {formatTime(d.health.since)}:
                      </span>{" "}
                      {d.health.reason}
                    </p>
                  )}
                  {s?.last_error
                    ? (
                      <p class="break">
                        <span class="muted">
                          Last error ({formatTime(s.last_error_at ?? undefined)}):
                        </span>{" "}
                        {s.last_error}
                      </p>
                    )
                    : <p class="muted">No failure in the last 24 hours.</p>}
                </article>
              );
            })}
          </div>
        )}
        {canAct && (
          <section class="panel" aria-labelledby="connect">
            <h2 id="connect">Connect a destination</h2>
            <ul class="connectors">
              {CONNECTORS.map((connector) => (
                <li key={connector.id}>
                  <a class="button secondary" href={`/destinations/new?type=${connector.id}`}>
                    {connector.label}
                  </a>
                </li>
              ))}
            </ul>
          </section>
        )}
      </>,
    );
  });

  const renderNew = (
    c: Context<DashboardEnv>,
    connector: Connector,
    draft: DraftForm,
    status = 200,
  ) =>
    page(
      c,
      `Connect ${connector.label}`,
      <>
        <p>
          <a href={connector.docsUrl} rel="noreferrer" target="_blank">
            {connector.label} documentation<span class="visually-hidden">
              &nbsp;(opens in a new tab)
            </span>
          </a>
          {" · "}
          <a href="/destinations">All destinations</a>
        </p>
        {Object.keys(draft.errors).length > 0 && (
          <p class="notice error" role="alert">
            The settings were not saved: see the messages next to the fields.
          </p>
        )}
        <DestinationForm
          action={`/destinations/new?type=${connector.id}`}
          csrf={c.get("session").csrf}
          connector={connector}
          fields={settingsFields(connector)}
          draft={draft}
          storedSecrets={[]}
          submit="Connect"
        />
      </>,
      { status },
    );

  const connectorOfQuery = (c: Context<DashboardEnv>) => connectorFor(c.req.query("type") ?? "");

  app.get("/destinations/new", requireRole("member"), (c) => {
    const connector = connectorOfQuery(c);
    if (!connector) {
      return errorPage(c, 404, "No such destination type", "Choose one from the list.", {}, {
        href: "/destinations",
        label: "Back to the destinations",
      });
    }
    const values = Object.fromEntries(
      settingsFields(connector).map((f) => [f.name, f.kind === "enum" ? f.defaultText ?? "" : ""]),
    );
    return renderNew(c, connector, { name: connector.label, values, errors: {} });
  });

  /** Reads a posted destination form: its draft, and the settings it gives. */
  const readForm = async (c: Context<DashboardEnv>, fields: SettingsField[]) => {
    const form = await c.req.parseBody();
    const name = typeof form.name === "string" ? form.name.trim() : "";
    const values = Object.fromEntries(fields.map((f) => {
      const raw = form[`config.${f.name}`];
      return [
        f.name,
        f.secret ? "" : f.kind === "boolean" ? String(raw === "on") : String(raw ?? ""),
      ];
    }));
    const draft: DraftForm = { name, values, errors: {} };
    if (name.length < 1 || name.length > 100) {
      draft.errors.name = "Give a name of 1 to 100 characters.";
    }
    return { draft, settings: settingsFromForm(fields, form) };
  };

  /** Checks settings like the API; puts each problem next to its field. */
  const check = async (connector: Connector, draft: DraftForm, input: Record<string, unknown>) => {
    const checked = await checkSettings(connector, input, rt.urlGuard);
    if (checked.ok) return checked.settings;
    for (const error of checked.errors) {
      const field = error.path.replace(/^config\./, "").split(".")[0] ?? "";
      draft.errors[field] ??= checked.problem === "refused"
        ? `Not allowed: ${error.message}`
        : fieldMessage(field, error.message);
    }
    return undefined;
  };

  app.post("/destinations/new", requireRole("member"), async (c) => {
    const connector = connectorOfQuery(c);
    if (!connector) {
      return errorPage(c, 404, "No such destination type", "Choose one from the list.");
    }
    const fields = settingsFields(connector);
    const { draft, settings } = await readForm(c, fields);
    const checked = await check(connector, draft, settings);
    if (!checked || draft.errors.name) return renderNew(c, connector, draft, 400);
    const wsId = c.get("workspace").id;
    const destination = await rt.destinations.create(wsId, {
      type: connector.id as PlatformType,
      name: draft.name,
      enabled: true,
      settings: checked,
      secretFields: connector.secretFields,
    });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "platform.create",
      target: destination.id,
      note: connector.id,
    });
    // Secrets Sluice generated (a webhook's signing secret) are shown here, once.
    const generated = connector.secretFields.filter((f) =>
      settings[f] === undefined && checked[f] !== undefined
    );
    if (generated.length) {
      return renderDetail(c, destination, {
        generated: generated.map((f) => [f, String(checked[f])]),
      });
    }
    return c.redirect(`/destinations/${destination.id}?done=created`, 303);
  });

  const renderDetail = async (
    c: Context<DashboardEnv>,
    destination: Destination,
    extra: {
      draft?: DraftForm;
      test?: PlatformTestResult;
      testError?: string;
      generated?: [string, string][];
    } = {},
  ) => {
    const wsId = c.get("workspace").id;
    const canAct = roleAllows(c.get("role"), "member");
    const connector = connectorFor(destination.type);
    const csrf = c.get("session").csrf;
    const now = Date.now();
    const summary = await deliverySummary(rt.kv, wsId, [destination], {
      start: now - RANGE_MS,
      end: now,
    });
    const s = summary.data.find((d) => d.platform_id === destination.id);
    const fields = connector ? settingsFields(connector) : [];
    const stored = canAct ? rt.destinations.settingsOf(destination) : {};
    const draft = extra.draft ?? {
      name: destination.name,
      values: Object.fromEntries(fields.map((f) => [f.name, fieldText(f, stored[f.name])])),
      errors: {},
    };
    const notice = NOTICES[c.req.query("done") ?? ""];
    const fixedSince = c.req.query("fixed_since");
    const base = `/destinations/${destination.id}`;
    return page(
      c,
      destination.name,
      <>
        {notice && <p class="notice ok" role="status">{notice}</p>}
        {extra.generated && (
          <div class="notice ok" role="status">
            <p>Connected. Sluice generated these; they are shown only now:</p>
            {extra.generated.map(([field, value]) => (
              <p key={field}>
                {field}: <code class="break">{value}</code>
              </p>
            ))}
          </div>
        )}
        {canAct && fixedSince && destination.health.status === "healthy" &&
          !Number.isNaN(Date.parse(fixedSince)) && (
          <ResendSincePause
            csrf={csrf}
            destinationId={destination.id}
            name={destination.name}
            since={new Date(Date.parse(fixedSince)).toISOString()}
          />
        )}
        {destination.health.status === "unhealthy" && (
          <p class="notice error" role="alert">
            <strong>Paused since {formatTime(destination.health.since)}</strong>:{" "}
            {destination.health.reason ?? "the platform refused the credentials"}. Its events are
            skipped until the settings are saved again.
          </p>
        )}
        <section class="panel" aria-labelledby="status">
          <h2 id="status">Status</h2>
          <p>
            <StatusChip status={healthOf(destination)} />{" "}
            <span class="muted">
              {connector?.label ?? destination.type} · connected{" "}
              {formatTime(destination.created_at)}
            </span>
          </p>
          <Counts summary={s} />
          {s?.last_error && (
            <p class="break">
              <span class="muted">Last error ({formatTime(s.last_error_at ?? undefined)}):</span>
              {" "}
              {s.last_error}
            </p>
          )}
          <p>
            <a href={`/failures?platform=${destination.id}`}>Failures of this destination</a>
            {connector && (
              <>
                {" · "}
                <a href={connector.docsUrl} rel="noreferrer" target="_blank">
                  {connector.label} documentation<span class="visually-hidden">
                    &nbsp;(opens in a new tab)
                  </span>
                </a>
              </>
            )}
          </p>
          {canAct && (
            <div class="actions">
              <form method="post" action={`${base}/test`}>
                <CsrfField token={csrf} />
                <button type="submit" class="secondary">Send the platform's test event</button>
              </form>
              <form method="post" action={`${base}/enabled`}>
                <CsrfField token={csrf} />
                <input type="hidden" name="enabled" value={destination.enabled ? "0" : "1"} />
                <button type="submit" class="secondary">
                  {destination.enabled ? "Disable" : "Enable"}
                </button>
              </form>
              <form method="post" action={`${base}/delete`}>
                <CsrfField token={csrf} />
                <button type="submit" class="danger">Delete…</button>
              </form>
            </div>
          )}
          {extra.testError && <p class="notice error" role="alert">{extra.testError}</p>}
          {extra.test && <TestResult result={extra.test} />}
        </section>
        {canAct && connector && (
          <section class="panel" aria-labelledby="settings">
            <h2 id="settings">Settings</h2>
            {Object.keys(draft.errors).length > 0 && (
              <p class="notice error" role="alert">
                The settings were not saved: see the messages next to the fields.
              </p>
            )}
            <DestinationForm
              action={base}
              csrf={csrf}
              connector={connector}
              fields={fields}
              draft={draft}
              storedSecrets={destination.secret_fields}
              submit="Save settings"
            />
          </section>
        )}
      </>,
      { status: extra.draft && Object.keys(extra.draft.errors).length ? 400 : 200 },
    );
  };

  const load = async (c: Context<DashboardEnv>) =>
    await rt.destinations.get(c.get("workspace").id, c.req.param("id") ?? "");

  const notFound = (c: Context<DashboardEnv>) =>
    errorPage(c, 404, "No such destination", "It may have been deleted.", {}, {
      href: "/destinations",
      label: "Back to the destinations",
    });

  app.get("/destinations/:id", async (c) => {
    const destination = await load(c);
    return destination ? await renderDetail(c, destination) : await notFound(c);
  });

  app.post("/destinations/:id", requireRole("member"), async (c) => {
    const destination = await load(c);
    const connector = destination && connectorFor(destination.type);
    if (!destination || !connector) return notFound(c);
    const fields = settingsFields(connector);
    const { draft, settings } = await readForm(c, fields);
    const current = rt.destinations.settingsOf(destination);
    // Secrets left blank keep their stored value; every other field is as posted.
    const keptSecrets = Object.fromEntries(
      connector.secretFields.filter((f) => settings[f] === undefined && current[f] !== undefined)
        .map((f) => [f, current[f]]),
    );
    const checked = await check(connector, draft, { ...settings, ...keptSecrets });
    if (!checked || draft.errors.name) return renderDetail(c, destination, { draft });
    const wsId = c.get("workspace").id;
    await rt.destinations.update(wsId, destination.id, {
      name: draft.name,
      settings: checked,
      secretFields: connector.secretFields,
    });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "platform.update",
      target: destination.id,
    });
    const since = destination.health.status === "unhealthy" ? destination.health.since : undefined;
    return c.redirect(
      `/destinations/${destination.id}?done=saved${
        since ? `&fixed_since=${encodeURIComponent(since)}` : ""
      }`,
      303,
    );
  });

  app.post("/destinations/:id/test", requireRole("member"), async (c) => {
    const destination = await load(c);
    const connector = destination && connectorFor(destination.type);
    if (!destination || !connector) return notFound(c);
    if (!connector.settings.safeParse(rt.destinations.settingsOf(destination)).success) {
      return renderDetail(c, destination, {
        testError: "The stored settings are invalid: save them again first.",
      });
    }
    const result = await rt.engine.testDestination(destination);
    if (!result) return renderDetail(c, destination, { testError: "This type has no connector." });
    await rt.audit.record(c.get("workspace").id, {
      actor: actor(c),
      action: "platform.test",
      target: destination.id,
      note: `${result.ok ? "accepted" : "refused"}${
        result.status === null ? "" : `, HTTP ${result.status}`
      }`,
    });
    return renderDetail(c, destination, { test: result });
  });

  app.post("/destinations/:id/enabled", requireRole("member"), async (c) => {
    const destination = await load(c);
    if (!destination) return notFound(c);
    const enabled = (await c.req.parseBody()).enabled === "1";
    const wsId = c.get("workspace").id;
    await rt.destinations.update(wsId, destination.id, {
      enabled,
      secretFields: connectorFor(destination.type)?.secretFields ?? [],
    });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: enabled ? "platform.enable" : "platform.disable",
      target: destination.id,
    });
    return c.redirect(
      `/destinations/${destination.id}?done=${enabled ? "enabled" : "disabled"}`,
      303,
    );
  });

  app.post("/destinations/:id/delete", requireRole("member"), async (c) => {
    const destination = await load(c);
    if (!destination) return notFound(c);
    const wsId = c.get("workspace").id;
    if ((await c.req.parseBody()).confirm !== "yes") {
      return page(
        c,
        `Delete ${destination.name}?`,
        <>
          <p>
            Events stop going to{" "}
            <strong>{destination.name}</strong>, and its settings (secrets included) are removed.
            Deliveries already recorded stay on the events. This cannot be undone.
          </p>
          <div class="actions">
            <form method="post" action={`/destinations/${destination.id}/delete`}>
              <CsrfField token={c.get("session").csrf} />
              <input type="hidden" name="confirm" value="yes" />
              <button type="submit" class="danger">Delete {destination.name}</button>
            </form>
            <a class="button secondary" href={`/destinations/${destination.id}`}>Cancel</a>
          </div>
        </>,
      );
    }
    await rt.destinations.delete(wsId, destination.id);
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "platform.delete",
      target: destination.id,
    });
    return c.redirect("/destinations?done=deleted", 303);
  });

  return app;
}

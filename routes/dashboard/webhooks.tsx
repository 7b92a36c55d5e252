/**
 * Webhooks: the workspace's outbound webhooks; registering one (its signing secret shown once,
 * right after); per webhook its delivery log with redelivery, a test ping with the receiver's
 * answer, secret rotation (the new secret shown once; the old one signs beside it for 24 h),
 * enabling, disabling and deletion. The same services as `/v1/webhooks`. Members and owners
 * change webhooks; viewers see statuses and the log.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { formatLatency, formatTime } from "../../components/format.ts";
import {
  FieldError,
  type FieldErrors,
  invalidProps,
  type Notice,
  NoticeBox,
  SecretOnce,
} from "../../components/form.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { StatusChip } from "../../islands/_status.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import type { Runtime } from "../../lib/runtime.ts";
import {
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_CATALOGUE,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from "../../lib/webhooks/catalogue.ts";
import { listDeliveries } from "../../lib/webhooks/deliveries.ts";
import { RedeliverError, type TestPingResult } from "../../lib/webhooks/sender.ts";
import {
  type PublicWebhook,
  publicWebhook,
  SECRET_OVERLAP_MS,
  type Webhook,
  WebhookLimitError,
} from "../../lib/webhooks/store.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

/** Deliveries shown per page of the log. */
const LOG_PAGE = 25;

/** Notices an action redirects back with (fixed texts: nothing from the request is echoed). */
const NOTICES: Record<string, string> = {
  enabled: "Webhook enabled: it receives messages again.",
  disabled: "Webhook disabled: it receives nothing until it is enabled.",
  redelivered: "Delivery queued again, with the same message id.",
  deleted: "Webhook deleted; messages still queued for it are dropped.",
};

/** Subscribable types with their catalogue descriptions, in catalogue order. */
const TYPES = WEBHOOK_CATALOGUE.filter((spec) =>
  (WEBHOOK_EVENT_TYPES as readonly string[]).includes(spec.type)
);

const urlSchema = z.url({ protocol: /^https?$/ }).max(2048);

/** The registration form as typed. */
interface WebhookFormValues {
  url: string;
  description: string;
  events: string[];
}

function isEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

function WebhookStatus(props: { webhook: PublicWebhook }) {
  return <span class={`chip chip-wh-${props.webhook.status}`}>{props.webhook.status}</span>;
}

function CreateForm(props: { csrf: string; values: WebhookFormValues; errors: FieldErrors }) {
  const { values, errors } = props;
  return (
    <form method="post" action="/webhooks" class="editor">
      <CsrfField token={props.csrf} />
      <div class="field">
        <label for="webhook-url">Endpoint URL</label>
        <input
          id="webhook-url"
          name="url"
          type="url"
          required
          maxLength={2048}
          placeholder="https://crm.example/hooks/sluice"
          value={values.url}
          {...invalidProps(errors, "url", "url-error")}
        />
        <FieldError id="url-error" errors={errors} name="url" />
      </div>
      <div class="field">
        <label for="webhook-description">Description (optional)</label>
        <input
          id="webhook-description"
          name="description"
          maxLength={200}
          value={values.description}
          {...invalidProps(errors, "description", "description-error")}
        />
        <FieldError id="description-error" errors={errors} name="description" />
      </div>
      <fieldset {...invalidProps(errors, "events", "events-error")}>
        <legend>Message types</legend>
        {TYPES.map((spec) => (
          <label class="check" key={spec.type}>
            <input
              type="checkbox"
              name="events"
              value={spec.type}
              checked={values.events.includes(spec.type)}
            />
            <span>
              <code>{spec.type}</code> <span class="muted">{spec.description}</span>
            </span>
          </label>
        ))}
        <FieldError id="events-error" errors={errors} name="events" />
      </fieldset>
      <div class="actions">
        <button type="submit">Register webhook</button>
      </div>
    </form>
  );
}

function TestResult(props: { result: TestPingResult }) {
  const r = props.result;
  return (
    <div class={`notice ${r.delivered ? "ok" : "error"}`} role="status">
      <p>
        Test ping {r.delivered ? "delivered" : "not delivered"}
        {r.status !== null && ` (HTTP ${r.status})`} in {formatLatency(r.latency_ms)}.
        {r.error && ` ${r.error}`}
      </p>
      {r.response && (
        <>
          <p>The receiver answered:</p>
          <pre>{r.response}</pre>
        </>
      )}
    </div>
  );
}

/** `/webhooks` and `/webhooks/:id` with their actions. */
export function webhooksRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  const actor = (c: Context<DashboardEnv>) => ({
    kind: "account" as const,
    id: c.get("account").id,
  });
  const notFound = (c: Context<DashboardEnv>) =>
    errorPage(c, 404, "Webhook not found", "No webhook with that id in this workspace.", {}, {
      href: "/webhooks",
      label: "Back to the webhooks",
    });
  const shown = async (hook: Webhook) =>
    publicWebhook(hook, await rt.webhooks.health(hook.workspace_id, hook.id));

  const listPage = async (
    c: Context<DashboardEnv>,
    form: { values: WebhookFormValues; errors: FieldErrors; notice?: Notice; status?: number } = {
      values: { url: "", description: "", events: [...DEFAULT_WEBHOOK_EVENTS] },
      errors: {},
    },
  ) => {
    const wsId = c.get("workspace").id;
    const hooks = await Promise.all((await rt.webhooks.list(wsId)).map(shown));
    const canEdit = roleAllows(c.get("role"), "member");
    const done = NOTICES[c.req.query("done") ?? ""];
    return page(
      c,
      "Webhooks",
      <>
        <NoticeBox notice={form.notice ?? (done ? { kind: "ok", text: done } : undefined)} />
        <p class="muted">
          Sluice posts signed messages (Standard Webhooks) to these endpoints. See docs/webhooks.md
          for verifying signatures.
        </p>
        {hooks.length === 0 ? <p>No webhook yet.</p> : (
          <div class="table-wrap">
            <table class="stacked">
              <caption class="visually-hidden">Webhooks</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Status</th>
                  <th scope="col">Message types</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {hooks.map((hook) => (
                  <tr key={hook.id}>
                    <td data-label="Endpoint" class="break">
                      <a href={`/webhooks/${hook.id}`}>{hook.url}</a>
                      {hook.description && <div class="muted">{hook.description}</div>}
                    </td>
                    <td data-label="Status">
                      <WebhookStatus webhook={hook} />
                    </td>
                    <td data-label="Message types" class="break">{hook.events.join(", ")}</td>
                    <td data-label="Created">{formatTime(hook.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {canEdit && (
          <>
            <h2>Register a webhook</h2>
            <CreateForm csrf={c.get("session").csrf} values={form.values} errors={form.errors} />
          </>
        )}
      </>,
      { status: form.status },
    );
  };

  const detail = async (
    c: Context<DashboardEnv>,
    hook: Webhook,
    extra: {
      notice?: Notice;
      secret?: { label: string; value: string; note: string };
      test?: TestPingResult;
      status?: number;
    } = {},
  ) => {
    const wsId = c.get("workspace").id;
    const view = await shown(hook);
    const canEdit = roleAllows(c.get("role"), "member");
    const csrf = c.get("session").csrf;
    const cursor = c.req.query("cursor");
    const log = await listDeliveries(rt.kv, wsId, hook.id, { limit: LOG_PAGE, cursor })
      .catch(() => ({ data: [], next_cursor: null }));
    const done = NOTICES[c.req.query("done") ?? ""];
    const base = `/webhooks/${hook.id}`;
    return page(
      c,
      `Webhook: ${hook.url}`,
      <>
        {extra.secret && (
          <SecretOnce label={extra.secret.label} secret={extra.secret.value}>
            <p>{extra.secret.note}</p>
          </SecretOnce>
        )}
        <NoticeBox notice={extra.notice ?? (done ? { kind: "ok", text: done } : undefined)} />
        {extra.test && <TestResult result={extra.test} />}
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <WebhookStatus webhook={view} />
            {view.failing_since && ` every send failed since ${formatTime(view.failing_since)}`}
            {view.disabled_reason &&
              ` disabled ${formatTime(view.disabled_at)}: ${view.disabled_reason}`}
          </dd>
          <dt>Endpoint</dt>
          <dd class="break">{view.url}</dd>
          {view.description && (
            <>
              <dt>Description</dt>
              <dd>{view.description}</dd>
            </>
          )}
          <dt>Message types</dt>
          <dd class="break">{view.events.join(", ")}</dd>
          <dt>Created</dt>
          <dd>{formatTime(view.created_at)}</dd>
          {view.previous_secret_expires_at && (
            <>
              <dt>Previous secret</dt>
              <dd>signs beside the new one until {formatTime(view.previous_secret_expires_at)}</dd>
            </>
          )}
          <dt>Id</dt>
          <dd>
            <code>{view.id}</code>
          </dd>
        </dl>
        {canEdit && (
          <section class="actions" aria-label="Actions">
            <form method="post" action={`${base}/test`}>
              <CsrfField token={csrf} />
              <button type="submit">Send a test ping</button>
            </form>
            <form method="post" action={`${base}/enabled`}>
              <CsrfField token={csrf} />
              <input type="hidden" name="enabled" value={hook.enabled ? "false" : "true"} />
              <button type="submit" class="secondary">{hook.enabled ? "Disable" : "Enable"}</button>
            </form>
            <form method="post" action={`${base}/rotate`}>
              <CsrfField token={csrf} />
              <button type="submit" class="secondary">Rotate the signing secret</button>
            </form>
            <a href={`${base}/delete`} class="button danger">Delete…</a>
          </section>
        )}
        <h2>Delivery log</h2>
        {log.data.length === 0 ? <p>No delivery yet.</p> : (
          <div class="table-wrap">
            <table class="stacked">
              <caption class="visually-hidden">Deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Message type</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Attempts</th>
                  <th scope="col">Last answer</th>
                  {canEdit && <th scope="col">Redeliver</th>}
                </tr>
              </thead>
              <tbody>
                {log.data.map((d) => (
                  <tr key={d.id}>
                    <td data-label="When">{formatTime(d.updated_at)}</td>
                    <td data-label="Message type">
                      <code>{d.event_type}</code>
                    </td>
                    <td data-label="Status">
                      <StatusChip status={d.status} />
                      {d.status === "retrying" && d.next_attempt_at &&
                        <div class="muted">next {formatTime(d.next_attempt_at)}</div>}
                    </td>
                    <td data-label="Attempts" class="num">{d.attempts}</td>
                    <td data-label="Last answer" class="break">
                      {d.last_status !== undefined ? `HTTP ${d.last_status}` : "—"}
                      {d.last_error && <div class="muted">{d.last_error}</div>}
                    </td>
                    {canEdit && (
                      <td data-label="Redeliver">
                        <form method="post" action={`${base}/deliveries/${d.id}/redeliver`}>
                          <CsrfField token={csrf} />
                          <button
                            type="submit"
                            class="secondary"
                            aria-label={`Redeliver ${d.event_type} of ${formatTime(d.updated_at)}`}
                          >
                            Redeliver
                          </button>
                        </form>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {(cursor || log.next_cursor) && (
          <p class="actions">
            {cursor && <a href={base}>Newest</a>}
            {log.next_cursor && (
              <a href={`${base}?cursor=${encodeURIComponent(log.next_cursor)}`}>Older</a>
            )}
          </p>
        )}
        <p>
          <a href="/webhooks">All webhooks</a>
        </p>
      </>,
      { status: extra.status },
    );
  };

  const load = (c: Context<DashboardEnv>) =>
    rt.webhooks.get(c.get("workspace").id, c.req.param("id") ?? "");

  app.get("/webhooks", (c) => listPage(c));

  app.post("/webhooks", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const form = await c.req.parseBody({ all: true });
    const text = (name: string) => typeof form[name] === "string" ? form[name].trim() : "";
    const given = form.events;
    const values: WebhookFormValues = {
      url: text("url"),
      description: text("description"),
      events: (Array.isArray(given) ? given : [given]).filter((v): v is string =>
        typeof v === "string"
      ),
    };
    const errors: FieldErrors = {};
    if (!urlSchema.safeParse(values.url).success) {
      errors.url = "Give an http or https URL (at most 2,048 characters).";
    } else {
      const check = await rt.urlGuard(values.url);
      if (!check.ok) errors.url = `This URL is not allowed: ${check.reason}.`;
    }
    if (values.description.length > 200) errors.description = "At most 200 characters.";
    const events = values.events.filter(isEventType);
    if (events.length === 0 || events.length !== values.events.length) {
      errors.events = "Choose at least one message type from the list.";
    }
    const refuse = (notice?: Notice) =>
      listPage(c, {
        values,
        errors,
        status: 422,
        notice: notice ?? { kind: "error", text: "The webhook was not registered: see below." },
      });
    if (Object.keys(errors).length) return await refuse();
    let created;
    try {
      created = await rt.webhooks.create(wsId, {
        url: values.url,
        events,
        description: values.description,
        enabled: true,
      });
    } catch (error) {
      if (error instanceof WebhookLimitError) {
        return await refuse({ kind: "error", text: error.message });
      }
      throw error;
    }
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "webhook.create",
      target: created.webhook.id,
      note: `${events.length} message types`,
    });
    return await detail(c, created.webhook, {
      status: 201,
      secret: {
        label: "The signing secret",
        value: created.secret,
        note: "Your endpoint verifies each message's webhook-signature header with it.",
      },
    });
  });

  app.get("/webhooks/:id", async (c) => {
    const hook = await load(c);
    return hook ? await detail(c, hook) : await notFound(c);
  });

  app.post("/webhooks/:id/test", requireRole("member"), async (c) => {
    const hook = await load(c);
    if (!hook) return await notFound(c);
    const result = await rt.webhookSender.test(hook);
    await rt.audit.record(c.get("workspace").id, {
      actor: actor(c),
      action: "webhook.test",
      target: hook.id,
      note: result.status === null ? "no answer" : `HTTP ${result.status}`,
    });
    return await detail(c, hook, { test: result });
  });

  app.post("/webhooks/:id/enabled", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const hook = await load(c);
    if (!hook) return await notFound(c);
    const enabled = (await c.req.parseBody()).enabled === "true";
    await rt.webhooks.update(wsId, hook.id, { enabled });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "webhook.update",
      target: hook.id,
      note: enabled ? "enabled" : "disabled",
    });
    return c.redirect(`/webhooks/${hook.id}?done=${enabled ? "enabled" : "disabled"}`, 303);
  });

  app.post("/webhooks/:id/rotate", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const hook = await load(c);
    if (!hook) return await notFound(c);
    const rotated = await rt.webhooks.rotateSecret(wsId, hook.id);
    if (!rotated) return await notFound(c);
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "webhook.rotate_secret",
      target: hook.id,
    });
    return await detail(c, (await load(c)) ?? hook, {
      secret: {
        label: "The new signing secret",
        value: rotated.secret,
        note: `The old secret keeps signing beside it for ${SECRET_OVERLAP_MS / 3_600_000} h, ` +
          `until ${formatTime(rotated.previous_secret_expires_at)}: switch your endpoint to the ` +
          "new one before then.",
      },
    });
  });

  app.post("/webhooks/:id/deliveries/:delivery/redeliver", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const hook = await load(c);
    if (!hook) return await notFound(c);
    const deliveryId = c.req.param("delivery");
    try {
      await rt.webhookSender.redeliver(hook, deliveryId);
    } catch (error) {
      if (!(error instanceof RedeliverError)) throw error;
      return await detail(c, hook, {
        status: 422,
        notice: { kind: "error", text: `Not redelivered: ${error.message}` },
      });
    }
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "webhook.redeliver",
      target: hook.id,
      note: deliveryId,
    });
    return c.redirect(`/webhooks/${hook.id}?done=redelivered`, 303);
  });

  app.get("/webhooks/:id/delete", requireRole("member"), async (c) => {
    const hook = await load(c);
    if (!hook) return await notFound(c);
    return await page(
      c,
      "Delete this webhook?",
      <>
        <p class="break">
          <strong>{hook.url}</strong>{" "}
          stops receiving messages at once; messages still queued for it are dropped and its
          delivery log expires on its own.
        </p>
        <form method="post" action={`/webhooks/${hook.id}/delete`} class="actions">
          <CsrfField token={c.get("session").csrf} />
          <button type="submit" class="danger">Delete the webhook</button>
          <a href={`/webhooks/${hook.id}`} class="button secondary">Keep it</a>
        </form>
      </>,
    );
  });

  app.post("/webhooks/:id/delete", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const id = c.req.param("id");
    if (!(await rt.webhooks.delete(wsId, id))) return await notFound(c);
    await rt.audit.record(wsId, { actor: actor(c), action: "webhook.delete", target: id });
    return c.redirect("/webhooks?done=deleted", 303);
  });

  return app;
}

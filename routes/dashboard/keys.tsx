/**
 * API keys: the workspace's keys without their secrets; creating one (its secret shown once,
 * right after), rotating one with an overlap during which the old secret still works (the new
 * secret shown once, with the overlap's end), and revoking one after a confirmation (the last
 * admin key cannot be: the refusal is shown). Each key's last use ("never", or how long ago,
 * the exact time on hover), as `last_used_at` in `/v1/api-keys`. The same `ApiKeyStore`.
 * Members and owners change keys; viewers see the list.
 */
import { type Context, Hono } from "hono";
import { formatAgo, formatTime } from "../../components/format.ts";
import {
  FieldError,
  type FieldErrors,
  invalidProps,
  type Notice,
  NoticeBox,
  SecretOnce,
} from "../../components/form.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import {
  type ApiKeyRecord,
  LastAdminKeyError,
  type Scope,
  SCOPES,
} from "../../lib/auth/api_keys.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

const SCOPE_HELP: Record<Scope, string> = {
  ingest: "send events",
  read: "read events, deliveries and settings",
  admin: "everything, keys included",
};

/** Overlaps a rotation offers: label and milliseconds. */
const OVERLAPS: [label: string, ms: number][] = [
  ["none: it stops now", 0],
  ["1 hour", 3_600_000],
  ["24 hours", 86_400_000],
  ["7 days", 7 * 86_400_000],
];
const DEFAULT_OVERLAP_MS = 86_400_000;

const NOTICES: Record<string, string> = {
  revoked: "Key revoked: it stops working within seconds.",
};

interface KeyFormValues {
  name: string;
  scopes: string[];
}

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

function overlapRunning(key: ApiKeyRecord): string | undefined {
  return key.previous_expires_at && Date.parse(key.previous_expires_at) > Date.now()
    ? key.previous_expires_at
    : undefined;
}

/** `/keys` and its actions. */
export function keysRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  const actor = (c: Context<DashboardEnv>) => ({
    kind: "account" as const,
    id: c.get("account").id,
  });
  const notFound = (c: Context<DashboardEnv>) =>
    errorPage(c, 404, "Key not found", "No API key with that id in this workspace.", {}, {
      href: "/keys",
      label: "Back to the API keys",
    });

  const render = async (
    c: Context<DashboardEnv>,
    extra: {
      values?: KeyFormValues;
      errors?: FieldErrors;
      notice?: Notice;
      secret?: { label: string; value: string; note: string };
      status?: number;
    } = {},
  ) => {
    const wsId = c.get("workspace").id;
    const keys = await rt.apiKeys.list(wsId);
    const canEdit = roleAllows(c.get("role"), "member");
    const csrf = c.get("session").csrf;
    const values = extra.values ?? { name: "", scopes: ["ingest"] };
    const errors = extra.errors ?? {};
    const done = NOTICES[c.req.query("done") ?? ""];
    return page(
      c,
      "API keys",
      <>
        {extra.secret && (
          <SecretOnce label={extra.secret.label} secret={extra.secret.value}>
            <p>{extra.secret.note}</p>
          </SecretOnce>
        )}
        <NoticeBox notice={extra.notice ?? (done ? { kind: "ok", text: done } : undefined)} />
        <p class="muted">
          Keys authenticate servers to the API (<code>Authorization: Bearer sk_…</code>). Sluice
          keeps only a hash of each secret: a secret is shown once, when it is made.
        </p>
        {keys.length === 0 ? <p>No API key.</p> : (
          <div class="table-wrap">
            <table class="stacked">
              <caption class="visually-hidden">API keys, oldest first</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Starts with</th>
                  <th scope="col">Created</th>
                  <th scope="col">Rotated</th>
                  <th scope="col">Last used</th>
                  {canEdit && <th scope="col">Change</th>}
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => {
                  const overlap = overlapRunning(key);
                  return (
                    <tr key={key.id}>
                      <td data-label="Name" class="break">{key.name}</td>
                      <td data-label="Scopes">{key.scopes.join(", ")}</td>
                      <td data-label="Starts with">
                        <code>{key.prefix}…</code>
                      </td>
                      <td data-label="Created">{formatTime(key.created_at)}</td>
                      <td data-label="Rotated">
                        {key.rotated_at ? formatTime(key.rotated_at) : "—"}
                        {overlap && (
                          <div class="muted">old secret works until {formatTime(overlap)}</div>
                        )}
                      </td>
                      <td data-label="Last used">
                        {key.last_used_at
                          ? (
                            <time dateTime={key.last_used_at} title={formatTime(key.last_used_at)}>
                              {formatAgo(key.last_used_at)}
                            </time>
                          )
                          : "never"}
                      </td>
                      {canEdit && (
                        <td data-label="Change">
                          <div class="actions">
                            <form method="post" action={`/keys/${key.id}/rotate`} class="inline">
                              <CsrfField token={csrf} />
                              <label for={`overlap-${key.id}`}>Old secret works for</label>
                              <select id={`overlap-${key.id}`} name="overlap_ms">
                                {OVERLAPS.map(([label, ms]) => (
                                  <option value={ms} selected={ms === DEFAULT_OVERLAP_MS}>
                                    {label}
                                  </option>
                                ))}
                              </select>
                              <button
                                type="submit"
                                class="secondary"
                                aria-label={`Rotate ${key.name}`}
                              >
                                Rotate
                              </button>
                            </form>
                            <a
                              href={`/keys/${key.id}/revoke`}
                              class="button danger"
                              aria-label={`Revoke ${key.name}…`}
                            >
                              Revoke…
                            </a>
                          </div>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {keys.length > 0 && (
          <p class="muted">
            A key's last use is recorded at most every 5 minutes, so it may be a few minutes behind.
          </p>
        )}
        {canEdit && (
          <>
            <h2>Create a key</h2>
            <form method="post" action="/keys" class="editor">
              <CsrfField token={csrf} />
              <div class="field">
                <label for="key-name">Name</label>
                <input
                  id="key-name"
                  name="name"
                  required
                  maxLength={100}
                  placeholder="Checkout server"
                  value={values.name}
                  {...invalidProps(errors, "name", "name-error")}
                />
                <FieldError id="name-error" errors={errors} name="name" />
              </div>
              <fieldset {...invalidProps(errors, "scopes", "scopes-error")}>
                <legend>Scopes</legend>
                {SCOPES.map((scope) => (
                  <label class="check" key={scope}>
                    <input
                      type="checkbox"
                      name="scopes"
                      value={scope}
                      checked={values.scopes.includes(scope)}
                    />
                    <span>
                      {scope} <span class="muted">({SCOPE_HELP[scope]})</span>
                    </span>
                  </label>
                ))}
                <FieldError id="scopes-error" errors={errors} name="scopes" />
              </fieldset>
              <div class="actions">
                <button type="submit">Create key</button>
              </div>
            </form>
          </>
        )}
      </>,
      { status: extra.status },
    );
  };

  const load = async (c: Context<DashboardEnv>) => {
    const id = c.req.param("id");
    return (await rt.apiKeys.list(c.get("workspace").id)).find((k) => k.id === id);
  };

  app.get("/keys", (c) => render(c));

  app.post("/keys", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const form = await c.req.parseBody({ all: true });
    const given = form.scopes;
    const values: KeyFormValues = {
      name: typeof form.name === "string" ? form.name.trim() : "",
      scopes: (Array.isArray(given) ? given : [given]).filter((v): v is string =>
        typeof v === "string"
      ),
    };
    const errors: FieldErrors = {};
    if (!values.name || values.name.length > 100) {
      errors.name = "Give the key a name (at most 100 characters).";
    }
    const scopes = values.scopes.filter(isScope);
    if (scopes.length === 0 || scopes.length !== values.scopes.length) {
      errors.scopes = "Choose at least one scope: ingest, read or admin.";
    }
    if (Object.keys(errors).length) {
      return await render(c, {
        values,
        errors,
        status: 422,
        notice: { kind: "error", text: "The key was not created: see below." },
      });
    }
    const { record, secret } = await rt.apiKeys.create(wsId, { name: values.name, scopes });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "api_key.create",
      target: record.id,
      note: `scopes ${record.scopes.join(",")}`,
    });
    return await render(c, {
      status: 201,
      secret: {
        label: `The secret of "${record.name}"`,
        value: secret,
        note: "Use it as the Bearer token of API requests.",
      },
    });
  });

  app.post("/keys/:id/rotate", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const given = Number((await c.req.parseBody()).overlap_ms);
    const overlap = OVERLAPS.find(([, ms]) => ms === given)?.[1];
    if (overlap === undefined) {
      return await render(c, {
        status: 422,
        notice: { kind: "error", text: "Choose how long the old secret keeps working." },
      });
    }
    const rotated = await rt.apiKeys.rotate(wsId, c.req.param("id"), overlap);
    if (!rotated) return await notFound(c);
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "api_key.rotate",
      target: rotated.record.id,
      note: `overlap ${overlap / 3_600_000} h`,
    });
    return await render(c, {
      secret: {
        label: `The new secret of "${rotated.record.name}"`,
        value: rotated.secret,
        note: overlap === 0
          ? "The old secret stopped working now."
          : `The old secret keeps working until ${
            formatTime(rotated.previous_expires_at)
          }: switch your servers to the new one before then.`,
      },
    });
  });

  app.get("/keys/:id/revoke", requireRole("member"), async (c) => {
    const key = await load(c);
    if (!key) return await notFound(c);
    return await page(
      c,
      `Revoke "${key.name}"?`,
      <>
        <p>
          Requests with this key (<code>{key.prefix}…</code>, scopes{" "}
          {key.scopes.join(", ")}) are refused within seconds. This cannot be undone; a new key gets
          a new secret.
        </p>
        <form method="post" action={`/keys/${key.id}/revoke`} class="actions">
          <CsrfField token={c.get("session").csrf} />
          <button type="submit" class="danger">Revoke the key</button>
          <a href="/keys" class="button secondary">Keep it</a>
        </form>
      </>,
    );
  });

  app.post("/keys/:id/revoke", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const id = c.req.param("id");
    let revoked: boolean;
    try {
      revoked = await rt.apiKeys.revoke(wsId, id);
    } catch (error) {
      if (!(error instanceof LastAdminKeyError)) throw error;
      return await render(c, {
        status: 422,
        notice: { kind: "error", text: `Not revoked: ${error.message}.` },
      });
    }
    if (!revoked) return await notFound(c);
    await rt.audit.record(wsId, { actor: actor(c), action: "api_key.revoke", target: id });
    return c.redirect("/keys?done=revoked", 303);
  });

  return app;
}

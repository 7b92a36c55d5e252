/**
 * Creating a workspace (the instance owner only: `Account.instance_owner`): name and allowed
 * origins, checked with the schema of `POST /v1/workspaces` and answered per field. The
 * workspace is made with its ingest and admin keys, as by the API; the creator becomes its
 * owner, the session switches to it, the keys are shown once, and `workspace.create` is audited.
 * Reachable without any workspace, so a fresh instance's owner can make the first one.
 */
import { type Context, Hono } from "hono";
import type { ComponentChildren } from "preact";
import { type FieldErrors, type Notice, NoticeBox, SecretOnce } from "../../components/form.tsx";
import { describedBy, FormField } from "../../components/form_field.tsx";
import { CsrfField, Document } from "../../components/layout.tsx";
import type { Runtime } from "../../lib/runtime.ts";
import { createWorkspaceSchema } from "../api/workspaces.ts";
import type { DashboardEnv } from "./_env.ts";
import { page, renderDocument } from "./_render.tsx";
import { requireCsrf, requireInstanceOwner, requireSession } from "./_session.ts";

/** What the form holds: the text as typed. */
interface WorkspaceDraft {
  name: string;
  origins: string;
}

const PATH = "/workspaces/new";

/** Per-field messages from the API schema's issues (`allowed_origins.3` → its line). */
function fieldErrors(
  issues: readonly { path: PropertyKey[]; code: string; message: string }[],
  lines: readonly string[],
): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const [field, index] = issue.path;
    if (field === "name") {
      errors.name ??= "Give the workspace a name of 1 to 100 characters.";
    } else if (field === "allowed_origins" && typeof index === "number") {
      const line = lines[index] ?? "";
      const shown = line.length > 60 ? `${line.slice(0, 60)}…` : line;
      errors.allowed_origins ??= `Line ${index + 1} ("${shown}"): ${
        issue.code === "too_big" ? "at most 256 characters" : issue.message
      }.`;
    } else if (field === "allowed_origins") {
      errors.allowed_origins ??= "At most 50 origins.";
    }
  }
  return errors;
}

/** `GET` and `POST /workspaces/new`. */
export function workspacesRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  app.use(
    PATH,
    requireSession(rt, { allowNoWorkspace: true }),
    requireCsrf(),
    requireInstanceOwner(),
  );

  /** Inside the layout when a workspace is open; a bare page on an instance without any. */
  const shell = (
    c: Context<DashboardEnv>,
    title: string,
    children: ComponentChildren,
    status: number,
  ) =>
    c.get("workspaces").length > 0 ? page(c, title, children, { status }) : renderDocument(
      c,
      <Document title={title}>
        <main id="main" class="narrow wide-form">
          <h1>{title}</h1>
          {children}
        </main>
      </Document>,
      status,
    );

  const form = (
    c: Context<DashboardEnv>,
    draft: WorkspaceDraft = { name: "", origins: "" },
    errors: FieldErrors = {},
    notice?: Notice,
  ) =>
    shell(
      c,
      "New workspace",
      <>
        <NoticeBox notice={notice} />
        <p class="muted">
          A workspace has its own keys, destinations, rules, webhooks and events. It starts with an
          ingest key and an admin key, shown once when it is made; you become its owner.
        </p>
        <form method="post" action={PATH} class="filters settings-form" novalidate>
          <CsrfField token={c.get("session").csrf} />
          <FormField id="ws-name" label="Name" error={errors.name} wide>
            <input
              id="ws-name"
              name="name"
              required
              maxLength={100}
              placeholder="My shop"
              value={draft.name}
              aria-describedby={describedBy("ws-name", false, errors.name)}
              aria-invalid={errors.name ? "true" : undefined}
            />
          </FormField>
          <FormField
            id="ws-origins"
            label="Allowed origins, one per line (optional)"
            hint={
              <>
                Sites whose browsers may send events, like <code>https://shop.example</code>;{" "}
                <code>https://*.shop.example</code>{" "}
                allows every subdomain. At most 50. Dedup window, retention and rate limits start at
                their defaults: change them on Settings.
              </>
            }
            error={errors.allowed_origins}
            wide
          >
            <textarea
              id="ws-origins"
              name="allowed_origins"
              rows={3}
              spellcheck={false}
              aria-describedby={describedBy("ws-origins", true, errors.allowed_origins)}
              aria-invalid={errors.allowed_origins ? "true" : undefined}
            >
              {draft.origins}
            </textarea>
          </FormField>
          <div class="actions">
            <button type="submit">Create the workspace</button>
          </div>
        </form>
      </>,
      Object.keys(errors).length ? 400 : 200,
    );

  app.get(PATH, (c) => form(c));

  app.post(PATH, async (c) => {
    const body = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    const draft: WorkspaceDraft = { name: text(body.name), origins: text(body.allowed_origins) };
    const lines = draft.origins.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const parsed = createWorkspaceSchema.safeParse({ name: draft.name, allowed_origins: lines });
    if (!parsed.success) {
      return await form(c, draft, fieldErrors(parsed.error.issues, lines), {
        kind: "error",
        text: "The workspace was not created: see the messages next to the fields.",
      });
    }
    const account = c.get("account");
    const created = await rt.workspaces.create(parsed.data);
    const wsId = created.workspace.id;
    await rt.accounts.setRole(wsId, account.id, "owner");
    await rt.sessions.setWorkspace(c.get("sessionId"), wsId);
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: account.id },
      action: "workspace.create",
      target: wsId,
      note: `${created.workspace.allowed_origins.length} allowed origins`,
    });
    // The answer already shows the new workspace as the one open.
    c.set("workspaces", await rt.accounts.workspacesOf(account));
    c.set("workspace", created.workspace);
    c.set("role", "owner");
    return await shell(
      c,
      `Workspace "${created.workspace.name}" created`,
      <>
        <SecretOnce label="The admin key" secret={created.adminKey.secret}>
          <p>It does everything in this workspace, keys included: keep it on servers only.</p>
        </SecretOnce>
        <SecretOnce label="The ingest key" secret={created.ingestKey.secret}>
          <p>It only sends events (POST /v1/events, Segment, the conversion hook).</p>
        </SecretOnce>
        <p>
          This workspace is now the one open. Next: <a href="/settings">install the pixel</a>,{" "}
          <a href="/destinations">connect a destination</a>, or manage <a href="/keys">API keys</a>.
        </p>
      </>,
      201,
    );
  });

  return app;
}

/**
 * Rules: the workspace's routing rules in the order they run, an editor for one rule with a
 * preview of what it would change on the newest 1,000 events (the same `previewRule` as
 * `POST /v1/rules/preview`), and deletion after a confirmation. Members and owners change
 * rules; viewers read them.
 */
import { type Context, Hono } from "hono";
import { formatCount, formatTime } from "../../components/format.ts";
import {
  FieldError,
  type FieldErrors,
  invalidProps,
  type Notice,
  NoticeBox,
} from "../../components/form.tsx";
import { CsrfField } from "../../components/layout.tsx";
import { roleAllows } from "../../lib/auth/accounts.ts";
import type { Destination } from "../../lib/delivery/destinations.ts";
import { previewRule, type RuleInput, type RulePreview } from "../../lib/delivery/rule_preview.ts";
import { type RoutingRule, ruleInputSchema } from "../../lib/delivery/rules.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";

/** How many of the newest events a preview tries, as the API's default. */
const PREVIEW_EVENTS = 1_000;

/** Notices an action redirects back with (fixed texts: nothing from the request is echoed). */
const NOTICES: Record<string, string> = {
  created: "Rule saved. It applies to events received from now on.",
  updated: "Rule saved. It applies to events received from now on.",
  deleted: "Rule deleted.",
};

/** The editor's fields as typed, so a refused form comes back as it was sent. */
export interface RuleFormValues {
  name: string;
  enabled: boolean;
  priority: string;
  event_names: string;
  sources: string;
  value_min: string;
  value_max: string;
  /** One `name = value` per line. */
  properties: string;
  action: "send" | "rename" | "drop";
  destinations: string[];
  rename_to: string;
}

const EMPTY_FORM: RuleFormValues = {
  name: "",
  enabled: true,
  priority: "100",
  event_names: "",
  sources: "",
  value_min: "",
  value_max: "",
  properties: "",
  action: "send",
  destinations: [],
  rename_to: "",
};

function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

/** A property value as typed: `"…"` is text; true, false and numbers are typed; the rest text. */
function propertyValue(text: string): string | number | boolean {
  if (/^".*"$/.test(text)) return text.slice(1, -1);
  if (text === "true" || text === "false") return text === "true";
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** A property value as the editor shows it; text that would read as a number is quoted. */
function propertyText(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  return propertyValue(value) === value ? value : `"${value}"`;
}

/** A saved rule as the editor's fields. */
export function formOfRule(rule: RoutingRule): RuleFormValues {
  const { match, action } = rule;
  return {
    name: rule.name,
    enabled: rule.enabled,
    priority: String(rule.priority),
    event_names: (match.event_names ?? []).join(", "),
    sources: (match.sources ?? []).join(", "),
    value_min: match.value_min === undefined ? "" : String(match.value_min),
    value_max: match.value_max === undefined ? "" : String(match.value_max),
    properties: Object.entries(match.properties ?? {})
      .map(([k, v]) => `${k} = ${propertyText(v)}`).join("\n"),
    action: action.type,
    destinations: action.type === "drop" ? [] : action.destinations ?? [],
    rename_to: action.type === "rename" ? action.event_name : "",
  };
}

/** Which editor field a schema issue's path belongs to. */
function fieldOf(path: readonly PropertyKey[]): string {
  const [first, second] = path.map(String);
  if (first === "match") return second ?? "event_names";
  if (first === "action") return second === "event_name" ? "rename_to" : "destinations";
  return first ?? "name";
}

/**
 * Reads the editor's form: the rule as `POST /v1/rules` takes it, or what is wrong, by field.
 * `known` are the workspace's destination ids.
 */
export function parseRuleForm(
  form: Record<string, string | File | (string | File)[]>,
  known: ReadonlySet<string>,
): { values: RuleFormValues; input?: RuleInput; errors: FieldErrors } {
  const text = (name: string) => {
    const v = form[name];
    return typeof v === "string" ? v.trim() : "";
  };
  const given = form.destinations;
  const action = text("action");
  const values: RuleFormValues = {
    name: text("name"),
    enabled: text("enabled") === "on",
    priority: text("priority"),
    event_names: text("event_names"),
    sources: text("sources"),
    value_min: text("value_min"),
    value_max: text("value_max"),
    properties: text("properties"),
    action: action === "rename" || action === "drop" ? action : "send",
    destinations: (Array.isArray(given) ? given : [given])
      .filter((v): v is string => typeof v === "string"),
    rename_to: text("rename_to"),
  };
  const errors: FieldErrors = {};
  const number = (name: "priority" | "value_min" | "value_max") => {
    const raw = values[name];
    if (raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) errors[name] = `"${raw}" is not a number.`;
    return n;
  };
  const priority = number("priority");
  const valueMin = number("value_min");
  const valueMax = number("value_max");
  if (
    valueMin !== undefined && valueMax !== undefined && !errors.value_min && !errors.value_max &&
    valueMin > valueMax
  ) {
    errors.value_max = "The largest value must not be below the smallest.";
  }
  const properties: Record<string, string | number | boolean> = {};
  for (const line of values.properties.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    const name = at > 0 ? line.slice(0, at).trim() : "";
    if (!name) {
      errors.properties = `Write each property as name = value; "${line.slice(0, 40)}" is not.`;
      break;
    }
    properties[name] = propertyValue(line.slice(at + 1).trim());
  }
  const unknown = values.destinations.filter((id) => !known.has(id));
  if (unknown.length) errors.destinations = "Choose destinations of this workspace.";
  else if (values.action === "send" && values.destinations.length === 0) {
    errors.destinations = "Choose at least one destination to send to.";
  }
  if (values.action === "rename" && !values.rename_to) {
    errors.rename_to = "Give the name to send instead.";
  }
  const names = list(values.event_names);
  const sources = list(values.sources);
  const candidate = {
    name: values.name,
    enabled: values.enabled,
    ...(priority === undefined ? {} : { priority }),
    match: {
      ...(names.length ? { event_names: names } : {}),
      ...(sources.length ? { sources } : {}),
      ...(valueMin === undefined ? {} : { value_min: valueMin }),
      ...(valueMax === undefined ? {} : { value_max: valueMax }),
      ...(Object.keys(properties).length ? { properties } : {}),
    },
    action: values.action === "drop"
      ? { type: "drop" }
      : values.action === "send"
      ? { type: "send", destinations: values.destinations }
      : {
        type: "rename",
        event_name: values.rename_to,
        ...(values.destinations.length ? { destinations: values.destinations } : {}),
      },
  };
  const parsed = ruleInputSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = fieldOf(issue.path);
      errors[field] ??= field === "name"
        ? "Give the rule a name (at most 100 characters)."
        : field === "priority"
        ? "Use a whole number from 0 to 10,000."
        : issue.message;
    }
  }
  if (Object.keys(errors).length || !parsed.success) return { values, errors };
  return { values, input: parsed.data, errors };
}

function nameOf(destinations: readonly Destination[], id: string): string {
  return destinations.find((d) => d.id === id)?.name ?? id;
}

/** "When" of a rule in words. */
export function describeMatch(rule: { match: RoutingRule["match"] }): string {
  const m = rule.match;
  const parts = [
    m.event_names && `event is ${m.event_names.join(" or ")}`,
    m.sources && `source is ${m.sources.join(" or ")}`,
    m.value_min !== undefined && `value ≥ ${m.value_min}`,
    m.value_max !== undefined && `value ≤ ${m.value_max}`,
    ...Object.entries(m.properties ?? {}).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "every event";
}

/** "Then" of a rule in words. */
export function describeAction(
  rule: { action: RoutingRule["action"] },
  destinations: readonly Destination[],
): string {
  const a = rule.action;
  if (a.type === "drop") return "drop (send nowhere)";
  const to = (ids: string[]) => ids.map((id) => nameOf(destinations, id)).join(", ");
  if (a.type === "send") return `send only to ${to(a.destinations)}`;
  return `rename to ${a.event_name} for ${
    a.destinations ? to(a.destinations) : "all destinations"
  }`;
}

function Decision(props: { decision: RulePreview["examples"][number]["before"][string] }) {
  const d = props.decision;
  return d.send
    ? <span>sent as {d.event_name}</span>
    : <span class="muted">not sent: {d.reason}</span>;
}

function PreviewPanel(props: { preview: RulePreview; destinations: readonly Destination[] }) {
  const { preview } = props;
  return (
    <section class="panel" aria-labelledby="preview-title" id="preview">
      <h2 id="preview-title">Preview</h2>
      <p>
        Of the last {formatCount(preview.events_checked)} events,{" "}
        <strong>{formatCount(preview.changed)}</strong>{" "}
        would change with this rule. Nothing is saved yet.
      </p>
      {preview.destinations.length > 0 && (
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Events sent per destination</caption>
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col" class="num">Sent now</th>
                <th scope="col" class="num">With the rule</th>
                <th scope="col">Renamed</th>
              </tr>
            </thead>
            <tbody>
              {preview.destinations.map((d) => (
                <tr key={d.platform_id}>
                  <td data-label="Destination">{d.name}</td>
                  <td data-label="Sent now" class="num">{formatCount(d.sent_before)}</td>
                  <td data-label="With the rule" class="num">{formatCount(d.sent_after)}</td>
                  <td data-label="Renamed">
                    {d.renamed.length
                      ? d.renamed.map((r) => `${r.from} → ${r.to} (${r.count})`).join(", ")
                      : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview.examples.length > 0 && (
        <>
          <h3>These would change</h3>
          <ul class="preview-list">
            {preview.examples.map((ex) => (
              <li key={ex.event_id}>
                <a href={`/events/${encodeURIComponent(ex.event_id)}`}>{ex.event_id}</a>{" "}
                <span class="muted">({ex.event_name})</span>
                <ul>
                  {Object.keys(ex.after).map((id) => (
                    <li key={id}>
                      {nameOf(props.destinations, id)}: <Decision decision={ex.before[id]!} /> →
                      {" "}
                      <Decision decision={ex.after[id]!} />
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function RuleEditor(
  props: {
    action: string;
    csrf: string;
    values: RuleFormValues;
    errors: FieldErrors;
    destinations: readonly Destination[];
  },
) {
  const { values, errors } = props;
  const err = (name: string) => invalidProps(errors, name, `${name}-error`);
  const text = (
    name: "name" | "event_names" | "sources" | "rename_to",
    label: string,
    hint?: string,
  ) => (
    <div class="field">
      <label for={`rule-${name}`}>{label}</label>
      {hint && <span class="hint" id={`${name}-hint`}>{hint}</span>}
      <input
        id={`rule-${name}`}
        name={name}
        value={values[name]}
        maxLength={name === "name" ? 100 : 2000}
        {...(hint && !errors[name] ? { "aria-describedby": `${name}-hint` } : {})}
        {...err(name)}
      />
      <FieldError id={`${name}-error`} errors={errors} name={name} />
    </div>
  );
  const number = (name: "priority" | "value_min" | "value_max", label: string) => (
    <div class="field">
      <label for={`rule-${name}`}>{label}</label>
      <input
        id={`rule-${name}`}
        name={name}
        inputMode="decimal"
        value={values[name]}
        maxLength={30}
        {...err(name)}
      />
      <FieldError id={`${name}-error`} errors={errors} name={name} />
    </div>
  );
  return (
    <form method="post" action={props.action} class="editor">
      <CsrfField token={props.csrf} />
      {text("name", "Name")}
      <div class="field-row">
        {number("priority", "Priority (lower runs first)")}
        <label class="check">
          <input type="checkbox" name="enabled" checked={values.enabled} /> Enabled
        </label>
      </div>
      <fieldset>
        <legend>When (every condition given must hold; leave empty to match every event)</legend>
        {text("event_names", "Event names", "Comma-separated canonical names: purchase, lead")}
        {text("sources", "Sources", "Comma-separated: web, server, shopify")}
        <div class="field-row">
          {number("value_min", "Value at least")}
          {number("value_max", "Value at most")}
        </div>
        <div class="field">
          <label for="rule-properties">Properties equal</label>
          <span class="hint" id="properties-hint">
            One <code>name = value</code>{" "}
            per line; true, false and numbers are typed, quote them ("10") to match text.
          </span>
          <textarea
            id="rule-properties"
            name="properties"
            rows={3}
            maxLength={4000}
            {...(errors.properties ? {} : { "aria-describedby": "properties-hint" })}
            {...err("properties")}
          >
            {values.properties}
          </textarea>
          <FieldError id="properties-error" errors={errors} name="properties" />
        </div>
      </fieldset>
      <fieldset>
        <legend>Then</legend>
        <div class="choices">
          {([
            ["send", "Send only to the chosen destinations"],
            [
              "rename",
              "Rename the event (for the chosen destinations, or all when none is chosen)",
            ],
            ["drop", "Drop it (send it nowhere)"],
          ] as const).map(([value, label]) => (
            <label class="check" key={value}>
              <input type="radio" name="action" value={value} checked={values.action === value} />
              {" "}
              {label}
            </label>
          ))}
        </div>
        {text("rename_to", "New event name (rename only)")}
        <fieldset {...err("destinations")}>
          <legend>Destinations (send and rename)</legend>
          {props.destinations.length === 0 && <p class="muted">No destination yet.</p>}
          {props.destinations.map((d) => (
            <label class="check" key={d.id}>
              <input
                type="checkbox"
                name="destinations"
                value={d.id}
                checked={values.destinations.includes(d.id)}
              />{" "}
              {d.name} <span class="muted">({d.type})</span>
            </label>
          ))}
          <FieldError id="destinations-error" errors={errors} name="destinations" />
        </fieldset>
      </fieldset>
      <div class="actions">
        <button type="submit" name="intent" value="preview" class="secondary">Preview</button>
        <button type="submit" name="intent" value="save">Save</button>
        <a href="/rules" class="button secondary">Cancel</a>
      </div>
    </form>
  );
}

/** `/rules`, `/rules/new`, `/rules/:id` and deletion. */
export function rulesRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();
  const actor = (c: Context<DashboardEnv>) => ({
    kind: "account" as const,
    id: c.get("account").id,
  });
  const notFound = (c: Context<DashboardEnv>) =>
    errorPage(c, 404, "Rule not found", "No rule with that id in this workspace.", {}, {
      href: "/rules",
      label: "Back to the rules",
    });

  app.get("/rules", async (c) => {
    const wsId = c.get("workspace").id;
    const [rules, destinations] = await Promise.all([
      rt.rules.list(wsId),
      rt.destinations.list(wsId),
    ]);
    const canEdit = roleAllows(c.get("role"), "member");
    const done = NOTICES[c.req.query("done") ?? ""];
    return page(
      c,
      "Rules",
      <>
        <NoticeBox notice={done ? { kind: "ok", text: done } : undefined} />
        <p class="muted">
          Rules run in this order (lower priority first) on every event as it is fanned out: a drop
          stops it, a send limits it to its destinations, a rename changes the name sent. Without a
          matching rule an event goes to every enabled destination.
        </p>
        {canEdit && (
          <p>
            <a href="/rules/new" class="button">New rule</a>
          </p>
        )}
        {rules.length === 0
          ? <p>No rule yet: every event goes to every enabled destination.</p>
          : (
            <div class="table-wrap">
              <table class="stacked">
                <caption class="visually-hidden">Rules in the order they run</caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">Order</th>
                    <th scope="col">Name</th>
                    <th scope="col" class="num">Priority</th>
                    <th scope="col">State</th>
                    <th scope="col">When</th>
                    <th scope="col">Then</th>
                  </tr>
                </thead>
                <tbody>
                  {rules.map((rule, i) => (
                    <tr key={rule.id}>
                      <td data-label="Order" class="num">{i + 1}</td>
                      <td data-label="Name" class="break">
                        <a href={`/rules/${rule.id}`}>{rule.name}</a>
                      </td>
                      <td data-label="Priority" class="num">{rule.priority}</td>
                      <td data-label="State">{rule.enabled ? "enabled" : "disabled"}</td>
                      <td data-label="When" class="break">{describeMatch(rule)}</td>
                      <td data-label="Then" class="break">{describeAction(rule, destinations)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </>,
    );
  });

  const editor = async (
    c: Context<DashboardEnv>,
    options: {
      rule?: RoutingRule;
      values: RuleFormValues;
      errors?: FieldErrors;
      preview?: RulePreview;
      status?: number;
    },
  ) => {
    const destinations = await rt.destinations.list(c.get("workspace").id);
    const errors = options.errors ?? {};
    const rule = options.rule;
    const notice: Notice | undefined = Object.keys(errors).length
      ? { kind: "error", text: "The rule was not saved: correct the fields marked below." }
      : undefined;
    return page(
      c,
      rule ? `Rule: ${rule.name}` : "New rule",
      <>
        <NoticeBox notice={notice} />
        {rule && (
          <p class="muted">
            Created {formatTime(rule.created_at)} · <code>{rule.id}</code>
          </p>
        )}
        {options.preview && <PreviewPanel preview={options.preview} destinations={destinations} />}
        <RuleEditor
          action={rule ? `/rules/${rule.id}` : "/rules/new"}
          csrf={c.get("session").csrf}
          values={options.values}
          errors={errors}
          destinations={destinations}
        />
        {rule && (
          <p>
            <a href={`/rules/${rule.id}/delete`} class="button danger">Delete this rule…</a>
          </p>
        )}
      </>,
      { status: options.status },
    );
  };

  const submit = async (c: Context<DashboardEnv>, rule?: RoutingRule) => {
    const wsId = c.get("workspace").id;
    const form = await c.req.parseBody({ all: true });
    const destinations = await rt.destinations.list(wsId);
    const { values, input, errors } = parseRuleForm(
      form,
      new Set(destinations.map((d) => d.id)),
    );
    if (!input) return await editor(c, { rule, values, errors, status: 422 });
    if (form.intent === "preview") {
      const [{ data: events }, rules] = await Promise.all([
        rt.events.list(wsId, { limit: PREVIEW_EVENTS }),
        rt.rules.list(wsId),
      ]);
      const preview = previewRule(events, destinations, rules, input, rule);
      return await editor(c, { rule, values, preview });
    }
    const saved = rule
      ? await rt.rules.replace(wsId, rule.id, input)
      : await rt.rules.create(wsId, input);
    if (!saved) return await notFound(c);
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: rule ? "rule.update" : "rule.create",
      target: saved.id,
      note: `action ${saved.action.type}, priority ${saved.priority}`,
    });
    return c.redirect(`/rules?done=${rule ? "updated" : "created"}`, 303);
  };

  app.get("/rules/new", requireRole("member"), (c) => editor(c, { values: EMPTY_FORM }));
  app.post("/rules/new", requireRole("member"), (c) => submit(c));

  app.get("/rules/:id", async (c) => {
    const wsId = c.get("workspace").id;
    const rule = await rt.rules.get(wsId, c.req.param("id"));
    if (!rule) return await notFound(c);
    if (roleAllows(c.get("role"), "member")) {
      return await editor(c, { rule, values: formOfRule(rule) });
    }
    const destinations = await rt.destinations.list(wsId);
    return await page(
      c,
      `Rule: ${rule.name}`,
      <dl class="facts">
        <dt>State</dt>
        <dd>{rule.enabled ? "enabled" : "disabled"}</dd>
        <dt>Priority</dt>
        <dd>{rule.priority}</dd>
        <dt>When</dt>
        <dd>{describeMatch(rule)}</dd>
        <dt>Then</dt>
        <dd>{describeAction(rule, destinations)}</dd>
        <dt>Created</dt>
        <dd>{formatTime(rule.created_at)}</dd>
      </dl>,
    );
  });

  app.post("/rules/:id", requireRole("member"), async (c) => {
    const rule = await rt.rules.get(c.get("workspace").id, c.req.param("id"));
    return rule ? await submit(c, rule) : await notFound(c);
  });

  app.get("/rules/:id/delete", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const rule = await rt.rules.get(wsId, c.req.param("id"));
    if (!rule) return await notFound(c);
    const destinations = await rt.destinations.list(wsId);
    return await page(
      c,
      `Delete rule: ${rule.name}?`,
      <>
        <p>
          When {describeMatch(rule)}:{" "}
          {describeAction(rule, destinations)}. Events received after the deletion are routed
          without it; events already sent stay as they are.
        </p>
        <form method="post" action={`/rules/${rule.id}/delete`} class="actions">
          <CsrfField token={c.get("session").csrf} />
          <button type="submit" class="danger">Delete the rule</button>
          <a href={`/rules/${rule.id}`} class="button secondary">Keep it</a>
        </form>
      </>,
    );
  });

  app.post("/rules/:id/delete", requireRole("member"), async (c) => {
    const wsId = c.get("workspace").id;
    const id = c.req.param("id");
    if (!(await rt.rules.delete(wsId, id))) return await notFound(c);
    await rt.audit.record(wsId, { actor: actor(c), action: "rule.delete", target: id });
    return c.redirect("/rules?done=deleted", 303);
  });

  return app;
}

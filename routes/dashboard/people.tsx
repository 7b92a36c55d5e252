/** People: the workspace's members and their roles, invitations, and role changes (owners). */
import { Hono } from "hono";
import { CsrfField } from "../../components/layout.tsx";
import { type Role, roleAllows, ROLES } from "../../lib/auth/accounts.ts";
import type { Invitation } from "../../lib/auth/invitations.ts";
import type { Runtime } from "../../lib/runtime.ts";
import { formatTime } from "../../components/format.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, page } from "./_render.tsx";
import { requireRole } from "./_session.ts";
import type { Context } from "hono";

const ROLE_HELP: Record<Role, string> = {
  owner: "everything, people included",
  member: "destinations, rules, keys, webhooks, replays",
  viewer: "counts and statuses; no payloads or personal data",
};

function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

function RoleSelect(props: { id: string; value?: Role }) {
  return (
    <select id={props.id} name="role">
      {[...ROLES].reverse().map((role) => (
        <option value={role} selected={role === (props.value ?? "member")}>{role}</option>
      ))}
    </select>
  );
}

/** `/people`: members, invitations and roles. */
export function peopleRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const render = async (
    c: Context<DashboardEnv>,
    notice?: { kind: "ok" | "error"; text: string; link?: string },
  ) => {
    const wsId = c.get("workspace").id;
    const owner = roleAllows(c.get("role"), "owner");
    const members = await rt.accounts.members(wsId);
    const invitations: Invitation[] = owner ? await rt.invitations.list(wsId) : [];
    const csrf = c.get("session").csrf;
    return page(
      c,
      "People",
      <>
        {notice && (
          <div class={`notice ${notice.kind}`} role="status">
            <p>{notice.text}</p>
            {notice.link && (
              <p>
                <code class="break">{notice.link}</code>
              </p>
            )}
          </div>
        )}
        <div class="table-wrap">
          <table class="stacked">
            <caption class="visually-hidden">Members of this workspace</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                {owner && <th scope="col">Change</th>}
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr>
                  <td data-label="Email" class="break">{m.email}</td>
                  <td data-label="Role">
                    {m.role}
                    {m.instance_owner && <span class="muted">&nbsp;(instance owner)</span>}
                  </td>
                  {owner && (
                    <td data-label="Change">
                      {m.instance_owner || m.account_id === c.get("account").id
                        ? <span class="muted">—</span>
                        : (
                          <div class="actions">
                            <form
                              method="post"
                              action={`/people/${m.account_id}/role`}
                              class="inline"
                            >
                              <CsrfField token={csrf} />
                              <label for={`role-${m.account_id}`} class="visually-hidden">
                                Role of {m.email}
                              </label>
                              <RoleSelect id={`role-${m.account_id}`} value={m.role} />
                              <button type="submit" class="secondary">Save</button>
                            </form>
                            <form
                              method="post"
                              action={`/people/${m.account_id}/remove`}
                              class="inline"
                            >
                              <CsrfField token={csrf} />
                              <button type="submit" class="danger">Remove</button>
                            </form>
                          </div>
                        )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {owner && (
          <>
            <h2>Invite someone</h2>
            <form method="post" action="/people/invite" class="filters">
              <CsrfField token={csrf} />
              <div class="field">
                <label for="invite-email">Email</label>
                <input id="invite-email" name="email" type="email" required maxLength={254} />
              </div>
              <div class="field">
                <label for="invite-role">Role</label>
                <RoleSelect id="invite-role" />
              </div>
              <button type="submit">Create invitation link</button>
            </form>
            <ul class="muted">
              {[...ROLES].reverse().map((role) => <li key={role}>{role}: {ROLE_HELP[role]}</li>)}
            </ul>
            {invitations.length > 0 && (
              <>
                <h2>Pending invitations</h2>
                <div class="table-wrap">
                  <table class="stacked">
                    <thead>
                      <tr>
                        <th scope="col">Email</th>
                        <th scope="col">Role</th>
                        <th scope="col">Expires</th>
                        <th scope="col">Withdraw</th>
                      </tr>
                    </thead>
                    <tbody>
                      {invitations.map((inv) => (
                        <tr>
                          <td data-label="Email" class="break">{inv.email}</td>
                          <td data-label="Role">{inv.role}</td>
                          <td data-label="Expires">{formatTime(inv.expires_at)}</td>
                          <td data-label="Withdraw">
                            <form
                              method="post"
                              action={`/people/invitations/${inv.id}/revoke`}
                              class="inline"
                            >
                              <CsrfField token={csrf} />
                              <button type="submit" class="secondary">Withdraw</button>
                            </form>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </>
        )}
      </>,
    );
  };

  const actor = (c: Context<DashboardEnv>) => ({
    kind: "account" as const,
    id: c.get("account").id,
  });

  app.get("/people", (c) => render(c));

  app.post("/people/invite", requireRole("owner"), async (c) => {
    const form = await c.req.parseBody();
    const email = typeof form.email === "string" ? form.email.trim() : "";
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254 || !isRole(form.role)) {
      return render(c, { kind: "error", text: "Give an email address and a role." });
    }
    const wsId = c.get("workspace").id;
    const { invitation, token } = await rt.invitations.create(wsId, {
      email,
      role: form.role,
      invitedBy: c.get("account").id,
    });
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "member.invite",
      target: invitation.id,
      note: `role ${invitation.role}`,
    });
    const link = `${new URL(c.req.url).origin}/invite/${token}`;
    return render(c, {
      kind: "ok",
      text: `Invitation created. Send this link to ${invitation.email}; it is shown only now ` +
        `and works once, for 7 days:`,
      link,
    });
  });

  app.post("/people/:account/role", requireRole("owner"), async (c) => {
    const wsId = c.get("workspace").id;
    const accountId = c.req.param("account");
    const role = (await c.req.parseBody()).role;
    const target = await rt.accounts.get(accountId);
    if (
      !isRole(role) || !target || target.instance_owner || !(await rt.accounts.roleIn(target, wsId))
    ) {
      return errorPage(c, 404, "No such member", "That account is not a member here.");
    }
    await rt.accounts.setRole(wsId, accountId, role);
    await rt.audit.record(wsId, {
      actor: actor(c),
      action: "member.role",
      target: accountId,
      note: `role ${role}`,
    });
    return c.redirect("/people", 303);
  });

  app.post("/people/:account/remove", requireRole("owner"), async (c) => {
    const wsId = c.get("workspace").id;
    const accountId = c.req.param("account");
    if (accountId === c.get("account").id || !(await rt.accounts.removeMember(wsId, accountId))) {
      return errorPage(c, 404, "No such member", "That account is not a member here.");
    }
    await rt.audit.record(wsId, { actor: actor(c), action: "member.remove", target: accountId });
    return c.redirect("/people", 303);
  });

  app.post("/people/invitations/:id/revoke", requireRole("owner"), async (c) => {
    const wsId = c.get("workspace").id;
    const id = c.req.param("id");
    if (await rt.invitations.revoke(wsId, id)) {
      await rt.audit.record(wsId, { actor: actor(c), action: "member.uninvite", target: id });
    }
    return c.redirect("/people", 303);
  });

  return app;
}

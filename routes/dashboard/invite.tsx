/**
 * Accepting an invitation: the link's token, a password, and the new member is signed in.
 * With `SLUICE_AUTH=supabase` local passwords are not used: the page sends the invited person
 * to sign in with Supabase, which accepts the email's invitations.
 */
import { type Context, Hono } from "hono";
import { Document } from "../../components/layout.tsx";
import { acceptInvitation } from "../../lib/auth/invitations.ts";
import { passwordProblem } from "../../lib/auth/passwords.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, renderDocument } from "./_render.tsx";
import { sameOrigin, setSessionCookie } from "./_session.ts";

const GONE = "This invitation link is invalid, was used already or has expired. Ask for a new one.";

/** `GET` and `POST /invite/:token`. */
export function inviteRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const form = async (c: Context<DashboardEnv>, status = 200, error?: string) => {
    const token = c.req.param("token") ?? "";
    const found = await rt.invitations.find(token);
    if (!found) return errorPage(c, 404, "Invitation not found", GONE);
    const workspace = await rt.workspaces.get(found.invitation.workspace_id);
    const existing = await rt.accounts.byEmail(found.invitation.email);
    return renderDocument(
      c,
      <Document title="Accept the invitation">
        <main id="main" class="narrow">
          <h1>Join {workspace?.name ?? "the workspace"}</h1>
          <p>
            You are invited as <strong>{found.invitation.role}</strong> with{" "}
            <strong class="break">{found.invitation.email}</strong>.
          </p>
          {error && <p class="notice error" role="alert">{error}</p>}
          {rt.signIn.mode === "supabase"
            ? (
              <>
                <p>
                  This Sluice signs in with Supabase: sign in with this email and the password of
                  its Supabase account, and the invitation is accepted.
                </p>
                <p>
                  <a class="button" href="/login">Sign in</a>
                </p>
              </>
            )
            : (
              <form method="post" class="stack">
                <label for="password">
                  {existing ? "Your current password" : "Choose a password (10 characters or more)"}
                </label>
                <input
                  id="password"
                  name="password"
                  type="password"
                  required
                  minLength={existing ? undefined : 10}
                  autocomplete={existing ? "current-password" : "new-password"}
                />
                <button type="submit">Accept and sign in</button>
              </form>
            )}
        </main>
      </Document>,
      status,
    );
  };

  app.get("/invite/:token", (c) => form(c));

  app.post("/invite/:token", async (c) => {
    if (!sameOrigin(c)) return errorPage(c, 403, "Refused", "This request came from another site.");
    if (rt.signIn.mode === "supabase") return c.redirect(c.req.path, 303);
    const token = c.req.param("token");
    const password = (await c.req.parseBody()).password;
    if (typeof password !== "string") return form(c, 400, "Enter a password.");
    const found = await rt.invitations.find(token);
    if (!found) return errorPage(c, 404, "Invitation not found", GONE);
    const ip = rt.clientIp.resolve(c.env?.remoteAddr?.hostname, c.req.raw.headers);
    const verdict = await rt.loginThrottle.check(found.invitation.email, ip);
    if (!verdict.allowed) {
      return errorPage(
        c,
        429,
        "Too many attempts",
        `Too many wrong passwords. Try again in ${
          Math.ceil(verdict.retryAfterSeconds / 60)
        } minutes.`,
        { "retry-after": String(verdict.retryAfterSeconds) },
      );
    }
    if (!(await rt.accounts.byEmail(found.invitation.email))) {
      const problem = passwordProblem(password);
      if (problem) return form(c, 400, `The password ${problem}.`);
    }
    const accepted = await acceptInvitation(rt.invitations, rt.accounts, token, password);
    if ("failure" in accepted) {
      if (accepted.failure === "wrong_password") {
        await rt.loginThrottle.fail(found.invitation.email, ip);
      }
      return accepted.failure === "wrong_password"
        ? form(c, 401, "That is not this account's password.")
        : errorPage(c, 404, "Invitation not found", GONE);
    }
    const wsId = accepted.invitation.workspace_id;
    await rt.audit.record(wsId, {
      actor: { kind: "account", id: accepted.account.id },
      action: "member.join",
      target: accepted.account.id,
      note: `role ${accepted.invitation.role}`,
    });
    const opened = await rt.sessions.create(accepted.account.id, wsId);
    setSessionCookie(c, opened.id);
    return c.redirect("/", 303);
  });

  return app;
}

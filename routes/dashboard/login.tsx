/**
 * Sign-in, sign-out and the workspace switcher. The password is checked by `rt.signIn`
 * (locally, through Supabase Auth, or both: `SLUICE_AUTH`), behind the form's CSRF check and
 * the per-account and per-IP throttle.
 */
import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { Document } from "../../components/layout.tsx";
import { constantTimeEqual, randomBase62 } from "../../lib/crypto.ts";
import type { Runtime } from "../../lib/runtime.ts";
import type { DashboardEnv } from "./_env.ts";
import { errorPage, renderDocument } from "./_render.tsx";
import {
  clearSessionCookie,
  isHttps,
  requireCsrf,
  requireSession,
  sameOrigin,
  setSessionCookie,
} from "./_session.ts";

/** The double-submit cookie that guards the sign-in form (there is no session yet). */
const LOGIN_COOKIE = "sluice_login";

/** Where to go after signing in: a local path only, never another site. */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : "/";
}

function LoginPage(
  props: { token: string; next: string; supabase: boolean; email?: string; error?: string },
) {
  return (
    <Document title="Sign in">
      <main id="main" class="narrow">
        <h1>Sign in to Sluice</h1>
        {props.supabase && (
          <p class="muted">
            Use the email and password of your Supabase account.
          </p>
        )}
        {props.error && <p class="notice error" role="alert">{props.error}</p>}
        <form method="post" action="/login" class="stack">
          <input type="hidden" name="_csrf" value={props.token} />
          <input type="hidden" name="next" value={props.next} />
          <label for="email">Email</label>
          <input
            id="email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={props.email ?? ""}
          />
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
          <button type="submit">Sign in</button>
        </form>
      </main>
    </Document>
  );
}

/** `/login`, `/logout` and `/switch`. */
export function loginRoutes(rt: Runtime): Hono<DashboardEnv> {
  const app = new Hono<DashboardEnv>();

  const loginForm = (
    c: Context<DashboardEnv>,
    options: { status?: number; email?: string; error?: string; next?: string } = {},
  ) => {
    const token = getCookie(c, LOGIN_COOKIE) ?? randomBase62(32);
    setCookie(c, LOGIN_COOKIE, token, {
      httpOnly: true,
      secure: isHttps(c),
      sameSite: "Strict",
      path: "/login",
    });
    const next = safeNext(options.next ?? c.req.query("next"));
    return renderDocument(
      c,
      <LoginPage
        token={token}
        next={next}
        supabase={rt.signIn.mode !== "local"}
        email={options.email}
        error={options.error}
      />,
      options.status ?? 200,
    );
  };

  app.get("/login", (c) => loginForm(c));

  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    const text = (name: string) => typeof form[name] === "string" ? form[name] as string : "";
    const cookie = getCookie(c, LOGIN_COOKIE);
    if (!sameOrigin(c) || !cookie || !constantTimeEqual(cookie, text("_csrf"))) {
      return errorPage(
        c,
        403,
        "Refused",
        "The sign-in form was missing its security token. Reload the sign-in page and try again.",
      );
    }
    const email = text("email").slice(0, 254);
    const password = text("password");
    const next = safeNext(text("next"));
    const ip = rt.clientIp.resolve(c.env?.remoteAddr?.hostname, c.req.raw.headers);
    const verdict = await rt.loginThrottle.check(email, ip);
    if (!verdict.allowed) {
      const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
      return errorPage(
        c,
        429,
        "Too many sign-in attempts",
        `Too many failed sign-ins for this account or from this network. Try again in ${minutes} minute${
          minutes === 1 ? "" : "s"
        }.`,
        { "retry-after": String(verdict.retryAfterSeconds) },
        { href: "/login", label: "Back to sign-in" },
      );
    }
    const result = await rt.signIn.signIn(email, password);
    if (!result.ok && result.reason === "unavailable") {
      return errorPage(
        c,
        503,
        "Sign-in is unavailable",
        "Sluice could not reach Supabase Auth, which checks passwords on this instance. Try again in a minute; if it keeps failing, tell whoever runs this Sluice.",
        { "retry-after": "60" },
        { href: "/login", label: "Back to sign-in" },
      );
    }
    if (!result.ok) {
      await rt.loginThrottle.fail(email, ip);
      return loginForm(c, { status: 401, email, next, error: "Wrong email or password." });
    }
    const { account } = result;
    for (const invitation of result.joined) {
      await rt.audit.record(invitation.workspace_id, {
        actor: { kind: "account", id: account.id },
        action: "member.join",
        target: account.id,
        note: `role ${invitation.role}, at a Supabase sign-in`,
      });
    }
    const first = result.joined[0]?.workspace_id ??
      (await rt.accounts.workspacesOf(account))[0]?.workspace.id;
    const opened = await rt.sessions.create(account.id, first);
    setSessionCookie(c, opened.id);
    return c.redirect(next, 303);
  });

  app.post("/logout", requireSession(rt), requireCsrf(), async (c) => {
    await rt.sessions.delete(c.get("sessionId"));
    clearSessionCookie(c);
    return c.redirect("/login", 303);
  });

  app.post("/switch", requireSession(rt), requireCsrf(), async (c) => {
    const wanted = (await c.req.parseBody())["workspace"];
    const allowed = c.get("workspaces").some((w) => w.workspace.id === wanted);
    if (typeof wanted !== "string" || !allowed) {
      return errorPage(c, 404, "No such workspace", "You have no access to that workspace.");
    }
    await rt.sessions.setWorkspace(c.get("sessionId"), wanted);
    return c.redirect("/", 303);
  });

  return app;
}

/** Signing in to the dashboard from tests: accounts, the sign-in form and form posts. */
import assert from "node:assert/strict";
import type { Role } from "../lib/auth/accounts.ts";
import type { TestSluice } from "./_harness.ts";

/** The password every test account gets. */
export const TEST_PASSWORD = "correct-horse-battery";

/** A signed-in browser, as far as a test needs one: its cookie and CSRF token. */
export interface SignedIn {
  cookie: string;
  csrf: string;
}

/** The cookies a response sets, as one Cookie header value. */
export function cookiesOf(res: Response): string {
  return res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
}

/** Creates an account: the instance owner, or a member of the test workspace with `role`. */
export async function createAccount(s: TestSluice, email: string, role: Role | "instance") {
  return await s.rt.accounts.create(
    { email, password: TEST_PASSWORD, instance_owner: role === "instance" },
    role === "instance" ? undefined : { wsId: s.workspace.id, role },
  );
}

/** Fetches the sign-in form: its double-submit cookie and token. */
export async function loginForm(s: TestSluice): Promise<{ cookie: string; token: string }> {
  const res = await s.request("/login");
  const html = await res.text();
  assert.equal(res.status, 200, html);
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token, "the sign-in form carries a token");
  return { cookie: cookiesOf(res), token };
}

/** Posts the sign-in form; answers the raw response. */
export async function postLogin(
  s: TestSluice,
  email: string,
  password: string,
  options: { ip?: string; origin?: string } = {},
): Promise<Response> {
  const form = await loginForm(s);
  return await s.request("/login", {
    method: "POST",
    headers: {
      cookie: form.cookie,
      origin: options.origin ?? "http://localhost",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: form.token, email, password }),
    redirect: "manual",
  }, options.ip);
}

/** Signs in and reads the CSRF token from the overview page. */
export async function signIn(s: TestSluice, email: string): Promise<SignedIn> {
  const res = await postLogin(s, email, TEST_PASSWORD);
  assert.equal(res.status, 303, await res.text());
  const cookie = cookiesOf(res);
  const home = await s.request("/", { headers: { cookie, accept: "text/html" } });
  const html = await home.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf, `the overview carries a CSRF token: ${html.slice(0, 300)}`);
  return { cookie, csrf };
}

/** GETs a page as a signed-in browser. */
export function getPage(s: TestSluice, who: SignedIn, path: string): Promise<Response> {
  return Promise.resolve(s.request(path, {
    headers: { cookie: who.cookie, accept: "text/html" },
    redirect: "manual",
  }));
}

/** Posts a dashboard form as a signed-in browser (with its CSRF token unless `csrf` is given). */
export function postForm(
  s: TestSluice,
  who: SignedIn,
  path: string,
  fields: Record<string, string> = {},
  options: { csrf?: string | null; origin?: string } = {},
): Promise<Response> {
  const body = new URLSearchParams(fields);
  const token = options.csrf === undefined ? who.csrf : options.csrf;
  if (token !== null) body.set("_csrf", token);
  return Promise.resolve(s.request(path, {
    method: "POST",
    headers: {
      cookie: who.cookie,
      origin: options.origin ?? "http://localhost",
      "content-type": "application/x-www-form-urlencoded",
    },
    body,
    redirect: "manual",
  }));
}

/**
 * Signing in to the dashboard through Supabase Auth (SUPABASE_URL, SUPABASE_ANON_KEY), against
 * a loopback mock of Supabase's Auth server: a verified token opens a Sluice session for the
 * email's account; forged, expired, wrong-issuer and wrong-audience tokens, unknown emails and
 * wrong passwords are "Wrong email or password"; pending invitations are accepted; Supabase
 * unreachable is a 503 page; the throttle still stands in front; SLUICE_AUTH decides whether
 * local passwords still work.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../lib/config.ts";
import { configureLog, type LogLevel } from "../lib/log.ts";
import { cookiesOf, createAccount, postLogin, TEST_PASSWORD } from "./_dashboard.ts";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import { closedPortUrl, mockSupabase, type TokenKind } from "./_mock_supabase.ts";

const EMAIL = "ana@example.com";
const SUPABASE_PASSWORD = "supabase-password-of-ana";

async function withSupabase(env: Record<string, string> = {}) {
  const mock = await mockSupabase();
  mock.users.set(EMAIL, SUPABASE_PASSWORD);
  const s = await openTestSluice({
    SUPABASE_URL: mock.url,
    SUPABASE_ANON_KEY: mock.anonKey,
    ...env,
  });
  return {
    mock,
    s,
    [Symbol.asyncDispose]: async () => {
      await s.close();
      await mock[Symbol.asyncDispose]();
    },
  };
}

/** Log lines written while `fn` runs. */
async function logged(fn: () => Promise<void>): Promise<{ level: LogLevel; line: string }[]> {
  const lines: { level: LogLevel; line: string }[] = [];
  const before = configureLog({
    level: "info",
    sink: (level, line) => lines.push({ level, line }),
  });
  try {
    await fn();
  } finally {
    configureLog(before);
  }
  return lines;
}

/** Whether a session cookie opens the overview. */
async function opensDashboard(s: TestSluice, res: Response): Promise<boolean> {
  const home = await s.request("/", {
    headers: { cookie: cookiesOf(res), accept: "text/html" },
    redirect: "manual",
  });
  return home.status === 200;
}

Deno.test("Supabase sign-in: a token verified with the project's JWKS opens a session for the email's account", async () => {
  await using t = await withSupabase();
  const { s, mock } = t;
  const account = await createAccount(s, EMAIL, "member");
  const res = await postLogin(s, "Ana@Example.com", SUPABASE_PASSWORD);
  assert.equal(res.status, 303, await res.text());
  assert.match(res.headers.get("set-cookie") ?? "", /sluice_session=/);
  assert.ok(await opensDashboard(s, res));
  assert.deepEqual(mock.requests, [
    "POST /auth/v1/token?grant_type=password",
    "GET /auth/v1/.well-known/jwks.json",
  ]);
  assert.deepEqual(mock.apiKeys, [mock.anonKey]);
  // The session is the account's own.
  const [session] = await Array.fromAsync(s.rt.kv.list<{ account_id: string }>({
    prefix: ["session"],
  }));
  assert.equal(session?.value.account_id, account.id);
});

Deno.test("Supabase sign-in: an HS256 project's token is verified by asking the Auth server (/user)", async () => {
  await using t = await withSupabase();
  const { s, mock } = t;
  await createAccount(s, EMAIL, "viewer");
  mock.tokens = "hs256";
  const res = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(res.status, 303, await res.text());
  assert.deepEqual(mock.requests, [
    "POST /auth/v1/token?grant_type=password",
    "GET /auth/v1/user",
  ]);
});

const REFUSED_TOKENS: [TokenKind, string][] = [
  ["forged", "token_invalid"],
  ["hs256_forged", "token_invalid"],
  ["expired", "token_expired"],
  ["wrong_issuer", "token_issuer"],
  ["wrong_audience", "token_audience"],
  ["anonymous", "anonymous"],
  ["other_email", "email_mismatch"],
];

for (const [kind, reason] of REFUSED_TOKENS) {
  Deno.test(`Supabase sign-in: a ${kind} token is refused as a wrong password, logged as ${reason}`, async () => {
    await using t = await withSupabase();
    const { s, mock } = t;
    await createAccount(s, EMAIL, "owner");
    mock.tokens = kind;
    let res!: Response;
    const lines = await logged(async () => {
      res = await postLogin(s, EMAIL, SUPABASE_PASSWORD, { ip: "203.0.113.7" });
    });
    const html = await res.text();
    assert.equal(res.status, 401);
    assert.match(html, /Wrong email or password\./);
    assert.doesNotMatch(res.headers.get("set-cookie") ?? "", /sluice_session=/);
    const line = lines.find((l) => l.line.includes("Supabase sign-in refused"));
    assert.ok(line, `a log line: ${JSON.stringify(lines)}`);
    assert.equal(JSON.parse(line.line).reason, reason);
    assert.equal(line.level, "warn");
    for (const { line } of lines) {
      assert.ok(!line.includes("ana@") && !line.includes(SUPABASE_PASSWORD), line);
    }
    // The failure counts against the account and the IP.
    const counters = await Array.fromAsync(s.rt.kv.list<Deno.KvU64>({ prefix: ["login_fail"] }));
    assert.deepEqual(counters.map((e) => [e.key[1], e.value.value]).sort(), [
      ["account", 1n],
      ["ip", 1n],
    ]);
  });
}

Deno.test("Supabase sign-in: a wrong password and an email without a Sluice account get the same answer", async () => {
  await using t = await withSupabase();
  const { s, mock } = t;
  await createAccount(s, EMAIL, "member");
  mock.users.set("stranger@example.com", "stranger-password-1");
  let wrong!: Response;
  let stranger!: Response;
  const lines = await logged(async () => {
    wrong = await postLogin(s, EMAIL, "not-the-password");
    stranger = await postLogin(s, "stranger@example.com", "stranger-password-1");
  });
  for (const res of [wrong, stranger]) {
    assert.equal(res.status, 401);
    assert.match(await res.text(), /Wrong email or password\./);
  }
  assert.equal(await s.rt.accounts.byEmail("stranger@example.com"), null);
  assert.deepEqual(
    lines.filter((l) => l.line.includes("Supabase")).map((l) => JSON.parse(l.line).reason),
    ["invalid_credentials", "no_account"],
  );
});

Deno.test("Supabase sign-in: an email with a pending invitation gets an account without a local password and joins", async () => {
  await using t = await withSupabase();
  const { s } = t;
  const owner = await createAccount(s, "owner@example.com", "instance");
  const other = await s.rt.workspaces.create({ name: "Second shop" });
  const first = await s.rt.invitations.create(s.workspace.id, {
    email: EMAIL,
    role: "viewer",
    invitedBy: owner.id,
  });
  await s.rt.invitations.create(other.workspace.id, {
    email: "ANA@example.com",
    role: "member",
    invitedBy: owner.id,
  });
  const res = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(res.status, 303, await res.text());
  const account = await s.rt.accounts.byEmail(EMAIL);
  assert.ok(account);
  assert.equal(account.password_hash, "");
  assert.equal(await s.rt.accounts.roleIn(account, s.workspace.id), "viewer");
  assert.equal(await s.rt.accounts.roleIn(account, other.workspace.id), "member");
  assert.deepEqual(await s.rt.invitations.list(s.workspace.id), []);
  assert.deepEqual(await s.rt.invitations.pendingFor(EMAIL), []);
  assert.equal(await s.rt.invitations.find(first.token), null, "the link no longer works");
  const { data } = await s.rt.audit.list(s.workspace.id, { limit: 10 });
  assert.deepEqual(data.map((e) => [e.action, e.target, e.note]), [
    ["member.join", account.id, "role viewer, at a Supabase sign-in"],
  ]);
  // A local password never matches an account that has none.
  assert.equal(await s.rt.accounts.verify(EMAIL, ""), null);
});

Deno.test("Supabase sign-in: an invitation never lowers the role an account has", async () => {
  await using t = await withSupabase();
  const { s } = t;
  const account = await createAccount(s, EMAIL, "owner");
  await s.rt.invitations.create(s.workspace.id, { email: EMAIL, role: "viewer", invitedBy: "x" });
  const res = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(res.status, 303);
  assert.equal(await s.rt.accounts.roleIn(account, s.workspace.id), "owner");
  assert.deepEqual(await s.rt.invitations.pendingFor(EMAIL), []);
});

Deno.test("Supabase sign-in: the bootstrap owner signs in with the Supabase password of SLUICE_ADMIN_EMAIL", async () => {
  await using t = await withSupabase();
  const { s } = t;
  const owner = await s.rt.accounts.bootstrapOwner(EMAIL, "local-bootstrap-password");
  assert.ok(owner?.instance_owner);
  const local = await postLogin(s, EMAIL, "local-bootstrap-password");
  assert.equal(
    local.status,
    401,
    "SLUICE_AUTH defaults to supabase: the local password is not used",
  );
  const res = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(res.status, 303);
  assert.ok(await opensDashboard(s, res));
});

Deno.test("SLUICE_AUTH=both: a local password works without asking Supabase; a Supabase password works too", async () => {
  await using t = await withSupabase({ SLUICE_AUTH: "both" });
  const { s, mock } = t;
  await createAccount(s, EMAIL, "member");
  const local = await postLogin(s, EMAIL, TEST_PASSWORD);
  assert.equal(local.status, 303);
  assert.deepEqual(mock.requests, []);
  const remote = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(remote.status, 303);
  assert.equal(mock.requests.length, 2);
});

Deno.test("SLUICE_AUTH=local with Supabase configured never asks Supabase", async () => {
  await using t = await withSupabase({ SLUICE_AUTH: "local" });
  const { s, mock } = t;
  await createAccount(s, EMAIL, "member");
  assert.equal((await postLogin(s, EMAIL, SUPABASE_PASSWORD)).status, 401);
  assert.equal((await postLogin(s, EMAIL, TEST_PASSWORD)).status, 303);
  assert.deepEqual(mock.requests, []);
});

Deno.test("Supabase unreachable or failing: a 503 page that says so, not counted against the account", async () => {
  for (const broken of ["closed port", "500"] as const) {
    const mock = await mockSupabase();
    mock.failWith = 500;
    const url = broken === "closed port" ? closedPortUrl() : mock.url;
    await using s = await openTestSluice({ SUPABASE_URL: url, SUPABASE_ANON_KEY: mock.anonKey });
    await createAccount(s, EMAIL, "member");
    let res!: Response;
    const lines = await logged(async () => {
      for (let i = 0; i < 6; i++) res = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
    });
    const html = await res.text();
    assert.equal(res.status, 503, `${broken}: six attempts, none throttled`);
    assert.equal(res.headers.get("retry-after"), "60");
    assert.match(html, /Sign-in is unavailable/);
    assert.match(html, /could not reach Supabase Auth/);
    assert.doesNotMatch(html, /at \w+ \(|\.ts:\d+/, "no stack trace");
    const line = lines.find((l) => l.line.includes("Supabase Auth is unavailable"));
    assert.equal(line?.level, "error");
    assert.equal(
      (await Array.fromAsync(s.rt.kv.list({ prefix: ["login_fail"] }))).length,
      0,
    );
    await mock[Symbol.asyncDispose]();
  }
});

Deno.test("Supabase sign-in: the throttle refuses the 6th attempt before Supabase is asked", async () => {
  await using t = await withSupabase();
  const { s, mock } = t;
  await createAccount(s, EMAIL, "member");
  for (let i = 0; i < 5; i++) {
    assert.equal((await postLogin(s, EMAIL, `wrong-${i}`)).status, 401);
  }
  const refused = await postLogin(s, EMAIL, SUPABASE_PASSWORD);
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  assert.equal(mock.requests.length, 5, "the 6th attempt never reached Supabase");
});

Deno.test("Supabase sign-in keeps the form's CSRF check", async () => {
  await using t = await withSupabase();
  const { s, mock } = t;
  await createAccount(s, EMAIL, "member");
  const res = await postLogin(s, EMAIL, SUPABASE_PASSWORD, { origin: "https://evil.example" });
  assert.equal(res.status, 403);
  assert.deepEqual(mock.requests, []);
});

Deno.test("the sign-in and invitation pages say Supabase checks the password", async () => {
  await using t = await withSupabase();
  const { s } = t;
  const login = await (await s.request("/login")).text();
  assert.match(login, /Use the email and password of your Supabase account\./);
  assert.match(login, /name="email"/);
  assert.match(login, /name="password"/);
  const { token } = await s.rt.invitations.create(s.workspace.id, {
    email: EMAIL,
    role: "member",
    invitedBy: "acct_x",
  });
  const invite = await s.request(`/invite/${token}`);
  const html = await invite.text();
  assert.equal(invite.status, 200);
  assert.match(html, /signs in with Supabase/);
  assert.doesNotMatch(html, /type="password"/);
});

Deno.test("parseConfig(): Supabase needs both variables, and SLUICE_AUTH other than local needs Supabase", () => {
  assert.throws(
    () => parseConfig({ SUPABASE_URL: "https://abc.supabase.co" }),
    /SUPABASE_ANON_KEY: required with SUPABASE_URL/,
  );
  assert.throws(() => parseConfig({ SUPABASE_ANON_KEY: "k" }), /SUPABASE_URL: required/);
  assert.throws(
    () => parseConfig({ SLUICE_AUTH: "both" }),
    /SLUICE_AUTH: "both" needs SUPABASE_URL/,
  );
  assert.throws(() => parseConfig({ SLUICE_AUTH: "ldap" }), /SLUICE_AUTH/);
  assert.throws(
    () => parseConfig({ SUPABASE_URL: "ftp://abc", SUPABASE_ANON_KEY: "k" }),
    /SUPABASE_URL: must be an http\(s\) URL/,
  );
  const config = parseConfig({ SUPABASE_URL: "https://abc.supabase.co/", SUPABASE_ANON_KEY: "k" });
  assert.equal(config.authMode, "supabase");
  assert.deepEqual(config.supabase, { url: "https://abc.supabase.co", anonKey: "k" });
  assert.equal(parseConfig({}).authMode, "local");
});

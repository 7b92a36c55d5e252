/**
 * Creating a workspace from the dashboard (`/workspaces/new`) over HTTP: the instance owner
 * creates one (owner of it, switched to it, its keys shown once and working, audited); bad
 * input is answered next to its field; everyone else gets 403; CSRF stands; on an instance
 * without any workspace the owner is sent to the form.
 */
import assert from "node:assert/strict";
import { memberKey, workspaceKey } from "../lib/kv/keys.ts";
import {
  cookiesOf,
  createAccount,
  getPage,
  postForm,
  postLogin,
  type SignedIn,
  signIn,
  TEST_PASSWORD,
} from "./_dashboard.ts";
import { openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, expectJson } from "./_http.ts";

const OWNER = "owner@example.com";

async function workspaceIds(s: TestSluice): Promise<string[]> {
  return (await Array.fromAsync(s.rt.kv.list({ prefix: ["ws"] }))).map((e) => String(e.key[1]));
}

/** The secrets a page shows once, in order. */
function secretsOf(html: string): string[] {
  return [...html.matchAll(/<code class="break secret">([^<]+)<\/code>/g)].map((m) => m[1]!);
}

Deno.test("the instance owner creates a workspace: owner of it, switched to it, keys shown once, audited", async () => {
  await using s = await openTestSluice();
  const account = await createAccount(s, OWNER, "instance");
  const owner = await signIn(s, OWNER);

  const home = await (await getPage(s, owner, "/")).text();
  assert.match(
    home,
    /<a class="new-workspace" href="\/workspaces\/new">New <span class="wide-only">workspace<\/span><\/a>/,
  );
  const blank = await getPage(s, owner, "/workspaces/new");
  const form = await blank.text();
  assert.equal(blank.status, 200);
  assert.match(form, /<label for="ws-name">Name<\/label>/);
  assert.match(form, /name="allowed_origins"/);

  const res = await postForm(s, owner, "/workspaces/new", {
    name: "  Second shop ",
    allowed_origins: "https://second.example/\n\nhttps://*.second.example",
  });
  const html = await res.text();
  assert.equal(res.status, 201, html);
  assert.match(html, /<h1>Workspace &quot;Second shop&quot; created<\/h1>/);
  const [adminKey, ingestKey] = secretsOf(html);
  assert.match(adminKey ?? "", /^sk_/);
  assert.match(ingestKey ?? "", /^sk_/);

  // The admin key works, on the new workspace, with the origins normalised.
  const ws = await expectJson<{ id: string; name: string; allowed_origins: string[] }>(
    await s.request("/v1/workspace", { headers: bearer(adminKey!) }),
    200,
  );
  assert.equal(ws.name, "Second shop");
  assert.deepEqual(ws.allowed_origins, ["https://second.example", "https://*.second.example"]);
  assert.notEqual(ws.id, s.workspace.id);
  const ingest = await s.request("/v1/events", {
    method: "POST",
    headers: { ...bearer(ingestKey!), "content-type": "application/json" },
    body: JSON.stringify({ event_name: "lead" }),
  });
  assert.equal(ingest.status, 202);

  // Owner by membership, the switcher on the new workspace, and the change audited there.
  const membership = await s.rt.kv.get<{ role: string }>(memberKey(ws.id, account.id));
  assert.equal(membership.value?.role, "owner");
  assert.match(html, new RegExp(`<option value="${ws.id}" selected>Second shop \\(owner\\)`));
  const after = await (await getPage(s, owner, "/keys")).text();
  assert.match(after, new RegExp(`<option value="${ws.id}" selected>`));
  assert.ok(!after.includes(adminKey!) && !after.includes(ingestKey!), "shown only once");
  const { data } = await s.rt.audit.list(ws.id, { limit: 10 });
  assert.deepEqual(data.map((e) => [e.actor.id, e.action, e.target, e.note]), [
    [account.id, "workspace.create", ws.id, "2 allowed origins"],
  ]);
});

Deno.test("workspace creation answers bad input next to each field and creates nothing", async () => {
  await using s = await openTestSluice();
  await createAccount(s, OWNER, "instance");
  const owner = await signIn(s, OWNER);
  const before = await workspaceIds(s);
  const cases: [Record<string, string>, RegExp][] = [
    [{ name: "   ", allowed_origins: "" }, /Give the workspace a name of 1 to 100 characters\./],
    [{ name: "x".repeat(101) }, /Give the workspace a name of 1 to 100 characters\./],
    [
      { name: "Shop", allowed_origins: "https://ok.example\nftp://shop.example" },
      /Line 2 \(&quot;ftp:\/\/shop.example&quot;\): must be an http\(s\) origin such as https:\/\/shop.example\./,
    ],
    [
      { name: "Shop", allowed_origins: `https://${"a".repeat(260)}.example` },
      /Line 1 \(&quot;https:\/\/a{52}…&quot;\): at most 256 characters\./,
    ],
    [
      {
        name: "Shop",
        allowed_origins: Array.from({ length: 51 }, (_, i) => `https://s${i}.example`).join("\n"),
      },
      /At most 50 origins\./,
    ],
  ];
  for (const [fields, message] of cases) {
    const res = await postForm(s, owner, "/workspaces/new", fields);
    const html = await res.text();
    assert.equal(res.status, 400, JSON.stringify(fields));
    assert.match(html, message);
    assert.match(html, /aria-invalid="true"/);
    assert.match(html, /The workspace was not created/);
  }
  // What was typed comes back.
  const kept = await (await postForm(s, owner, "/workspaces/new", {
    name: "",
    allowed_origins: "https://kept.example",
  })).text();
  assert.match(kept, />https:\/\/kept.example<\/textarea>/);
  assert.deepEqual(await workspaceIds(s), before);
});

Deno.test("workspace creation is refused (403) to anyone but the instance owner, and without CSRF", async () => {
  await using s = await openTestSluice();
  const before = await workspaceIds(s);
  for (const role of ["owner", "member", "viewer"] as const) {
    await createAccount(s, `${role}@example.com`, role);
    const who: SignedIn = await signIn(s, `${role}@example.com`);
    const home = await (await getPage(s, who, "/")).text();
    assert.doesNotMatch(home, /New workspace/, role);
    assert.equal((await getPage(s, who, "/workspaces/new")).status, 403, role);
    const res = await postForm(s, who, "/workspaces/new", { name: "Mine" });
    assert.equal(res.status, 403, role);
    assert.match(await res.text(), /Only the instance owner creates workspaces/);
  }
  await createAccount(s, "instance@example.com", "instance");
  const owner = await signIn(s, "instance@example.com");
  assert.equal(
    (await postForm(s, owner, "/workspaces/new", { name: "X" }, { csrf: null })).status,
    403,
  );
  assert.equal(
    (await postForm(s, owner, "/workspaces/new", { name: "X" }, { origin: "https://evil.example" }))
      .status,
    403,
  );
  assert.deepEqual(await workspaceIds(s), before);
  // Signed out: to the sign-in page.
  const anonymous = await s.request("/workspaces/new", { redirect: "manual" });
  assert.equal(anonymous.status, 303);
  assert.equal(anonymous.headers.get("location"), "/login?next=%2Fworkspaces%2Fnew");
});

Deno.test("on an instance without workspaces the owner is sent to the form and creates the first", async () => {
  await using s = await openTestSluice();
  await s.rt.kv.delete(workspaceKey(s.workspace.id));
  await createAccount(s, OWNER, "instance");
  const login = await postLogin(s, OWNER, TEST_PASSWORD);
  assert.equal(login.status, 303);
  const cookie = cookiesOf(login);
  const home = await s.request("/", { headers: { cookie, accept: "text/html" } });
  const homeHtml = await home.text();
  assert.equal(home.status, 403);
  assert.match(homeHtml, /<a href="\/workspaces\/new">Create a workspace<\/a>/);
  const blank = await s.request("/workspaces/new", { headers: { cookie } });
  const form = await blank.text();
  assert.equal(blank.status, 200);
  assert.doesNotMatch(form, /class="switcher"/, "no layout: there is nothing to switch to");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1];
  assert.ok(csrf);
  const res = await s.request("/workspaces/new", {
    method: "POST",
    headers: {
      cookie,
      origin: "http://localhost",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ _csrf: csrf, name: "First shop" }),
  });
  const created = await res.text();
  assert.equal(res.status, 201, created);
  assert.equal(secretsOf(created).length, 2);
  assert.match(created, /class="switcher"/, "now inside the layout, on the new workspace");
  const overview = await s.request("/", { headers: { cookie, accept: "text/html" } });
  assert.equal(overview.status, 200);
});

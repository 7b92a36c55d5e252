import assert from "node:assert/strict";
import { sha256Hex } from "../core/digest.ts";
import type { ErasureAuditRecord } from "../lib/erasure/audit.ts";
import type { Person } from "../lib/erasure/person.ts";
import { openEvent } from "../lib/event_store.ts";
import { jsonInit, openTestSluice, type TestSluice } from "./_harness.ts";
import { bearer, expectJson, expectProblem, storedEvent } from "./_http.ts";
import { mockPlatform } from "./_mock_platform.ts";
import { connectMeta, ingest, settled } from "./_observability.ts";
import { webhookReceiver } from "./_webhook_receiver.ts";
import { eventually } from "./_wait.ts";

const ENV = { SLUICE_ALLOW_PRIVATE_URLS: "1", SLUICE_DELIVERY_TIMEOUT: "2s" };

interface ErasureJson {
  id: string;
  removed: Record<string, number>;
  scanned_events: number;
  duration_ms: number;
}

const ADA = { email: "ada@example.com", phone: "020 7946 0958", country: "GB" };
const BOB = { email: "bob@example.com", phone: "+1 650 555 1212" };

const purchase = (eventId: string, userData: Record<string, unknown>) => ({
  event_id: eventId,
  event_name: "purchase",
  value: 25,
  currency: "EUR",
  user_data: userData,
});

async function erase(s: TestSluice, body: unknown, key = s.workspace.admin_key) {
  return await s.request("/v1/erasure", jsonInit(body, key));
}

/** Every KV entry, by its key printed. */
async function snapshot(kv: Deno.Kv): Promise<Map<string, Deno.KvEntry<unknown>>> {
  const entries = new Map<string, Deno.KvEntry<unknown>>();
  for await (const entry of kv.list({ prefix: [] })) entries.set(printKey(entry.key), entry);
  return entries;
}

function printKey(key: Deno.KvKey): string {
  return JSON.stringify(key, (_, v) => typeof v === "bigint" ? String(v) : v);
}

/** What a KV value shows of itself (sealed events as their bytes' count only). */
function printValue(value: unknown): string {
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  return JSON.stringify(value, (_, v) => typeof v === "bigint" ? String(v) : v) ?? "";
}

/** Storage ids of the test workspace's events, by event_id. */
async function storageIds(s: TestSluice): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for await (const entry of s.rt.kv.list<{ ulid: string }>({ prefix: ["ev_id", s.workspace.id] })) {
    ids.set(String(entry.key[2]), entry.value.ulid);
  }
  return ids;
}

Deno.test("POST /v1/erasure removes every trace of one person and nothing of another (KV checked directly)", async () => {
  await using meta = mockPlatform(undefined, () => Response.json({ events_received: 1 }));
  // The receiver echoes each body back, as a careless customer endpoint might: the delivery log
  // then holds the person's e-mail in clear.
  await using receiver = webhookReceiver((_, request) => new Response(request.body));
  await using s = await openTestSluice(ENV);
  await connectMeta(s, meta.url);
  const hook = await s.request(
    "/v1/webhooks",
    jsonInit({ url: receiver.url, events: ["conversion.created"] }, s.workspace.admin_key),
  );
  assert.equal(hook.status, 201);
  await hook.body?.cancel();

  const events = {
    "ada-1": { email: ADA.email, first_name: "Ada" },
    "ada-2": { email: "  ADA@Example.COM ", last_name: "Lovelace" },
    "ada-3": { phone: ADA.phone, country: ADA.country },
    "bob-1": { email: BOB.email, phone: BOB.phone },
    "bob-2": { email: BOB.email, anonymous_id: "anon-bob" },
  };
  for (const [id, userData] of Object.entries(events)) {
    assert.equal(await ingest(s, purchase(id, userData)), 202);
  }
  for (const id of Object.keys(events)) await settled(s, id);
  await eventually("five webhooks answered", async () => {
    let answered = 0;
    for await (const entry of s.rt.kv.list<{ status: string }>({ prefix: ["hook_dlv"] })) {
      if (entry.value.status === "delivered") answered++;
    }
    return answered === 5 || undefined;
  });
  await s.rt.committer.idle();

  const ids = await storageIds(s);
  const adaUlids = ["ada-1", "ada-2", "ada-3"].map((id) => ids.get(id)!);
  const before = await snapshot(s.rt.kv);
  const adaMessages = [...before.values()]
    .filter((e) =>
      e.key[0] === "hook_msg" && adaUlids.includes((e.value as { event: string }).event)
    )
    .map((e) => String(e.key[2]));
  assert.equal(adaMessages.length, 3);
  const isAdas = (printed: string, entry: Deno.KvEntry<unknown>) =>
    [...adaUlids, "ada-1", "ada-2", "ada-3", ...adaMessages].some((id) =>
      printed.includes(`"${id}"`)
    ) ||
    (entry.key[0] === "hook_dlv" &&
      adaMessages.includes((entry.value as { message_id: string }).message_id));
  assert.ok([...before.values()].some((e) => printValue(e.value).includes(ADA.email)));

  const res = await erase(s, { email: "Ada@Example.com", phone: "+44 20 7946 0958" });
  const report = await expectJson<ErasureJson>(res, 200);
  assert.deepEqual(report.removed, {
    events: 3,
    event_ids: 3,
    handoffs: 3,
    // ada-1 and ada-2 are found by their email; ada-3 carries none of the indexed values.
    search_entries: 2,
    deliveries: 3,
    webhook_messages: 3,
    webhook_deliveries: 3,
    identity_records: 0,
  });
  assert.equal(report.scanned_events, 5);
  assert.match(report.id, /^era_[0-9a-z]{26}$/);

  const after = await snapshot(s.rt.kv);
  for (const [printed, entry] of before) {
    if (isAdas(printed, entry)) {
      assert.ok(!after.has(printed), `${printed} was erased`);
    } else {
      assert.ok(after.has(printed), `${printed} is untouched`);
      if (entry.key[0] !== "stat" && entry.key[0] !== "rl") {
        assert.equal(after.get(printed)!.versionstamp, entry.versionstamp, `${printed} unchanged`);
      }
    }
  }
  // Nothing left holds Ada in clear, and no sealed event left is hers.
  for (const [printed, entry] of after) {
    const shown = printValue(entry.value).toLowerCase();
    assert.ok(!shown.includes("ada@example.com") && !shown.includes("lovelace"), printed);
    if (entry.key[0] === "ev") {
      const event = openEvent(entry.value as Uint8Array, s.rt.events.sealer);
      assert.ok(event.event_id.startsWith("bob-"), event.event_id);
    }
  }
  const audit = [...after.values()].filter((e) => e.key[0] === "erasure");
  assert.equal(audit.length, 1);
  const record = audit[0]!.value as ErasureAuditRecord;
  assert.deepEqual(audit[0]!.key, ["erasure", s.workspace.id, report.id]);
  assert.deepEqual(record.removed, report.removed);
  assert.deepEqual(record.identifiers.map((i) => i.kind), ["email", "phone"]);
  const email = record.identifiers[0]!;
  assert.equal(email.sha256, sha256Hex(`${email.salt}:ada@example.com`));
  assert.ok(!JSON.stringify(record).includes("ada@"));
  assert.ok(!JSON.stringify(record).includes("7946"));
  assert.match(record.requested_by ?? "", /^key_/);

  for (
    const [id, status] of [["ada-1", 404], ["ada-3", 404], ["bob-1", 200], ["bob-2", 200]] as const
  ) {
    const read = await s.request(`/v1/events/${id}`, { headers: bearer(s.workspace.admin_key) });
    assert.equal(read.status, status, id);
    await read.body?.cancel();
  }
  const again = await expectJson<ErasureJson>(await erase(s, { email: ADA.email }), 200);
  assert.equal(again.removed.events, 0);
  assert.equal(again.scanned_events, 2);
});

Deno.test("POST /v1/erasure matches user_id and anonymous_id, and runs registered hooks", async () => {
  await using s = await openTestSluice();
  const linkedFor: Person[] = [];
  s.rt.eraser.register({
    kind: "identity_links",
    linked: (_wsId, person) => {
      linkedFor.push(person);
      return Promise.resolve(person.userIds.has("user-42") ? { anonymousIds: ["anon-7"] } : {});
    },
    erase: () => Promise.resolve(2),
  });
  const sent = {
    "u-1": { customer_id: "user-42" },
    "u-2": { external_ids: ["crm-1", "user-42"] },
    "u-3": { anonymous_id: "anon-7" },
    "o-1": { customer_id: "user-43", anonymous_id: "anon-8" },
  };
  for (const [id, userData] of Object.entries(sent)) {
    assert.equal(await ingest(s, { event_id: id, event_name: "lead", user_data: userData }), 202);
  }
  const report = await expectJson<ErasureJson>(await erase(s, { user_id: "user-42" }), 200);
  assert.equal(report.removed.events, 3);
  assert.equal(report.removed.identity_links, 2);
  assert.equal(linkedFor.length, 1);
  assert.deepEqual([...(await storageIds(s)).keys()], ["o-1"]);
  const byAnon = await expectJson<ErasureJson>(await erase(s, { anonymous_id: "anon-8" }), 200);
  assert.equal(byAnon.removed.events, 1);
  assert.throws(() => s.rt.eraser.register({ kind: "events", erase: () => Promise.resolve(0) }));
});

/** A browser event from the browser whose anonymous id cookie is `aid`. */
async function browserEvent(s: TestSluice, aid: string, event: Record<string, unknown>) {
  const res = await s.request("/v1/browser/events", {
    method: "POST",
    headers: {
      "content-type": "text/plain;charset=UTF-8",
      origin: "https://shop.example",
      "user-agent": "Mozilla/5.0 (erasure test)",
      cookie: `sluice_aid=${aid}`,
    },
    body: JSON.stringify({ public_id: s.workspace.public_id, events: [event] }),
  }, "203.0.113.5");
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
}

/** The printed keys of every identity graph record. */
async function identityKeys(s: TestSluice): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of ["idn_anon", "idn_link", "idn_person"]) {
    for await (const entry of s.rt.kv.list({ prefix: [prefix] })) keys.push(printKey(entry.key));
  }
  return keys.sort();
}

Deno.test("POST /v1/erasure erases the person's identity graph records and their browser's events", async () => {
  await using s = await openTestSluice();
  const adaAid = "aid0000000000000000000000000ada";
  const bobAid = "aid0000000000000000000000000bob";
  const granted = { ad_user_data: "granted", ad_personalization: "granted" };
  for (
    const [aid, id, userData] of [
      [adaAid, "ada-identify", { customer_id: "u-ada", email: ADA.email }],
      [bobAid, "bob-identify", { customer_id: "u-bob", email: BOB.email }],
    ] as const
  ) {
    await browserEvent(s, aid, {
      event_id: id,
      event_name: "identify",
      page: { url: "https://shop.example/login?gclid=Cj0-click" },
      user_data: { ...userData, browser_ids: { fbp: `fb.1.1700000000000.${aid.slice(-3)}` } },
      consent: granted,
    });
  }
  await browserEvent(s, adaAid, {
    event_id: "ada-view",
    event_name: "page_view",
    consent: granted,
  });
  await s.rt.committer.idle();
  const before = await identityKeys(s);
  const ws = s.workspace.id;
  const adaKeys = [
    printKey(["idn_anon", ws, adaAid]),
    printKey(["idn_link", ws, adaAid]),
    printKey(["idn_person", ws, "uid", sha256Hex("u-ada")]),
    printKey(["idn_person", ws, "em", sha256Hex(ADA.email)]),
  ];
  for (const key of adaKeys) assert.ok(before.includes(key), key);
  assert.equal(before.length, 8, before.join("\n"));

  const report = await expectJson<ErasureJson>(await erase(s, { email: ADA.email }), 200);
  assert.equal(report.removed.identity_records, 4);
  // The page view named nobody: it is Ada's through the browser the graph linked to her.
  assert.equal(report.removed.events, 2);
  assert.deepEqual([...(await storageIds(s)).keys()], ["bob-identify"]);
  assert.deepEqual(await identityKeys(s), before.filter((key) => !adaKeys.includes(key)));

  // A server event naming Ada no longer gains her browser's identifiers; Bob's still does.
  for (const [id, email] of [["ada-later", ADA.email], ["bob-later", BOB.email]] as const) {
    assert.equal(await ingest(s, purchase(id, { email })), 202);
  }
  const browserIds = async (id: string) => (await storedEvent(s, id)).user_data.browser_ids;
  assert.equal(await browserIds("ada-later"), undefined);
  assert.deepEqual(await browserIds("bob-later"), { fbp: "fb.1.1700000000000.bob" });

  // By the browser alone: its link names Bob, whose person snapshots go with it.
  const byBrowser = await expectJson<ErasureJson>(await erase(s, { anonymous_id: bobAid }), 200);
  assert.equal(byBrowser.removed.identity_records, 4);
  assert.deepEqual(await identityKeys(s), []);
});

Deno.test("POST /v1/erasure names what it expects, and needs the admin scope", async () => {
  await using s = await openTestSluice();
  const cases: [unknown, string, RegExp][] = [
    [{}, "", /at least one of email, phone, user_id, anonymous_id/],
    [{ email: "not-an-address" }, "email", /e-mail address/],
    [{ phone: "020 7946 0958" }, "phone", /international phone number/],
    [{ user_id: "" }, "user_id", /must not be empty/],
    [{ anonymous_id: 7 }, "anonymous_id", /must be a string/],
    [{ name: "Ada" }, "", /name/],
  ];
  for (const [body, path, message] of cases) {
    const problem = await expectProblem(await erase(s, body), 400);
    const error = problem.errors?.find((e) => e.path === path);
    assert.ok(error, `${JSON.stringify(body)}: ${JSON.stringify(problem.errors)}`);
    assert.match(error.message, message);
  }
  await expectProblem(await erase(s, { email: ADA.email }, s.workspace.ingest_key), 403);
  await expectProblem(await erase(s, { email: ADA.email }, "sk_nope"), 401);
});

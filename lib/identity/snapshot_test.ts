import assert from "node:assert/strict";
import { sha256Hex } from "../../core/digest.ts";
import type { SluiceEvent, UserData } from "../../core/event.ts";
import {
  applySnapshot,
  type BrowserSnapshot,
  hintFor,
  hintIds,
  mergeSnapshots,
  personKeysOf,
  snapshotOf,
} from "./snapshot.ts";

Deno.test("personKeysOf() hashes the canonical user id, email and E.164 phone", () => {
  assert.deepEqual(
    personKeysOf({
      customer_id: 42,
      email: " Ada@Example.COM ",
      phone: "(650) 555-1212",
      country: "US",
    }),
    {
      uid: sha256Hex("42"),
      em: sha256Hex("ada@example.com"),
      ph: sha256Hex("+16505551212"),
    },
  );
  const hashed = sha256Hex("ada@example.com").toUpperCase();
  assert.deepEqual(personKeysOf({ email: hashed }), { em: hashed.toLowerCase() });
  assert.deepEqual(personKeysOf({ email: "not an address", phone: "123", customer_id: " " }), {});
  assert.deepEqual(hintIds({ anonymous_id: "a1", customer_id: "u" }), [
    `uid:${sha256Hex("u")}`,
    "aid:a1",
  ]);
});

function browserEvent(userData: UserData, consent?: SluiceEvent["consent"]): SluiceEvent {
  return {
    id: "01J0",
    workspace_id: "ws_1",
    event_id: "e1",
    event_name: "page_view",
    event_time: 1000,
    received_at: 1000,
    source: "web",
    dialect: "browser",
    user_data: userData,
    consent,
    properties: {},
    trace_id: "t",
  };
}

Deno.test("snapshotOf() keeps a browser's ids, IP and agent, and nothing when consent denies ad use", () => {
  const userData: UserData = {
    anonymous_id: "a1",
    email: "ada@example.com",
    browser_ids: { fbp: "fb.1.1.1" },
    click_ids: { gclid: "g" },
    client_ip: "203.0.113.1",
    user_agent: "UA",
  };
  assert.deepEqual(snapshotOf(browserEvent(userData)), {
    at: 1000,
    anonymous_id: "a1",
    browser_ids: { fbp: "fb.1.1.1" },
    click_ids: { gclid: "g" },
    client_ip: "203.0.113.1",
    user_agent: "UA",
  });
  assert.equal(snapshotOf(browserEvent(userData, { ad_user_data: "denied" })), undefined);
  assert.equal(snapshotOf(browserEvent({ client_ip: "203.0.113.1" })), undefined);
});

Deno.test("applySnapshot() fills only what the event lacks", () => {
  const userData: UserData = {
    email: "x@example.com",
    browser_ids: { fbp: "server" },
    client_ip: "1.1.1.1",
  };
  applySnapshot(userData, {
    at: 1,
    anonymous_id: "a1",
    browser_ids: { fbp: "browser", fbc: "fb.1.1.c" },
    click_ids: { ttclid: "t" },
    client_ip: "2.2.2.2",
    user_agent: "UA",
  });
  assert.deepEqual(userData, {
    email: "x@example.com",
    browser_ids: { fbp: "server", fbc: "fb.1.1.c" },
    click_ids: { ttclid: "t" },
    client_ip: "1.1.1.1",
    user_agent: "UA",
    anonymous_id: "a1",
  });
});

Deno.test("hintFor() picks the newest snapshot among the event's identifiers; mergeSnapshots() lets the fresh one win", () => {
  const older: BrowserSnapshot = { at: 1, click_ids: { gclid: "old" }, browser_ids: { fbp: "p1" } };
  const newer: BrowserSnapshot = { at: 2, browser_ids: { fbp: "p2" } };
  const hints = { [`em:${sha256Hex("a@example.com")}`]: older, [`uid:${sha256Hex("u")}`]: newer };
  assert.equal(hintFor({ email: "a@example.com", customer_id: "u" }, hints), newer);
  assert.equal(hintFor({ email: "a@example.com" }, hints), older);
  assert.equal(hintFor({ email: "b@example.com" }, hints), undefined);
  assert.deepEqual(mergeSnapshots(newer, older), {
    at: 2,
    click_ids: { gclid: "old" },
    browser_ids: { fbp: "p2" },
  });
});

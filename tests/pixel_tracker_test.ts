/**
 * The pixel's logic (static/pixel/tracker.ts) under Deno, on a fake window: a manual clock,
 * a recording fetch and sendBeacon, an in-memory localStorage and History API.
 */
import assert from "node:assert/strict";
import {
  BATCH_DELAY_MS,
  BATCH_SIZE,
  BOOTSTRAP_TIMEOUT_MS,
  createPixel,
  MAX_QUEUE,
  type PixelEvent,
  type PixelOptions,
  type PixelResponse,
  type PixelWindow,
  type SluiceCommand,
} from "../static/pixel/tracker.ts";

const BASE = "https://t.shop.example";
const EVENTS = `${BASE}/v1/browser/events`;

interface Sent {
  url: string;
  init?: RequestInit;
  beacon?: boolean;
}

/** A window the test drives: time moves only with `advance`, answers come from `answer`. */
class FakeWindow implements PixelWindow {
  location = { href: "https://shop.example/" };
  document = {
    cookie: "",
    title: "Shop",
    referrer: "https://search.example/",
    visibilityState: "visible",
  };
  navigator: PixelWindow["navigator"] & { onLine: boolean; beaconAccepts: boolean } = {
    onLine: true,
    beaconAccepts: true,
    sendBeacon: (url: string, data: string) => {
      this.sent.push({ url, init: { body: data }, beacon: true });
      return this.navigator.beaconAccepts;
    },
  };
  readonly storage = new Map<string, string>();
  localStorage = {
    getItem: (key: string) => this.storage.get(key) ?? null,
    setItem: (key: string, value: string) => void this.storage.set(key, value),
    removeItem: (key: string) => void this.storage.delete(key),
  };
  history = {
    state: null as unknown,
    pushState: (_data: unknown, _unused: string, url?: string | URL | null) => this.#go(url),
    replaceState: (_data: unknown, _unused: string, url?: string | URL | null) => this.#go(url),
  };
  readonly sent: Sent[] = [];
  /** Statuses the events endpoint answers, in turn (then 202); 0 = a network failure. */
  readonly statuses: number[] = [];
  bootstrapAnswer: Record<string, unknown> = {
    anonymous_id: "aid-from-server-0001",
    browser_ids: { fbp: "fb.1.1700000000000.42" },
  };
  now = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #nextTimer = 1;
  #listeners = new Map<string, (() => void)[]>();

  #go(url: string | URL | null | undefined): void {
    if (url) this.location.href = new URL(url, this.location.href).href;
  }

  fetch(url: string, init?: RequestInit): Promise<PixelResponse> {
    this.sent.push({ url, init });
    if (url.startsWith(`${BASE}/bootstrap`)) {
      return Promise.resolve({ status: 200, json: () => Promise.resolve(this.bootstrapAnswer) });
    }
    const status = this.statuses.shift() ?? 202;
    if (status === 0) return Promise.reject(new TypeError("Failed to fetch"));
    return Promise.resolve({ status, json: () => Promise.resolve({}) });
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.#nextTimer++;
    this.#timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(id: number | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  addEventListener(type: string, listener: () => void): void {
    this.#listeners.set(type, [...this.#listeners.get(type) ?? [], listener]);
  }

  /** Fires an event at the window's listeners. */
  fire(type: string): void {
    for (const listener of this.#listeners.get(type) ?? []) listener();
  }

  /** Moves the clock, running due timers in order, and lets promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    await settle();
    for (;;) {
      const due = [...this.#timers].filter(([, t]) =>
        t.at <= until
      ).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
      await settle();
    }
    this.now = until;
  }

  /** Requests to the events endpoint, each as its list of events. */
  batches(): PixelEvent[][] {
    return this.sent.filter((s) => s.url === EVENTS).map((s) =>
      (JSON.parse(String(s.init?.body)) as { events: PixelEvent[] }).events
    );
  }

  bootstraps(): URL[] {
    return this.sent.filter((s) => s.url.startsWith(`${BASE}/bootstrap`)).map((s) =>
      new URL(s.url)
    );
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function start(w: FakeWindow, options: Partial<PixelOptions> = {}): SluiceCommand {
  return createPixel(w, { base: BASE, publicId: "pk_test", consentRequired: false, ...options });
}

const names = (events: PixelEvent[]) => events.map((e) => e.event_name);

Deno.test("createPixel() sends the page view once /bootstrap answered, stamped with its ids and consent", async () => {
  const w = new FakeWindow();
  w.document.cookie = "_ga=GA1.1.123.456; _ga_ABC=GS1.1.1700000000.3.1; _ttp=ttp-1; other=x";
  start(w);
  assert.equal(w.bootstraps().length, 1);
  assert.equal(w.sent[0]?.init?.credentials, "include");
  await w.advance(BATCH_DELAY_MS);
  const [batch] = w.batches();
  assert.deepEqual(names(batch!), ["page_view"]);
  const [view] = batch!;
  assert.equal(view?.page.url, "https://shop.example/");
  assert.equal(view?.page.referrer, "https://search.example/");
  assert.equal(view?.page.title, "Shop");
  assert.equal(view?.user_data.anonymous_id, "aid-from-server-0001");
  assert.deepEqual(view?.user_data.browser_ids, {
    fbp: "fb.1.1700000000000.42",
    ga: "GA1.1.123.456",
    ga_session_id: "GS1.1.1700000000.3.1",
    ttp: "ttp-1",
  });
  assert.deepEqual(view?.consent, {
    ad_user_data: "granted",
    ad_personalization: "granted",
    analytics_storage: "granted",
  });
  // Sent as text/plain (a string body: no preflight), kept alive, without cookies.
  const request = w.sent.find((s) => s.url === EVENTS)!;
  assert.equal(typeof request.init?.body, "string");
  assert.equal(request.init?.keepalive, true);
  assert.equal(request.init?.credentials, undefined);
  assert.equal(w.storage.get("sluice_aid"), "aid-from-server-0001");
});

Deno.test("createPixel() waits for /bootstrap at most BOOTSTRAP_TIMEOUT_MS, then uses its own id", async () => {
  const w = new FakeWindow();
  w.fetch = (url: string, init?: RequestInit) => {
    w.sent.push({ url, init });
    return url.includes("/bootstrap")
      ? new Promise<PixelResponse>(() => {})
      : Promise.resolve({ status: 202, json: () => Promise.resolve({}) });
  };
  start(w);
  await w.advance(BOOTSTRAP_TIMEOUT_MS - 1);
  assert.equal(w.batches().length, 0);
  await w.advance(1);
  const [view] = w.batches()[0]!;
  assert.match(String(view?.user_data.anonymous_id), /^[a-z0-9]{20,}$/);
});

Deno.test("createPixel() passes the landing URL's click ids and campaign to /bootstrap, nothing else", () => {
  const w = new FakeWindow();
  w.location.href =
    "https://shop.example/p?ScCid=sc-1&gclid=Cj0&utm_source=news&email=ada%40example.com&q=shoes";
  start(w);
  const query = w.bootstraps()[0]!.searchParams;
  assert.deepEqual([...query.keys()].sort(), ["ads", "gclid", "id", "sccid", "utm_source"]);
  assert.equal(query.get("sccid"), "sc-1");
  assert.equal(query.get("id"), "pk_test");
});

Deno.test("createPixel() removes the magic-link token from the address bar and hands it to /bootstrap", async () => {
  const w = new FakeWindow();
  w.location.href = "https://shop.example/welcome?_uid=v1.abc.def&x=1";
  start(w);
  assert.equal(w.location.href, "https://shop.example/welcome?x=1");
  assert.equal(w.bootstraps()[0]!.searchParams.get("_uid"), "v1.abc.def");
  await w.advance(BATCH_DELAY_MS);
  assert.equal(w.batches()[0]![0]!.page.url, "https://shop.example/welcome?x=1");
});

Deno.test("createPixel() with consent required sends and stores nothing until consent; the buffer goes with the decision", async () => {
  const w = new FakeWindow();
  w.location.href = "https://shop.example/?gclid=Cj0";
  const sluice = start(w, { consentRequired: true });
  sluice("track", "add_to_cart", { value: 3 });
  sluice("identify", { user_id: "u-1" });
  await w.advance(10_000);
  assert.deepEqual(w.sent, []);
  assert.equal(w.storage.size, 0);
  sluice("consent", {
    ad_user_data: "granted",
    ad_personalization: "denied",
    analytics_storage: true,
  });
  assert.equal(w.bootstraps()[0]!.searchParams.get("gclid"), "Cj0");
  await w.advance(BATCH_DELAY_MS);
  const [batch] = w.batches();
  assert.deepEqual(names(batch!), ["page_view", "add_to_cart", "identify"]);
  for (const e of batch!) {
    assert.deepEqual(e.consent, {
      ad_user_data: "granted",
      ad_personalization: "denied",
      analytics_storage: "granted",
    });
  }
  // Stored only now: the user id of identify() was not written before consent.
  assert.equal(w.storage.get("sluice_uid"), undefined);
});

Deno.test("createPixel() drops the buffer and later events when consent is denied", async () => {
  const w = new FakeWindow();
  const sluice = start(w, { consentRequired: true });
  sluice("track", "lead");
  sluice("consent", { ad_user_data: "denied", analytics_storage: "denied" });
  sluice("track", "purchase", { value: 1 });
  await w.advance(10_000);
  assert.deepEqual(w.sent, []);
  sluice("consent", { analytics_storage: "granted" });
  sluice("track", "signup");
  await w.advance(BATCH_DELAY_MS);
  assert.deepEqual(names(w.batches().flat()), ["signup"]);
});

Deno.test("createPixel() with analytics consent only sends no ad identifiers and no click ids", async () => {
  const w = new FakeWindow();
  w.location.href = "https://shop.example/?fbclid=IwAR&utm_medium=cpc";
  w.document.cookie = "_fbp=fb.1.1.2; _fbc=fb.1.1.IwAR";
  const sluice = start(w, { consentRequired: true });
  sluice("consent", { ad_user_data: "denied", analytics_storage: "granted" });
  const query = w.bootstraps()[0]!.searchParams;
  assert.deepEqual([...query.keys()].sort(), ["id", "utm_medium"]);
  await w.advance(BATCH_DELAY_MS);
  const [view] = w.batches()[0]!;
  assert.equal(view?.user_data.browser_ids, undefined);
  assert.equal(view?.user_data.click_ids, undefined);
  assert.equal(view?.user_data.anonymous_id, "aid-from-server-0001");
});

Deno.test("createPixel() sends LinkedIn's li_fat_id cookie as a click id, beside the landing ones", async () => {
  const w = new FakeWindow();
  w.bootstrapAnswer = { ...w.bootstrapAnswer, click_ids: { gclid: "Cj0-landing" } };
  w.document.cookie = "_ttp=ttp-1; li_fat_id=a1b2c3d4-li; not_li_fat_id=x";
  start(w);
  await w.advance(BATCH_DELAY_MS);
  const [view] = w.batches()[0]!;
  assert.deepEqual(view?.user_data.click_ids, { gclid: "Cj0-landing", li_fat_id: "a1b2c3d4-li" });
  assert.deepEqual(view?.user_data.browser_ids, { fbp: "fb.1.1700000000000.42", ttp: "ttp-1" });
});

Deno.test("createPixel() keeps at most MAX_QUEUE events while waiting", async () => {
  const w = new FakeWindow();
  const sluice = start(w, { consentRequired: true });
  for (let i = 0; i < MAX_QUEUE + 20; i++) sluice("track", "tick", { i });
  sluice("consent", { analytics_storage: "granted" });
  await w.advance(60_000);
  assert.equal(w.batches().flat().length, MAX_QUEUE);
});

Deno.test("createPixel() batches events BATCH_SIZE at a time after BATCH_DELAY_MS", async () => {
  const w = new FakeWindow();
  const sluice = start(w);
  await w.advance(BATCH_DELAY_MS);
  for (let i = 0; i < BATCH_SIZE + 5; i++) sluice("track", "tick", { i });
  await w.advance(BATCH_DELAY_MS - 1);
  assert.equal(w.batches().length, 1);
  await w.advance(1);
  await w.advance(0);
  const [, first, second] = w.batches();
  assert.equal(first?.length, BATCH_SIZE);
  assert.equal(second?.length, 5);
  assert.deepEqual(
    [...first!, ...second!].map((e) => e.i),
    Array.from({ length: BATCH_SIZE + 5 }, (_, i) => i),
  );
});

Deno.test("createPixel() retries 429, 503 and network failures with a doubling pause, keeping event ids", async () => {
  const w = new FakeWindow();
  w.statuses.push(503, 429, 0);
  start(w);
  await w.advance(0); // the first send goes once /bootstrap answered
  assert.equal(w.batches().length, 1);
  await w.advance(999);
  assert.equal(w.batches().length, 1);
  await w.advance(1); // 1 s after the 503
  assert.equal(w.batches().length, 2);
  await w.advance(1999);
  assert.equal(w.batches().length, 2);
  await w.advance(1); // 2 s after the 429
  assert.equal(w.batches().length, 3);
  await w.advance(3999);
  assert.equal(w.batches().length, 3);
  await w.advance(1); // 4 s after the network failure
  assert.equal(w.batches().length, 4);
  await w.advance(60_000);
  assert.equal(w.batches().length, 4, "accepted: not sent again");
  const ids = w.batches().map((b) => b.map((e) => e.event_id).join());
  assert.equal(new Set(ids).size, 1);
});

Deno.test("createPixel() drops a batch the server refused as invalid (400) instead of retrying it", async () => {
  const w = new FakeWindow();
  w.statuses.push(400);
  const sluice = start(w);
  await w.advance(BATCH_DELAY_MS);
  sluice("track", "next");
  await w.advance(60_000);
  assert.deepEqual(w.batches().map(names), [["page_view"], ["next"]]);
});

Deno.test("createPixel() holds events while offline and sends them on `online`", async () => {
  const w = new FakeWindow();
  w.navigator.onLine = false;
  start(w);
  await w.advance(30_000);
  assert.equal(w.batches().length, 0);
  const kept = JSON.parse(w.storage.get("sluice_q") ?? "[]") as PixelEvent[];
  assert.deepEqual(names(kept), ["page_view"]);
  w.navigator.onLine = true;
  w.fire("online");
  await w.advance(0);
  assert.deepEqual(w.batches().map(names), [["page_view"]]);
  assert.equal(w.batches()[0]![0]!.event_id, kept[0]!.event_id);
  assert.equal(w.storage.get("sluice_q"), undefined);
});

Deno.test("createPixel() resends events kept by a page that closed offline, with their ids", async () => {
  const first = new FakeWindow();
  first.navigator.onLine = false;
  const sluice = start(first);
  sluice("track", "purchase", { event_id: "order-9", value: 9 });
  first.fire("pagehide");
  const kept = first.storage.get("sluice_q");
  assert.ok(kept);
  const next = new FakeWindow();
  next.storage.set("sluice_q", kept);
  next.storage.set("sluice_aid", "aid-kept-0001");
  start(next);
  assert.equal(next.bootstraps()[0]!.searchParams.get("aid"), "aid-kept-0001");
  await next.advance(BATCH_DELAY_MS);
  const sent = next.batches().flat();
  assert.deepEqual(names(sent), ["page_view", "purchase", "page_view"]);
  assert.equal(sent[1]?.event_id, "order-9");
  const firstView = (JSON.parse(kept) as PixelEvent[])[0]!;
  assert.equal(sent[0]?.event_id, firstView.event_id);
});

Deno.test("createPixel() sends what is queued by sendBeacon when the page is hidden, fetch when it refuses", async () => {
  const w = new FakeWindow();
  const sluice = start(w);
  await w.advance(BATCH_DELAY_MS);
  sluice("track", "lead");
  w.document.visibilityState = "hidden";
  w.fire("visibilitychange");
  const beacon = w.sent.at(-1)!;
  assert.equal(beacon.beacon, true);
  assert.equal(beacon.url, EVENTS);
  assert.deepEqual(names(JSON.parse(String(beacon.init?.body)).events), ["lead"]);
  await w.advance(60_000);
  assert.equal(w.sent.filter((s) => s.url === EVENTS).length, 2, "handed to the beacon once");
  // Visible again: events go by fetch as before.
  w.document.visibilityState = "visible";
  sluice("track", "view_cart");
  await w.advance(BATCH_DELAY_MS);
  assert.deepEqual(names(w.batches().at(-1)!), ["view_cart"]);
  assert.equal(w.sent.at(-1)?.beacon, undefined);

  w.navigator.beaconAccepts = false;
  sluice("track", "purchase");
  w.fire("pagehide");
  const fallback = w.sent.at(-1)!;
  assert.equal(fallback.beacon, undefined);
  assert.equal(fallback.init?.keepalive, true);
  assert.deepEqual(names(JSON.parse(String(fallback.init?.body)).events), ["purchase"]);
});

Deno.test("createPixel() tracks SPA navigations (pushState, replaceState, popstate), not fragment changes", async () => {
  const w = new FakeWindow();
  start(w);
  w.history.pushState({}, "", "/product/1");
  w.history.pushState({}, "", "/product/1#reviews");
  w.history.replaceState({}, "", "/cart");
  w.location.href = "https://shop.example/product/1";
  w.fire("popstate");
  await w.advance(BATCH_DELAY_MS);
  const views = w.batches().flat();
  assert.deepEqual(views.map((e) => e.page.url), [
    "https://shop.example/",
    "https://shop.example/product/1",
    "https://shop.example/cart",
    "https://shop.example/product/1",
  ]);
  assert.deepEqual(views.map((e) => e.page.referrer), [
    "https://search.example/",
    "https://shop.example/",
    "https://shop.example/product/1",
    "https://shop.example/cart",
  ]);
});

Deno.test("identify() adds the user to later events and keeps the user id; reset() forgets both", async () => {
  const w = new FakeWindow();
  const sluice = start(w);
  sluice("identify", { user_id: 42, email: "ada@example.com" });
  sluice("track", "purchase", { value: 5, user_data: { phone: "+1 650 555 1212" } });
  await w.advance(BATCH_DELAY_MS);
  const [, identify, purchase] = w.batches().flat();
  assert.deepEqual(identify?.user_data.customer_id, "42");
  assert.equal(purchase?.user_data.email, "ada@example.com");
  assert.equal(purchase?.user_data.phone, "+1 650 555 1212");
  assert.equal(w.storage.get("sluice_uid"), "42");

  w.bootstrapAnswer = { anonymous_id: "aid-after-reset-01" };
  sluice("reset");
  assert.equal(w.storage.get("sluice_uid"), undefined);
  const again = w.bootstraps().at(-1)!.searchParams;
  assert.equal(again.get("reset"), "1");
  assert.equal(again.get("aid"), null);
  await w.advance(0);
  sluice("track", "lead");
  await w.advance(BATCH_DELAY_MS);
  const lead = w.batches().flat().at(-1)!;
  assert.equal(lead.user_data.customer_id, undefined);
  assert.equal(lead.user_data.email, undefined);
  assert.equal(lead.user_data.anonymous_id, "aid-after-reset-01");
});

Deno.test("track() gives every event a unique id unless the page names one", async () => {
  const w = new FakeWindow();
  const sluice = start(w);
  for (let i = 0; i < 10; i++) sluice("track", "tick");
  sluice("track", "purchase", { event_id: "order-1" });
  await w.advance(BATCH_DELAY_MS);
  const ids = w.batches().flat().map((e) => e.event_id);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.at(-1), "order-1");
});

Deno.test("the entry replays the calls the snippet's stub queued before the pixel loaded", async () => {
  const w = new FakeWindow();
  const stub = Object.assign(() => {}, {
    q: [["track", "purchase", { event_id: "early-1" }], ["consent", {
      analytics_storage: "granted",
    }]],
  });
  const page = Object.assign(w, {
    sluice: stub,
    document: Object.assign(w.document, {
      currentScript: {
        src: `${BASE}/v1/pixel.js`,
        dataset: { publicId: "pk_entry", consent: "required" },
      },
    }),
  });
  const saved = new Map<string, PropertyDescriptor | undefined>();
  const keys = ["document", "location", "history", "navigator", "localStorage", "sluice"] as const;
  for (const key of keys) {
    saved.set(key, Object.getOwnPropertyDescriptor(globalThis, key));
    Object.defineProperty(globalThis, key, {
      value: page[key],
      configurable: true,
      writable: true,
    });
  }
  const originals = [globalThis.fetch, globalThis.setTimeout, globalThis.clearTimeout];
  const g = globalThis as unknown as PixelWindow;
  Object.assign(globalThis, {
    fetch: w.fetch.bind(w),
    setTimeout: w.setTimeout.bind(w),
    clearTimeout: w.clearTimeout.bind(w),
  });
  const addEventListener = globalThis.addEventListener;
  globalThis.addEventListener = w.addEventListener.bind(w) as typeof globalThis.addEventListener;
  try {
    await import("../static/pixel/pixel.ts");
    const installed = (globalThis as unknown as { sluice: { loaded?: boolean } }).sluice;
    assert.equal(installed.loaded, true);
    assert.equal(w.bootstraps()[0]?.searchParams.get("id"), "pk_entry");
    await w.advance(BATCH_DELAY_MS);
    assert.deepEqual(names(w.batches().flat()), ["page_view", "purchase"]);
    assert.ok(g);
  } finally {
    [globalThis.fetch, globalThis.setTimeout, globalThis.clearTimeout] = originals as [
      typeof fetch,
      typeof setTimeout,
      typeof clearTimeout,
    ];
    globalThis.addEventListener = addEventListener;
    for (const key of keys) {
      const descriptor = saved.get(key);
      if (descriptor) Object.defineProperty(globalThis, key, descriptor);
      else Reflect.deleteProperty(globalThis, key);
    }
  }
});

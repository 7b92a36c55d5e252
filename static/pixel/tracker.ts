/**
 * The Sluice pixel's logic, written against {@link PixelWindow} (the browser's `window`, or a
 * fake in tests) so it runs under Deno too. docs/pixel.md describes its behaviour; the
 * bundle (`deno task build:pixel`) must stay within 2 KB gzipped, so the code avoids
 * classes and repeats, and the minifier does the rest.
 *
 * @module
 */

/** Google consent-mode state of one purpose. */
export type ConsentValue = "granted" | "denied";

/** The consent-mode fields every event carries. */
export interface ConsentState {
  ad_user_data?: ConsentValue;
  ad_personalization?: ConsentValue;
  analytics_storage?: ConsentValue;
}

/** The History API methods the pixel wraps to see SPA navigations. */
export interface PixelHistory {
  readonly state: unknown;
  pushState(data: unknown, unused: string, url?: string | URL | null): void;
  replaceState(data: unknown, unused: string, url?: string | URL | null): void;
}

/** What an answer must tell the pixel. */
export interface PixelResponse {
  readonly status: number;
  json(): Promise<unknown>;
}

/** The part of `window` the pixel uses. */
export interface PixelWindow {
  readonly location: { readonly href: string };
  readonly document: {
    cookie: string;
    readonly title: string;
    readonly referrer: string;
    readonly visibilityState: string;
  };
  readonly history: PixelHistory;
  readonly navigator: {
    readonly onLine: boolean;
    sendBeacon?(url: string, data: string): boolean;
  };
  readonly localStorage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  fetch(url: string, init?: RequestInit): Promise<PixelResponse>;
  setTimeout(callback: () => void, ms: number): number;
  clearTimeout(id: number | undefined): void;
  addEventListener(type: string, listener: () => void): void;
}

/** How the script tag configured the pixel. */
export interface PixelOptions {
  /** Sluice's base URL, from the script's `src` (`https://t.shop.example`, or with a path). */
  base: string;
  /** `data-public-id`. */
  publicId: string;
  /** `data-consent="required"`: nothing is stored or sent until consent allows it. */
  consentRequired: boolean;
}

/** The `sluice(command, …)` function. */
export type SluiceCommand = (command: string, arg?: unknown, props?: unknown) => void;

/** One event as the pixel queues and sends it (the native event format). */
export interface PixelEvent {
  event_id: string;
  event_name: string;
  event_time: number;
  page: { url: string; referrer?: string; title?: string };
  user_data: Record<string, unknown>;
  consent?: ConsentState;
  utm?: Record<string, string>;
  [property: string]: unknown;
}

/**
 * Landing-URL parameters passed to /bootstrap, which keeps them in a cookie: click ids (any
 * case: `ScCid`) and UTM parameters.
 */
export const LANDING_PARAMS =
  /^(fbclid|gclid|gbraid|wbraid|ttclid|sccid|epik|rdt_cid|msclkid|li_fat_id|twclid|utm_\w+)$/i;

/**
 * Platform cookies read on every event: `_<browser id name>=value`, GA4's session cookie, and
 * `li_fat_id`, the click id LinkedIn's Insight Tag keeps in a cookie of that name.
 */
const PLATFORM_COOKIES =
  /(?:^|; )(?:_(fbp|fbc|ga|ttp|scid|epik|rdt_uuid|gcl_aw|uet_?msclkid|ga_\w+)|li_fat_id)=([^;]*)/g;
const CONSENT_FIELDS = ["ad_user_data", "ad_personalization", "analytics_storage"] as const;
const GRANTED = "granted";

/** Pause before a batch goes, ms: events of one interaction leave together. */
export const BATCH_DELAY_MS = 1000;
/** Events per request. */
export const BATCH_SIZE = 20;
/** Events kept while waiting (for consent, for the network); later ones are dropped. */
export const MAX_QUEUE = 100;
/** Longest pause between retries, ms; the first is 1 s, then doubling. */
export const MAX_BACKOFF_MS = 60_000;
/** How long events wait for /bootstrap before leaving without its answer, ms. */
export const BOOTSTRAP_TIMEOUT_MS = 3000;

const AID = "sluice_aid";
const UID = "sluice_uid";
const QUEUE = "sluice_q";

/** What /bootstrap answers: the visitor's ids, kept in Sluice's server-set cookies. */
export interface BootstrapAnswer {
  anonymous_id?: string;
  /** Meta's `fbp` and `fbc`, built by Sluice when no Meta pixel set them. */
  browser_ids?: Record<string, string>;
  click_ids?: Record<string, string>;
  utm?: Record<string, string>;
}

/** An argument as an object of fields; anything else is taken as none. */
const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? { ...value } : {};

/**
 * Starts the pixel on a window: tracks the page view (and each SPA navigation), asks
 * /bootstrap for the visitor's ids once consent allows, and answers `sluice(...)` calls.
 */
export function createPixel(w: PixelWindow, o: PixelOptions): SluiceCommand {
  const d = w.document;
  const nav = w.navigator;
  const endpoint = `${o.base}/v1/browser/events`;
  const consent: ConsentState = {};
  if (!o.consentRequired) { for (const f of CONSENT_FIELDS) consent[f] = GRANTED; }
  let queue: PixelEvent[] = [];
  let sending: PixelEvent[] = [];
  let traits: Record<string, unknown> = {};
  let ids: BootstrapAnswer = {};
  /** The anonymous id; "" after `reset`, until /bootstrap hands out a new one. */
  let aid = get(AID);
  let booted = false;
  let ready = false;
  let busy = false;
  let timer: number | undefined;
  let backoff = 0;
  let lastPage = "";

  // Campaign and click ids of the landing URL go to /bootstrap; the magic-link token too,
  // and it leaves the address bar at once (page URLs reach the platforms).
  const landing = new URL(w.location.href);
  const search = landing.searchParams;
  const found: [string, string][] = [];
  search.forEach((value, key) => {
    if (LANDING_PARAMS.test(key)) found.push([key.toLowerCase(), value]);
  });
  const linkToken = search.get("_uid");
  if (linkToken) {
    search.delete("_uid");
    w.history.replaceState(w.history.state, "", landing.href);
  }
  const storedUid = get(UID);
  if (storedUid) traits.customer_id = storedUid;
  try {
    queue = JSON.parse(get(QUEUE) ?? "[]");
  } catch { /* a damaged queue is dropped */ }

  function get(key: string): string | undefined {
    try {
      return w.localStorage.getItem(key) ?? undefined;
    } catch { /* storage blocked */ }
  }

  function put(key: string, value?: string): void {
    try {
      if (value) w.localStorage.setItem(key, value);
      else w.localStorage.removeItem(key);
    } catch { /* storage blocked or full */ }
  }

  // Event and fallback anonymous ids: unique, not secret (time plus 2 × 52 random bits).
  const newId = () =>
    Date.now().toString(36) + Math.random().toString(36).slice(2) +
    Math.random().toString(36).slice(2);
  const ads = () => consent.ad_user_data === GRANTED;
  const allowed = () => ads() || consent.analytics_storage === GRANTED;
  const save = () => allowed() && put(QUEUE, queue.length ? JSON.stringify(queue) : "");

  /**
   * Asks /bootstrap for the anonymous id and, with ad consent, Meta's ids and the click ids
   * seen so far; it keeps them in server-set first-party cookies, which Safari does not cap.
   */
  function boot(): void {
    if (booted || !allowed()) return;
    booted = true;
    ready = false;
    const query = new URLSearchParams({ id: o.publicId });
    if (aid) query.set("aid", aid);
    if (aid === "") query.set("reset", "1");
    for (const [key, value] of found) {
      if (key.startsWith("utm_") || ads()) query.set(key, value);
    }
    if (ads()) {
      query.set("ads", "1");
      if (linkToken) query.set("_uid", linkToken);
    }
    const done = () => {
      if (ready) return;
      ready = true;
      aid ||= newId();
      put(AID, aid);
      flush();
    };
    w.setTimeout(done, BOOTSTRAP_TIMEOUT_MS);
    w.fetch(`${o.base}/bootstrap?${query}`, { credentials: "include" })
      .then((res) => res.json())
      .then((answer) => {
        ids = record(answer);
        aid = ids.anonymous_id || aid;
      })
      .catch(() => {})
      .then(done);
  }

  /** Adds what is known when an event first leaves: consent, anonymous id, ad ids, campaign. */
  function stamp(e: PixelEvent): void {
    if (e.consent) return;
    e.consent = { ...consent };
    const u = e.user_data;
    if (aid) u.anonymous_id = aid;
    if (ids.utm) e.utm = ids.utm;
    if (!ads()) return;
    // A platform's own cookie (its browser pixel's) wins over the ids Sluice built.
    const browserIds = { ...ids.browser_ids };
    let clickIds = ids.click_ids;
    for (const [, name, value] of d.cookie.matchAll(PLATFORM_COOKIES)) {
      // `_ga_<ID>` holds the GA4 session; Sluice reads the session id out of it.
      if (name) {
        browserIds[name.replace(/^uetm/, "uet_m").replace(/^ga_\w+/, "ga_session_id")] = value!;
      } else clickIds = { ...clickIds, li_fat_id: value! };
    }
    u.browser_ids = browserIds;
    if (clickIds) u.click_ids = clickIds;
  }

  function schedule(ms = BATCH_DELAY_MS): void {
    timer ??= w.setTimeout(flush, ms);
  }

  function body(events: PixelEvent[]): string {
    events.forEach(stamp);
    return JSON.stringify({ public_id: o.publicId, events });
  }

  function post(events: PixelEvent[]): Promise<PixelResponse> {
    return w.fetch(endpoint, { method: "POST", body: body(events), keepalive: true });
  }

  /**
   * Sends queued events: while the page lives, by fetch (keepalive), whose answer says
   * whether to retry (network failure, 429, 5xx: after a doubling pause); when it is being
   * left (`exit`), by sendBeacon, with fetch as the fallback. Offline, events wait for the
   * `online` event. Each event keeps its id, so a resend is a harmless duplicate.
   */
  function flush(exit?: boolean): void {
    w.clearTimeout(timer);
    timer = undefined;
    if (!allowed() || !queue.length) return;
    if (!nav.onLine) return void save();
    if (exit) {
      const rest = queue.filter((e) => !sending.includes(e));
      if (rest.length && !nav.sendBeacon?.(endpoint, body(rest))) post(rest).catch(() => {});
      queue = queue.filter((e) => sending.includes(e));
      return void save();
    }
    if (busy || !ready) return;
    busy = true;
    const sent = sending = queue.slice(0, BATCH_SIZE);
    post(sent).then((res) => res.status, () => 0).then((status) => {
      busy = false;
      sending = [];
      if (!status || status === 429 || status > 499) {
        backoff = Math.min(backoff * 2 || 1000, MAX_BACKOFF_MS);
        return schedule(backoff);
      }
      backoff = 0;
      queue = queue.filter((e) => !sent.includes(e));
      save();
      if (queue.length) schedule(0);
    });
  }

  function track(name: string, props?: unknown): void {
    // Once consent is refused (a decision was given), events are dropped, not kept for later.
    if (queue.length >= MAX_QUEUE || (!allowed() && Object.keys(consent).length)) return;
    const given = record(props);
    queue.push({
      event_id: newId(),
      event_time: Date.now(),
      page: { url: w.location.href },
      ...given,
      event_name: name,
      user_data: { ...traits, ...record(given.user_data) },
    });
    if (allowed()) schedule();
  }

  /** A page view, unless the URL (less its fragment) is the one last viewed. */
  function pageView(): void {
    const url = w.location.href;
    const key = url.split("#")[0]!;
    if (key === lastPage) return;
    track("page_view", {
      page: { url, referrer: lastPage || d.referrer, title: d.title },
    });
    lastPage = key;
  }

  function identify(given?: unknown): void {
    const { user_id: uid, ...rest } = record(given);
    traits = { ...traits, ...rest };
    if (uid !== undefined && uid !== null) {
      const id = traits.customer_id = String(uid);
      if (allowed()) put(UID, id);
    }
    track("identify");
  }

  function setConsent(given?: unknown): void {
    const update = record(given);
    for (const f of CONSENT_FIELDS) {
      if (f in update) {
        consent[f] = update[f] === true || update[f] === GRANTED ? GRANTED : "denied";
      }
    }
    if (allowed()) {
      boot();
      schedule();
    } else {
      queue = [];
      put(QUEUE);
    }
  }

  function reset(): void {
    if (allowed()) queue.forEach(stamp);
    traits = {};
    ids = {};
    aid = "";
    put(UID);
    put(AID);
    booted = false;
    boot();
  }

  for (const method of ["pushState", "replaceState"] as const) {
    const original = w.history[method];
    w.history[method] = (...args: Parameters<PixelHistory["pushState"]>) => {
      original.apply(w.history, args);
      pageView();
    };
  }
  w.addEventListener("popstate", () => pageView());
  w.addEventListener("online", () => flush());
  w.addEventListener("pagehide", () => flush(true));
  w.addEventListener("visibilitychange", () => d.visibilityState === "hidden" && flush(true));
  boot();
  pageView();

  return (command, arg, props) => {
    if (command === "track") track(String(arg), props);
    else if (command === "identify") identify(arg);
    else if (command === "consent") setConsent(arg);
    else if (command === "reset") reset();
  };
}

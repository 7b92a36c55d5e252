import { monotonicFactory } from "ulid";
import type { FieldError } from "../../core/field_error.ts";
import {
  type BrowserIdName,
  CLICK_ID_PARAMS,
  type ClickIdName,
  clipped,
  type Dialect,
  EVENT_LIMITS,
  type EventInput,
  nativeEventSchema,
  type SluiceEvent,
  type UserData,
  type Utm,
} from "../../core/event.ts";
import { canonicalEventName } from "../../core/event_names.ts";
import {
  browserIdsFromCookies,
  clickIdsFromCookies,
  clickIdsFromUrl,
  completePage,
  fbcFromFbclid,
  parsePageUrl,
  utmFromUrl,
} from "./enrich.ts";
import { ga4SessionId } from "../../connectors/ga4.ts";
import { ANON_ID_COOKIE, isAnonId } from "../identity/browser_cookies.ts";
import { adsAllowed, applySnapshot, hintFor, type IdentityHints } from "../identity/snapshot.ts";

/** What the request tells about the events it carries. */
export interface RequestContext {
  workspaceId: string;
  dialect: Dialect;
  /** Epoch ms the request arrived. */
  receivedAt: number;
  traceId: string;
  /** `source` for events that name none. */
  defaultSource: string;
  /**
   * The browser's IP and user agent, for requests made by the user's own browser (the
   * browser dialects): they replace whatever the body claims. Server keys' events keep
   * the body's values.
   */
  clientIp?: string;
  userAgent?: string;
  /** The browser's first-party cookies, for browser requests. */
  cookies?: Map<string, string>;
  /**
   * Snapshots of the browsers of the people a server request's events name (the identity
   * graph's `hintsFor`): they fill the browser identifiers a server event lacks.
   */
  identities?: IdentityHints;
}

/** The outcome of parsing one incoming event. */
export type ParseResult =
  | { ok: true; event: SluiceEvent; /** The event as JSON, ready to seal. */ json: string }
  | { ok: false; event_id?: string; errors: FieldError[] };

/**
 * An input a dialect's mapping already found invalid (a Segment message of an unknown
 * type): it is answered rejected with these errors, like an event that fails validation.
 * Error paths are relative to the input; the ingestor prefixes where it sat in the body.
 */
export class RejectedInput {
  readonly errors: readonly FieldError[];
  readonly event_id?: string;

  constructor(errors: readonly FieldError[], eventId?: string) {
    this.errors = errors;
    this.event_id = eventId;
  }
}

/** Where input `index` sat in the body: `events.3` under the prefix `events`, "" without one. */
export function inputPath(pathPrefix: string | undefined, index: number): string {
  return pathPrefix === undefined ? "" : `${pathPrefix}.${index}`;
}

/** Dialects whose requests come from the user's own browser. */
const BROWSER_DIALECTS: ReadonlySet<Dialect> = new Set(["browser", "collect"]);

/** Whether a dialect's requests come from the user's own browser (its IP, agent, cookies). */
export function isBrowserDialect(dialect: Dialect): boolean {
  return BROWSER_DIALECTS.has(dialect);
}
const NATIVE_KEYS = new Set(Object.keys(nativeEventSchema.shape));
const CLICK_ID_SET = new Set<string>(CLICK_ID_PARAMS);
const BROWSER_ID_ALIASES = new Map<string, BrowserIdName>([["fbp", "fbp"], ["fbc", "fbc"]]);
const newUlid = monotonicFactory();

/**
 * Validates one native event and turns it into a canonical SluiceEvent: canonical name,
 * epoch-ms time within platform bounds, click ids, cookie ids, UTM and consent.
 * `path` prefixes field paths in errors (e.g. `events.3`).
 */
export function parseEvent(input: unknown, ctx: RequestContext, path = ""): ParseResult {
  const at = (sub: string) => [path, sub].filter(Boolean).join(".");
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: at(""), message: "must be a JSON object" }] };
  }
  const depthError = findTooDeep(input, EVENT_LIMITS.nestingDepth);
  if (depthError !== undefined) {
    return {
      ok: false,
      errors: [{
        path: at(depthError),
        message: `is nested deeper than ${EVENT_LIMITS.nestingDepth} levels`,
      }],
    };
  }
  const parsed = nativeEventSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      event_id: stringId((input as Record<string, unknown>).event_id),
      errors: parsed.error.issues.map((issue) => ({
        path: at(issue.path.join(".")),
        message: issue.message,
      })),
    };
  }
  const time = eventTimeMs(parsed.data.event_time, ctx.receivedAt);
  if (typeof time === "string") {
    return {
      ok: false,
      event_id: parsed.data.event_id,
      errors: [{ path: at("event_time"), message: time }],
    };
  }
  const event = buildEvent(parsed.data, time, ctx);
  const json = JSON.stringify(event);
  const size = utf8Length(json);
  if (size > EVENT_LIMITS.storedBytes) {
    return {
      ok: false,
      event_id: event.event_id,
      errors: [{
        path: at(""),
        message: `event is ${size} bytes; at most ${EVENT_LIMITS.storedBytes} are accepted`,
      }],
    };
  }
  return { ok: true, event, json };
}

function buildEvent(input: EventInput, eventTime: number, ctx: RequestContext): SluiceEvent {
  const pageUrl = parsePageUrl(input.page?.url);
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!NATIVE_KEYS.has(key) && key !== "__proto__") properties[key] = value;
  }
  Object.assign(properties, input.properties);
  const event: SluiceEvent = {
    id: newUlid(ctx.receivedAt),
    workspace_id: ctx.workspaceId,
    event_id: input.event_id ?? crypto.randomUUID(),
    event_name: canonicalEventName(input.event_name),
    event_time: eventTime,
    received_at: ctx.receivedAt,
    source: input.source ?? ctx.defaultSource,
    dialect: ctx.dialect,
    user_data: enrichUserData(input.user_data ?? {}, pageUrl, ctx),
    properties,
    trace_id: ctx.traceId,
  };
  if (event.event_name !== input.event_name) event.original_event_name = input.event_name;
  if (input.action_source) event.action_source = input.action_source;
  if (input.value !== undefined) event.value = input.value;
  if (input.currency) event.currency = input.currency;
  if (input.order_id) event.order_id = input.order_id;
  if (input.items) event.items = input.items;
  const page = completePage(input.page, pageUrl);
  if (page) event.page = page;
  const landing = landingUtm(properties);
  const utm = utmFromUrl(pageUrl) ?? landing;
  if (utm) event.utm = utm;
  if (input.consent) event.consent = input.consent;
  if (BROWSER_DIALECTS.has(ctx.dialect)) {
    if (!adsAllowed(event.consent)) withoutAdIds(event.user_data);
  } else if (ctx.identities && adsAllowed(event.consent)) {
    const hint = hintFor(event.user_data, ctx.identities);
    if (hint) applySnapshot(event.user_data, hint);
  }
  return event;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Analytics ids, kept when consent denies ad use. */
const ANALYTICS_IDS: ReadonlySet<string> = new Set(["ga", "ga_session_id"]);

/** Removes the ad identifiers a browser event carried (click ids, ad platform cookies). */
function withoutAdIds(userData: UserData): void {
  delete userData.click_ids;
  const kept = Object.entries(userData.browser_ids ?? {}).filter(([id]) => ANALYTICS_IDS.has(id));
  if (kept.length) userData.browser_ids = Object.fromEntries(kept);
  else delete userData.browser_ids;
}

/**
 * The campaign of the visit's landing page, which the pixel keeps in a cookie and sends as
 * `utm` (it lands in properties): used when the event's own page URL has none.
 */
function landingUtm(properties: Record<string, unknown>): Utm | undefined {
  const given = properties.utm;
  if (!isObject(given)) return undefined;
  const utm: Utm = {};
  for (const part of ["source", "medium", "campaign", "term", "content"] as const) {
    const value = given[part];
    if (typeof value === "string" && value) utm[part] = value.slice(0, EVENT_LIMITS.shortText);
  }
  if (Object.keys(utm).length === 0) return undefined;
  delete properties.utm;
  return utm;
}

function enrichUserData(
  given: NonNullable<EventInput["user_data"]>,
  pageUrl: URL | undefined,
  ctx: RequestContext,
): UserData {
  const userData: UserData = {};
  const clickIds: Partial<Record<ClickIdName, string>> = {
    ...(ctx.cookies ? clickIdsFromCookies(ctx.cookies) : {}),
    ...clickIdsFromUrl(pageUrl),
  };
  const browserIds: Partial<Record<BrowserIdName, string>> = ctx.cookies
    ? browserIdsFromCookies(ctx.cookies)
    : {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined || key === "__proto__") continue;
    const lower = key.toLowerCase();
    const browserId = BROWSER_ID_ALIASES.get(lower);
    if (CLICK_ID_SET.has(lower) && typeof value === "string") {
      clickIds[lower as ClickIdName] = value;
    } else if (browserId && typeof value === "string") {
      browserIds[browserId] = value;
    } else if (key !== "click_ids" && key !== "browser_ids") {
      userData[key] = value;
    }
  }
  Object.assign(clickIds, given.click_ids);
  Object.assign(browserIds, given.browser_ids);
  if (browserIds.ga_session_id) {
    // The pixel sends the `_ga_<ID>` cookie as it is (`GS1.1.<session>.…`): keep the id.
    const sessionId = ga4SessionId(browserIds.ga_session_id);
    if (sessionId) browserIds.ga_session_id = sessionId;
    else delete browserIds.ga_session_id;
  }
  if (clickIds.fbclid && !browserIds.fbc) {
    browserIds.fbc = fbcFromFbclid(clickIds.fbclid, ctx.receivedAt);
  }
  if (BROWSER_DIALECTS.has(ctx.dialect)) {
    // A page can claim any IP or agent; only the connection (through trusted proxies) says.
    delete userData.client_ip;
    delete userData.user_agent;
    // The server-set cookie names the browser wherever it is sent (same-site requests).
    const anonId = ctx.cookies?.get(ANON_ID_COOKIE);
    if (isAnonId(anonId)) userData.anonymous_id = anonId;
  }
  if (ctx.clientIp && !userData.client_ip) userData.client_ip = ctx.clientIp;
  if (ctx.userAgent && !userData.user_agent) userData.user_agent = ctx.userAgent.slice(0, 1024);
  if (Object.keys(clickIds).length) userData.click_ids = clickIds;
  if (Object.keys(browserIds).length) userData.browser_ids = browserIds;
  return userData;
}

/**
 * Converts an event time to epoch ms. Numbers above 1e11 are taken as milliseconds,
 * others as seconds. Returns an error message when it cannot be read or is out of bounds.
 */
export function eventTimeMs(value: number | string | undefined, now: number): number | string {
  if (value === undefined) return now;
  let ms: number;
  if (typeof value === "number" || /^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    ms = Math.round(n > 1e11 ? n : n * 1000);
    if (!Number.isFinite(ms)) return `"${clipped(String(value))}" is too large for a time`;
  } else {
    const parsed = parseIsoDateTime(value);
    if (typeof parsed === "string") return parsed;
    ms = parsed;
  }
  if (ms > now + EVENT_LIMITS.futureSkewMs) {
    return `is ${Math.round((ms - now) / 1000)} s in the future; at most ${
      EVENT_LIMITS.futureSkewMs / 1000
    } s of clock skew is accepted`;
  }
  if (ms < now - EVENT_LIMITS.maxAgeMs) {
    return `is older than ${
      EVENT_LIMITS.maxAgeMs / 86_400_000
    } days, the oldest any platform accepts`;
  }
  return ms;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Offsets in use run from UTC−12:00 to UTC+14:00; ±14:00 bounds both sides. */
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * Reads an ISO 8601 date or date-time; a time without a zone is UTC (never the host's
 * zone). Impossible dates such as 2026-09-31 and offsets such as +99:99 are refused
 * rather than rolled over; returns the reason as a string.
 */
function parseIsoDateTime(text: string): number | string {
  const m = ISO_DATE_TIME.exec(text);
  const invalid = `"${clipped(text, 64)}" is neither unix seconds nor a valid ISO 8601 date-time`;
  if (!m) return invalid;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth) return invalid;
  if (hour! > 23 || minute! > 59 || second! > 59) return invalid;
  const offset = offsetMinutes(m[8]);
  if (offset === undefined) {
    return `"${clipped(text, 64)}" has the UTC offset "${
      m[8]
    }"; offsets run from -14:00 to +14:00 with minutes below 60`;
  }
  const fraction = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  return Date.UTC(year!, month! - 1, day!, hour, minute, second, fraction) - offset * 60_000;
}

/** Minutes east of UTC of a zone (`Z`, `+01:00`, `-0530`, none → 0); undefined when impossible. */
function offsetMinutes(zone: string | undefined): number | undefined {
  if (!zone || zone.toUpperCase() === "Z") return 0;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  const total = hours * 60 + minutes;
  if (minutes >= 60 || total > MAX_OFFSET_MINUTES) return undefined;
  return zone[0] === "-" ? -total : total;
}

/** Path of the first value nested deeper than `limit`, or undefined. */
function findTooDeep(value: unknown, limit: number, path = ""): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (limit === 0) return path;
  for (const [key, child] of Object.entries(value)) {
    const found = findTooDeep(child, limit - 1, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** UTF-8 byte length of a string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2; // a surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

function stringId(value: unknown): string | undefined {
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

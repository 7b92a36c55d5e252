/**
 * What the identity graph keeps of a browser session and how it enriches a server event:
 * pure functions on canonical events, no KV.
 *
 * @module
 */
import type {
  BrowserIdName,
  ClickIdName,
  Consent,
  SluiceEvent,
  UserData,
} from "../../core/event.ts";
import { sha256Hex } from "../../core/digest.ts";
import { hashNormalized, normalizeEmail, phoneE164 } from "../../core/pii/mod.ts";

/** The identifiers that name a person, each the SHA-256 hex of its canonical form. */
export interface PersonKeys {
  /** The customer's user id (`user_data.customer_id`). */
  uid?: string;
  /** The canonical email (core/pii `normalizeEmail`). */
  em?: string;
  /** The E.164 phone (core/pii `phoneE164`, with `user_data.country` as the hint). */
  ph?: string;
}

/** One kind of person identifier. */
export type PersonKind = keyof PersonKeys;

/** The person identifier kinds, in the order they are looked up. */
export const PERSON_KINDS: readonly PersonKind[] = ["uid", "em", "ph"];

/** A browser's identifiers at one moment: what enriches that person's server events. */
export interface BrowserSnapshot {
  /** When they were seen, epoch ms. */
  at: number;
  anonymous_id?: string;
  browser_ids?: Partial<Record<BrowserIdName, string>>;
  click_ids?: Partial<Record<ClickIdName, string>>;
  client_ip?: string;
  user_agent?: string;
}

/**
 * Snapshots a request's server events may draw on: a person's by `kind:hash` (see
 * {@link personKeyIds}), a browser's by `aid:<anonymous id>`.
 */
export type IdentityHints = Record<string, BrowserSnapshot>;

/** The raw fields person keys are built from, as an event or an unvalidated input holds them. */
export interface PersonFields {
  anonymous_id?: unknown;
  customer_id?: unknown;
  email?: unknown;
  phone?: unknown;
  country?: unknown;
}

const text = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value.trim() || undefined
    : typeof value === "number" && Number.isFinite(value)
    ? String(value)
    : undefined;

/**
 * The hashed person identifiers of some user data. A value that already looks hashed
 * (64 hex) is kept as it is, so a server sending SHA-256 emails finds the same person.
 */
export function personKeysOf(fields: PersonFields): PersonKeys {
  const keys: PersonKeys = {};
  const uid = text(fields.customer_id);
  if (uid) keys.uid = sha256Hex(uid);
  const em = hashNormalized(text(fields.email), normalizeEmail);
  if (em) keys.em = em;
  const country = text(fields.country);
  const ph = hashNormalized(text(fields.phone), (v) => phoneE164(v, country));
  if (ph) keys.ph = ph;
  return keys;
}

/** `kind:hash` strings of person keys, the ids {@link IdentityHints} are keyed by. */
export function personKeyIds(keys: PersonKeys): string[] {
  return PERSON_KINDS.flatMap((kind) => keys[kind] ? [`${kind}:${keys[kind]}`] : []);
}

/** The hint ids of some user data: its person keys, and its anonymous id as `aid:<id>`. */
export function hintIds(fields: PersonFields): string[] {
  const ids = personKeyIds(personKeysOf(fields));
  const anonId = text(fields.anonymous_id);
  if (anonId) ids.push(`aid:${anonId}`);
  return ids;
}

/** Whether an event's consent lets its ad identifiers be kept or added. */
export function adsAllowed(consent: Consent | undefined): boolean {
  return consent?.ad_user_data !== "denied";
}

/**
 * What a browser event tells about its browser, or undefined when its consent denies ad
 * use or it carries nothing worth keeping.
 */
export function snapshotOf(event: SluiceEvent): BrowserSnapshot | undefined {
  if (!adsAllowed(event.consent)) return undefined;
  const u = event.user_data;
  const snapshot: BrowserSnapshot = { at: event.event_time };
  if (u.anonymous_id) snapshot.anonymous_id = u.anonymous_id;
  if (u.browser_ids && Object.keys(u.browser_ids).length) snapshot.browser_ids = u.browser_ids;
  if (u.click_ids && Object.keys(u.click_ids).length) snapshot.click_ids = u.click_ids;
  if (!snapshot.browser_ids && !snapshot.click_ids && !snapshot.anonymous_id) return undefined;
  if (u.client_ip) snapshot.client_ip = u.client_ip;
  if (u.user_agent) snapshot.user_agent = u.user_agent;
  return snapshot;
}

/**
 * Combines two snapshots of one browser: `fresh` wins field by field, `older` fills what
 * it lacks (a click id seen on an earlier visit, say).
 */
export function mergeSnapshots(
  fresh: BrowserSnapshot,
  older: BrowserSnapshot | undefined,
): BrowserSnapshot {
  if (!older) return fresh;
  const merged: BrowserSnapshot = { ...older, ...fresh };
  const browserIds = { ...older.browser_ids, ...fresh.browser_ids };
  const clickIds = { ...older.click_ids, ...fresh.click_ids };
  if (Object.keys(browserIds).length) merged.browser_ids = browserIds;
  if (Object.keys(clickIds).length) merged.click_ids = clickIds;
  return merged;
}

/** The newest snapshot among the hints that match the user data's person keys or anonymous id. */
export function hintFor(fields: PersonFields, hints: IdentityHints): BrowserSnapshot | undefined {
  let newest: BrowserSnapshot | undefined;
  for (const id of hintIds(fields)) {
    const hint = hints[id];
    if (hint && (!newest || hint.at > newest.at)) newest = hint;
  }
  return newest;
}

/**
 * Fills a server event's user data from a browser snapshot: browser ids, click ids, client
 * IP, user agent and anonymous id, each only where the event has none; what the server
 * sent is never replaced.
 */
export function applySnapshot(userData: UserData, snapshot: BrowserSnapshot): void {
  for (const group of ["browser_ids", "click_ids"] as const) {
    const given: Record<string, string> = { ...userData[group] };
    for (const [name, value] of Object.entries(snapshot[group] ?? {})) {
      if (value && !given[name]) given[name] = value;
    }
    if (Object.keys(given).length) userData[group] = given;
  }
  for (const field of ["client_ip", "user_agent", "anonymous_id"] as const) {
    const value = snapshot[field];
    if (value && !userData[field]) userData[field] = value;
  }
}

/**
 * Folder-private: what both Google Ads paths (Data Manager `events:ingest` and the legacy
 * `uploadClickConversions`) read from a canonical event the same way: where it happened,
 * its click ids, its consent and whether its IP may be sent.
 *
 * @module
 */
import type { ConsentState, SluiceEvent } from "../core/event.ts";
import { normalizeCountry } from "../core/pii/mod.ts";

/** Data Manager `EventSource` values (event.proto). */
export type EventSource = "WEB" | "APP" | "IN_STORE" | "PHONE" | "MESSAGE" | "OTHER";

/** `action_source` spellings (Sluice's, Meta's and common aliases) → Data Manager `EventSource`. */
const EVENT_SOURCES: Readonly<Record<string, EventSource>> = {
  web: "WEB",
  website: "WEB",
  browser: "WEB",
  app: "APP",
  mobile_app: "APP",
  in_store: "IN_STORE",
  physical_store: "IN_STORE",
  store: "IN_STORE",
  offline: "IN_STORE",
  pos: "IN_STORE",
  phone: "PHONE",
  phone_call: "PHONE",
  call: "PHONE",
  chat: "MESSAGE",
  message: "MESSAGE",
  messaging: "MESSAGE",
  business_messaging: "MESSAGE",
  email: "OTHER",
  crm: "OTHER",
  system_generated: "OTHER",
  other: "OTHER",
};

/**
 * Where the event happened, as Data Manager's `eventSource` (required for offline
 * conversions and enhanced conversions for leads): the event's `action_source` when it
 * names one; otherwise `WEB` for events with a page URL or from the web (source `web`,
 * browser or collect dialect), `APP` for source `app`, and `OTHER` for the rest.
 */
export function eventSourceOf(event: SluiceEvent): EventSource {
  const given = event.action_source?.trim().toLowerCase();
  const named = given ? EVENT_SOURCES[given] : undefined;
  if (named) return named;
  if (
    event.page?.url || event.source === "web" || event.dialect === "browser" ||
    event.dialect === "collect"
  ) return "WEB";
  return event.source === "app" ? "APP" : "OTHER";
}

/** The Google click ids to send: at most one, since Google rejects gbraid and wbraid together. */
export interface GoogleClickIds {
  gclid?: string;
  gbraid?: string;
  wbraid?: string;
}

/** The gclid inside a `_gcl_aw` cookie value (`GCL.<timestamp>.<gclid>`), or undefined. */
export function gclidFromCookie(value: string | undefined): string | undefined {
  return value === undefined ? undefined : /^GCL\.\d+\.(\S+)$/.exec(value.trim())?.[1];
}

/**
 * The event's click id: the gclid (from the URL parameter, else the `_gcl_aw` cookie) wins,
 * as RudderStack's Google Ads connector does; without one, the iOS parameter that fits
 * where the event happened (`wbraid` on the web, `gbraid` elsewhere) when both are present.
 */
export function clickIdsOf(event: SluiceEvent): GoogleClickIds {
  const ids = event.user_data.click_ids ?? {};
  const gclid = ids.gclid?.trim() || gclidFromCookie(event.user_data.browser_ids?.gcl_aw);
  if (gclid) return { gclid };
  const gbraid = ids.gbraid?.trim();
  const wbraid = ids.wbraid?.trim();
  if (gbraid && wbraid) return eventSourceOf(event) === "WEB" ? { wbraid } : { gbraid };
  if (gbraid) return { gbraid };
  return wbraid ? { wbraid } : {};
}

/** The event's consent as Google spells it: `CONSENT_GRANTED` (Data Manager) or `GRANTED` (legacy). */
export function googleConsent(
  event: SluiceEvent,
  spell: (state: ConsentState) => string,
): { adUserData?: string; adPersonalization?: string } | undefined {
  const consent = event.consent;
  const out: { adUserData?: string; adPersonalization?: string } = {};
  if (consent?.ad_user_data) out.adUserData = spell(consent.ad_user_data);
  if (consent?.ad_personalization) out.adPersonalization = spell(consent.ad_personalization);
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The European Economic Area, the United Kingdom and Switzerland, whose users' IP
 * addresses Google Ads does not match on (DeviceInfo.ip_address in device_info.proto).
 */
const NO_IP_COUNTRIES: ReadonlySet<string> = new Set(
  (
    "at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se " +
    "is li no gb ch"
  ).split(" "),
);

/** The client IP to send, or undefined when there is none or the user's country is in the EEA, UK or CH. */
export function shareableIp(event: SluiceEvent): string | undefined {
  const ip = event.user_data.client_ip?.trim();
  if (!ip) return undefined;
  const country = event.user_data.country;
  const alpha2 = country === undefined ? undefined : normalizeCountry(country);
  return alpha2 !== undefined && NO_IP_COUNTRIES.has(alpha2) ? undefined : ip;
}

/**
 * Why an event is not a conversion of this destination's action, or undefined when it is:
 * one conversion action counts one kind of event, so only the names in `event_names`
 * (canonical or as sent) are sent.
 */
export function notAConversion(
  event: SluiceEvent,
  eventNames: readonly string[],
): string | undefined {
  if (eventNames.includes(event.event_name)) return undefined;
  const original = event.original_event_name;
  if (original !== undefined && eventNames.includes(original)) return undefined;
  return `"${event.event_name}" is not in this destination's event_names ` +
    `(${eventNames.join(", ")}): add it there to count it as this conversion action`;
}

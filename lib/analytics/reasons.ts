/**
 * Why a delivery did not arrive, as one of a few classes: counters are keyed by the class,
 * never by the message (which may quote values and has no bound).
 *
 * @module
 */
import { sha256Hex } from "../../core/digest.ts";
import type { DeliveryRow } from "../delivery/rows.ts";

/** The reason classes of failed, retrying and skipped deliveries. */
export const REASON_CLASSES = [
  "auth",
  "validation",
  "throttled",
  "server",
  "network",
  "config",
  "too_old",
  "consent",
  "rules",
  "paused",
  "disabled",
  "other",
] as const;

/** One reason class. */
export type ReasonClass = typeof REASON_CLASSES[number];

/** A reason class read back from a counter dimension; `other` for anything unknown. */
export function asReasonClass(text: string): ReasonClass {
  return REASON_CLASSES.find((reasonClass) => reasonClass === text) ?? "other";
}

/**
 * The reasons Sluice itself writes on rows it skips or closes (lib/delivery/rules.ts,
 * engine.ts, connectors/map_events.ts), by class. A row keeps its reason as text, so the
 * class must be a function of the stored row: a row that leaves a state is uncounted
 * under the class it was counted under. rules_test.ts-style vectors in reasons_test.ts pin
 * these prefixes to the code that writes them.
 */
const OWN_REASONS: readonly [RegExp, ReasonClass][] = [
  [/^consent:/, "consent"],
  [/^dropped by rule |^not routed here by the rules/, "rules"],
  [/^destination paused/, "paused"],
  [/^destination (disabled|deleted)/, "disabled"],
  [/^event is older than /, "too_old"],
  [
    /^no connector for type |^destination settings are invalid|URL refused|SLUICE_ALLOW_PRIVATE_URLS/,
    "config",
  ],
  [/\b(auth|token|unauthori[sz]ed|credentials?|permission)\b/i, "auth"],
];

/** The class of a skipped, failed or retrying row's reason; `other` for any other row. */
export function reasonClassOf(
  row: Pick<DeliveryRow, "status" | "last_status" | "last_error">,
): ReasonClass {
  if (row.status !== "skipped" && row.status !== "failed" && row.status !== "retrying") {
    return "other";
  }
  const reason = (row.last_error ?? "").replace(/^gave up after \d+ attempts: /, "");
  const status = row.last_status;
  if (row.status !== "skipped" && status !== undefined && (status < 200 || status >= 300)) {
    if (status === 401 || status === 403) return "auth";
    if (status === 429 || status === 423) return "throttled";
    if (status === 408) return "network";
    if (status >= 500) return "server";
    return "validation";
  }
  for (const [pattern, reasonClass] of OWN_REASONS) {
    if (pattern.test(reason)) return reasonClass;
  }
  if (row.status === "skipped") return reason === "" ? "other" : "validation";
  // Failed or retrying without a refusing status: a 2xx that refused the event, or no answer.
  return status !== undefined ? "validation" : "network";
}

const EMAIL = /[^\s"'<>@,;:]+@[^\s"'<>@,;:]+\.[a-z]{2,}/gi;
const QUOTED = /"[^"]*"|'[^']*'/g;
const DIGITS = /\+?\d[\d\s().-]{5,}\d/g;
const IPV4 = /\b\d{1,3}(\.\d{1,3}){3}\b/g;

/** Characters of a redacted detail kept in an example. */
const DETAIL_CHARS = 200;

/**
 * A reason or platform message safe to show as an example: e-mail addresses, quoted values,
 * IPs and long digit runs (phones, ids) become a short SHA-256 of themselves, so two
 * examples of the same value still match while the value itself is never shown.
 */
export function redact(text: string): string {
  const hashed = (value: string) => `[sha256:${sha256Hex(value).slice(0, 12)}]`;
  return text.replace(QUOTED, (quoted) => hashed(quoted.slice(1, -1)))
    .replace(EMAIL, hashed)
    .replace(IPV4, hashed)
    .replace(DIGITS, hashed)
    .slice(0, DETAIL_CHARS);
}

/**
 * The latest example of each data-quality issue (a rejected field, a failure or skip class
 * per destination), so a report can show one: never a raw value, only hashes and redacted
 * text.
 *
 * @module
 */
import { sha256Hex } from "../../core/digest.ts";
import { redact } from "./reasons.ts";

/** The latest example of an issue. */
export interface IssueExample {
  /** The first 16 hex digits of the event id's SHA-256, when it had one. */
  event_id_sha256?: string;
  /** What was wrong, with values replaced by their hashes. */
  detail: string;
  /** Epoch ms. */
  at: number;
}

/** How long an issue example is kept, ms. */
export const EXAMPLE_TTL_MS = 30 * 86_400_000;

/** An example from an event id and the (unredacted) text of what was wrong. */
export function issueExample(
  eventId: string | undefined,
  detail: string,
  at: number,
): IssueExample {
  return {
    ...(eventId ? { event_id_sha256: sha256Hex(eventId).slice(0, 16) } : {}),
    detail: redact(detail),
    at,
  };
}

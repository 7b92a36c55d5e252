/**
 * A visitor's small analytics record: the funnel steps it took on its latest UTC day (one
 * bit each) and its first and last touch (click platform, UTM source). Fan-out reads and
 * writes it; it is what makes funnels count visitors and revenue find the earlier click.
 *
 * @module
 */
import { sha256Hex } from "../../core/digest.ts";
import type { SluiceEvent } from "../../core/event.ts";
import { type ClickPlatform, clickPlatformOf } from "./labels.ts";

/** Where a visitor came from: the platform of a click id, the UTM source, or both. */
export interface Touch {
  platform?: ClickPlatform;
  /** The UTM source label (bounded: see fan_out_counts.ts). */
  utm?: string;
  /** Epoch ms. */
  at: number;
}

/** One visitor's record (`["an_vis", ws, hash]`). */
export interface VisitorRecord {
  /** The UTC day `steps` belong to, epoch ms. */
  day: number;
  /** The funnel steps taken that day, one bit each (labels.ts `stepBit`). */
  steps: number;
  first?: Touch;
  last?: Touch;
}

/** How long a visitor record lives after its last change, ms: the attribution window. */
export const VISITOR_TTL_MS = 90 * 86_400_000;

/** Who the event's visitor is: the anonymous id, else the user id; undefined when neither. */
export function visitorIdOf(event: Pick<SluiceEvent, "user_data">): string | undefined {
  return event.user_data.anonymous_id ?? event.user_data.customer_id;
}

/** The key part of a visitor: a SHA-256 of workspace and id, so no id is kept in clear. */
export function visitorHash(wsId: string, visitorId: string): string {
  return sha256Hex(`${wsId}\u0000${visitorId}`).slice(0, 32);
}

/** The touch an event records: its click id's platform and UTM source; undefined when neither. */
export function touchOf(
  event: Pick<SluiceEvent, "user_data" | "utm">,
  utm: string | undefined,
  at: number,
): Touch | undefined {
  const platform = clickPlatformOf(event);
  if (!platform && !utm) return undefined;
  return { ...(platform ? { platform } : {}), ...(utm ? { utm } : {}), at };
}

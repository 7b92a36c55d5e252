/**
 * The first-party cookies Sluice sets itself (docs/pixel.md "Cookies"): the anonymous id,
 * and Meta's `_fbp` and `_fbc` in Meta's formats when no Meta pixel set them.
 *
 * @module
 */
import { fbcFromFbclid } from "../ingest/enrich.ts";

/** The anonymous id cookie: server-set, HttpOnly, read by Sluice on every same-site request. */
export const ANON_ID_COOKIE = "sluice_aid";

/** Seconds the anonymous id and `_fbp` cookies live (Chrome caps cookies at 400 days). */
export const LONG_COOKIE_MAX_AGE_S = 400 * 86_400;

/** Seconds `_fbc` lives: Meta recommends 90 days, rewritten when a new fbclid arrives. */
export const FBC_MAX_AGE_S = 90 * 86_400;

const ANON_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Whether a value may be an anonymous id (what the pixel and /bootstrap generate, give or take). */
export function isAnonId(value: string | null | undefined): value is string {
  return typeof value === "string" && ANON_ID.test(value);
}

/** A new anonymous id: 32 hex characters from a CSPRNG. */
export function newAnonId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * A new Meta browser id, as Meta's pixel builds it: `fb.1.<creation ms>.<random>` with a
 * random 31-bit integer (CONNECTORS.md §1.1).
 */
export function newFbp(nowMs: number): string {
  const [random = 0] = crypto.getRandomValues(new Uint32Array(1));
  return `fb.1.${nowMs}.${random >>> 1}`;
}

/**
 * The `_fbc` to keep for a visit: the existing one while it holds the same fbclid (so its
 * creation time stays), else a new `fb.1.<ms>.<fbclid>`; the existing one (or none)
 * when the URL carried no fbclid.
 */
export function fbcFor(
  existing: string | undefined,
  fbclid: string | undefined,
  nowMs: number,
): string | undefined {
  if (!fbclid) return existing;
  if (existing && fbclidOf(existing) === fbclid) return existing;
  return fbcFromFbclid(fbclid, nowMs);
}

/** The fbclid inside an `_fbc` value (`fb.1.<ms>.<fbclid>`, maybe with a `.appendix`). */
function fbclidOf(fbc: string): string | undefined {
  const match = /^fb\.\d+\.\d+\.(.+)$/.exec(fbc);
  return match?.[1];
}

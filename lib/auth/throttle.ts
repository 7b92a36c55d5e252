/**
 * Sign-in throttling: failed attempts are counted per account and per client IP in fixed
 * windows (KV counters that expire with their window); past the limit, sign-in is refused
 * with the time left, before the password is even checked.
 *
 * @module
 */
import { sha256Hex } from "../../core/digest.ts";
import { loginFailureKey } from "../kv/keys.ts";

/** Limits of {@linkcode LoginThrottle}. */
export interface ThrottleLimits {
  /** Failed attempts one account may have per window. */
  perAccount: number;
  /** Failed attempts one client IP may make per window. */
  perIp: number;
  windowMs: number;
}

/** 5 failures per account and 20 per IP in 15 minutes. */
export const DEFAULT_THROTTLE: ThrottleLimits = Object.freeze({
  perAccount: 5,
  perIp: 20,
  windowMs: 15 * 60_000,
});

/** Whether a sign-in may be tried, and if not, for how long it is refused. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Failed sign-ins counted in KV. */
export class LoginThrottle {
  readonly #kv: Deno.Kv;
  readonly #limits: ThrottleLimits;
  readonly #now: () => number;

  constructor(kv: Deno.Kv, limits: ThrottleLimits = DEFAULT_THROTTLE, now = Date.now) {
    this.#kv = kv;
    this.#limits = limits;
    this.#now = now;
  }

  #keys(email: string, ip: string | undefined) {
    const window = Math.floor(this.#now() / this.#limits.windowMs) * this.#limits.windowMs;
    // The email is hashed: the counter keys hold no address.
    const account = loginFailureKey("account", sha256Hex(email.trim().toLowerCase()), window);
    const byIp = ip ? loginFailureKey("ip", ip, window) : undefined;
    return { window, account, byIp };
  }

  /** Whether an attempt for this email from this IP may go ahead. */
  async check(email: string, ip: string | undefined): Promise<ThrottleVerdict> {
    const { window, account, byIp } = this.#keys(email, ip);
    const entries = await this.#kv.getMany<Deno.KvU64[]>(byIp ? [account, byIp] : [account]);
    const count = (i: number) => Number(entries[i]?.value?.value ?? 0n);
    const over = count(0) >= this.#limits.perAccount || count(1) >= this.#limits.perIp;
    if (!over) return { allowed: true };
    const left = window + this.#limits.windowMs - this.#now();
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)) };
  }

  /** Counts a failed attempt against the account and the IP. */
  async fail(email: string, ip: string | undefined): Promise<void> {
    const { account, byIp } = this.#keys(email, ip);
    const op = this.#kv.atomic().sum(account, 1n);
    if (byIp) op.sum(byIp, 1n);
    await op.commit();
    // KV's sum cannot set an expiry: set one on the counters afterwards.
    const expireIn = this.#limits.windowMs * 2;
    for (const key of byIp ? [account, byIp] : [account]) {
      const entry = await this.#kv.get<Deno.KvU64>(key);
      if (entry.value) {
        await this.#kv.atomic().check(entry).set(key, entry.value, { expireIn }).commit();
      }
    }
  }
}

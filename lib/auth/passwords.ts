/**
 * Password hashing with scrypt (`node:crypto`): a random salt per password, the parameters
 * stored with the hash so they can be raised later, and a constant-time compare.
 *
 * Stored form: `scrypt$N$r$p$<salt base64>$<hash base64>`.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

// 2^15 with r=8 costs 32 MiB and about 0.2 s here: enough against offline guessing with a
// throttled sign-in, and affordable on a 2-core machine.
/** The parameters new passwords are hashed with. */
export const DEFAULT_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Shortest password an account may have. */
export const MIN_PASSWORD_LENGTH = 10;
/** Longest password accepted (scrypt reads all of it). */
export const MAX_PASSWORD_LENGTH = 256;

function derive(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize("NFKC"),
      salt,
      KEY_BYTES,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r },
      (error, key) => error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Hashes a password with a fresh random salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const key = await derive(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Whether `password` matches a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!match || password.length > MAX_PASSWORD_LENGTH) return false;
  const [, N, r, p, salt, hash] = match;
  const expected = unb64(hash!);
  const key = await derive(password, unb64(salt!), { N: Number(N), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  }
  return undefined;
}

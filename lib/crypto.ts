import { createCipheriv, createDecipheriv, hkdfSync, timingSafeEqual } from "node:crypto";

import { base64ToBytes, bytesToBase64 } from "../core/digest.ts";

const encoder = new TextEncoder();

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random base62 string of `length` characters from a CSPRNG (no modulo bias). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** A random id of 16 hex characters (from a v4 UUID's random bits), for traces. */
export function randomHexId(): string {
  const uuid = crypto.randomUUID();
  return uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(15, 18) + uuid.slice(20, 21);
}

/**
 * Previous master secrets by current one: while a `SLUICE_SECRET` rotation runs, every
 * Sealer derived from the current secret also opens values sealed under these. Kept here,
 * rather than passed to each store, so that every Sealer in the process (whoever builds it)
 * reads old values alike.
 */
const previousSecrets = new Map<string, readonly string[]>();

/**
 * Lets every Sealer created from now on from `current` also open values sealed under the
 * `previous` master secrets (`SLUICE_SECRET_PREVIOUS`); it still seals under `current` only.
 */
export function acceptPreviousSecrets(current: string, previous: readonly string[]): void {
  const others = [...new Set(previous)].filter((secret) => secret !== current);
  if (others.length) previousSecrets.set(current, others);
  else previousSecrets.delete(current);
}

/** The master secrets a Sealer built from `current` opens with: itself, then the previous ones. */
function secretsAccepted(current: string): readonly string[] {
  return [current, ...previousSecrets.get(current) ?? []];
}

/**
 * A short public name of a master secret (16 hex characters, HKDF-derived, so it reveals
 * nothing of the secret): backups and rotations record it to tell which key sealed them.
 */
export function secretFingerprint(masterSecret: string): string {
  const bytes = new Uint8Array(
    hkdfSync("sha256", encoder.encode(masterSecret), encoder.encode("sluice"), "fingerprint", 8),
  );
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function deriveKey(masterSecret: string, purpose: string): Uint8Array {
  return new Uint8Array(
    hkdfSync("sha256", encoder.encode(masterSecret), encoder.encode("sluice"), purpose, 32),
  );
}

/**
 * Encrypts and decrypts small values with AES-256-GCM under a key derived from the master
 * secret; opens values sealed under a previous master secret too (see
 * {@link acceptPreviousSecrets}).
 */
export class Sealer {
  /** The key that seals, then the keys of previous master secrets, which only open. */
  readonly #keys: readonly Uint8Array[];

  /**
   * Derives the AES key for `purpose` from the master secret with HKDF-SHA256, and the keys
   * that only open from `previous` (by default those {@link acceptPreviousSecrets} gave).
   */
  constructor(
    masterSecret: string,
    purpose: string,
    previous: readonly string[] = secretsAccepted(masterSecret).slice(1),
  ) {
    this.#keys = [masterSecret, ...previous].map((secret) => deriveKey(secret, purpose));
  }

  /** Encrypts a UTF-8 string into iv ‖ ciphertext ‖ tag. */
  sealBytes(plaintext: string): Uint8Array {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = createCipheriv("aes-256-gcm", this.#keys[0]!, iv);
    const body = cipher.update(plaintext, "utf8");
    const final = cipher.final();
    return Buffer.concat([iv, body, final, cipher.getAuthTag()]);
  }

  /** Decrypts the output of `sealBytes`; throws when it was altered or sealed under another key. */
  openBytes(sealed: Uint8Array): string {
    return this.#openWithIndex(sealed).plaintext;
  }

  /** Encrypts a UTF-8 string; the output is base64 of iv ‖ ciphertext ‖ tag. */
  seal(plaintext: string): string {
    return bytesToBase64(this.sealBytes(plaintext));
  }

  /** Decrypts the output of `seal`; throws when it was altered or sealed under another key. */
  open(sealed: string): string {
    return this.openBytes(base64ToBytes(sealed));
  }

  /**
   * The value sealed again under the current key when a previous key sealed it; undefined
   * when the current key already did. Throws when no key opens it.
   */
  resealBytes(sealed: Uint8Array): Uint8Array | undefined {
    const { plaintext, index } = this.#openWithIndex(sealed);
    return index === 0 ? undefined : this.sealBytes(plaintext);
  }

  /** {@link resealBytes} for the base64 output of `seal`. */
  reseal(sealed: string): string | undefined {
    const again = this.resealBytes(base64ToBytes(sealed));
    return again && bytesToBase64(again);
  }

  #openWithIndex(sealed: Uint8Array): { plaintext: string; index: number } {
    if (sealed.length < 28) throw new Error("Cannot open sealed value: too short");
    let failure: unknown;
    for (const [index, key] of this.#keys.entries()) {
      try {
        return { plaintext: openWith(key, sealed), index };
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  }
}

function openWith(key: Uint8Array, sealed: Uint8Array): string {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return decipher.update(sealed.subarray(12, sealed.length - 16), undefined, "utf8") +
    decipher.final("utf8");
}

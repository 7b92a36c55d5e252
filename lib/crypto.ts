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

/** Encrypts and decrypts small values with AES-256-GCM under a key derived from the master secret. */
export class Sealer {
  readonly #key: Uint8Array;

  /** Derives the AES key for `purpose` from the master secret with HKDF-SHA256. */
  constructor(masterSecret: string, purpose: string) {
    this.#key = new Uint8Array(
      hkdfSync("sha256", encoder.encode(masterSecret), encoder.encode("sluice"), purpose, 32),
    );
  }

  /** Encrypts a UTF-8 string into iv ‖ ciphertext ‖ tag. */
  sealBytes(plaintext: string): Uint8Array {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const body = cipher.update(plaintext, "utf8");
    const final = cipher.final();
    return Buffer.concat([iv, body, final, cipher.getAuthTag()]);
  }

  /** Decrypts the output of `sealBytes`; throws when it was altered or sealed under another key. */
  openBytes(sealed: Uint8Array): string {
    if (sealed.length < 28) throw new Error("Cannot open sealed value: too short");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return decipher.update(sealed.subarray(12, sealed.length - 16), undefined, "utf8") +
      decipher.final("utf8");
  }

  /** Encrypts a UTF-8 string; the output is base64 of iv ‖ ciphertext ‖ tag. */
  seal(plaintext: string): string {
    return bytesToBase64(this.sealBytes(plaintext));
  }

  /** Decrypts the output of `seal`; throws when it was altered or sealed under another key. */
  open(sealed: string): string {
    return this.openBytes(base64ToBytes(sealed));
  }
}

/**
 * Randomness. Fault decisions come from a seeded PRNG so a failing chaos run can be replayed with the same
 * seed; object ids come from the OS so that ids never repeat across restarts of a persisted emulator.
 */
import { randomBytes } from "node:crypto";

export type Rng = () => number;

/**
 * mulberry32: small, fast, good enough for fault injection; returns floats in [0, 1). The one seeded
 * generator of dev/ and bench/: seeded data sets, the chaos suite's draws and the emulator's faults.
 */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random base62 string of the given length. */
export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** Stripe-style ids: a type prefix and 24 random characters (`pi_3Q...`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}

export function newRequestId(): string {
  return `req_${randomToken(14)}`;
}

/**
 * The chaos suite's seeded randomness: one generator per purpose, each derived from the scenario's seed,
 * so that adding a draw in one place does not shift every draw elsewhere.
 */
import { seededRng } from "../stripe-emulator/random";

export interface Random {
  /** [0, 1) */
  next(): number;
  /** true with probability p */
  chance(p: number): boolean;
  /** an integer in [min, max] */
  int(min: number, max: number): number;
  /** a number in [min, max) */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** A 32-bit hash of the seed and a purpose name (FNV-1a over both), the generator's own seed. */
export function deriveSeed(seed: number, purpose: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193) >>> 0;
  for (let i = 0; i < purpose.length; i++) {
    h ^= purpose.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Mix the seed's bytes in again, so that neighbouring seeds land far apart.
  for (let shift = 0; shift < 32; shift += 8) {
    h ^= (seed >>> shift) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function random(seed: number, purpose: string): Random {
  const next = seededRng(deriveSeed(seed, purpose));
  const r: Random = {
    next,
    chance: (p) => next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[Math.floor(next() * items.length)]!;
    },
  };
  return r;
}

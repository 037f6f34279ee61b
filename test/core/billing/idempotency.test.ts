import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_KEY_LENGTH, confirmKeyFor, createKeyFor } from "../../../functions/core/billing/idempotency";

const period = "2026-01-31T00:00:00.000Z";
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

describe("renewal idempotency keys", () => {
  it("have a fixed, readable shape", () => {
    expect(createKeyFor("sub_1", period)).toBe("renew:create:sub_1:2026-01-31");
    expect(createKeyFor("sub_1", period, 0)).toBe("renew:create:sub_1:2026-01-31");
    expect(createKeyFor("sub_1", period, 2)).toBe("renew:create:sub_1:2026-01-31:g2");
    expect(confirmKeyFor("sub_1", period, 1)).toBe("renew:confirm:sub_1:2026-01-31:1");
  });

  it("depend on the period's date, not its time of day", () => {
    expect(createKeyFor("sub_1", "2026-01-31T06:00:00.000Z")).toBe(createKeyFor("sub_1", period));
  });

  it("hash an id that is long or has other characters, staying short and printable", () => {
    for (const id of ["x".repeat(5_000), "sub:with:colons", "abonnement-é", "sub 1", "a\u0000b"]) {
      const key = confirmKeyFor(id, period, Number.MAX_SAFE_INTEGER);
      expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
      expect(key).toMatch(PRINTABLE_ASCII);
      expect(key).toMatch(/^renew:confirm:~[0-9a-f]{64}:2026-01-31:\d+$/);
    }
  });

  it("refuse bad counters, empty ids and malformed periods", () => {
    expect(() => createKeyFor("sub_1", period, -1)).toThrow(RangeError);
    expect(() => createKeyFor("sub_1", period, 1.5)).toThrow(RangeError);
    expect(() => confirmKeyFor("sub_1", period, 0)).toThrow(RangeError);
    expect(() => createKeyFor("", period)).toThrow(RangeError);
    expect(() => createKeyFor("sub_1", "2026-01-31")).toThrow(RangeError);
  });
});

/** A request: create (n = generation, from 0) or confirm (n = attempt, from 1). */
const request = fc.record({
  subscriptionId: fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_-]{1,120}$/),
    fc.string({ minLength: 1, maxLength: 300, unit: "grapheme" }),
    // Near misses: ids that differ by one character, or straddle the hashing threshold (100 characters).
    fc.constantFrom("sub_1", "sub_2", "sub:1", "~sub_1", "a".repeat(100), "a".repeat(101)),
  ),
  // Small values often, so that equal and nearly equal requests meet.
  day: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3_000 })),
  kind: fc.constantFrom("create" as const, "confirm" as const),
  n: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1_000 })),
});

type Request = typeof request extends fc.Arbitrary<infer R> ? R : never;

function keyOf(r: Request): string {
  const periodStart = new Date(Date.UTC(2026, 0, 1) + r.day * 86_400_000).toISOString();
  return r.kind === "create"
    ? createKeyFor(r.subscriptionId, periodStart, r.n)
    : confirmKeyFor(r.subscriptionId, periodStart, r.n + 1);
}

describe("keys, for any request", () => {
  it("are the same for the same request and different for different ones", () => {
    fc.assert(
      fc.property(request, request, (a, b) => {
        const same =
          a.subscriptionId === b.subscriptionId && a.day === b.day && a.kind === b.kind && a.n === b.n;
        expect(keyOf(a) === keyOf(b)).toBe(same);
        expect(keyOf(a)).toBe(keyOf({ ...a }));
      }),
      { numRuns: 2_000 },
    );
  });

  it("are pairwise distinct across any batch of distinct requests", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(request, { selector: (r) => JSON.stringify(r), maxLength: 50 }),
        (requests) => {
          const keys = requests.map(keyOf);
          expect(new Set(keys).size).toBe(keys.length);
        },
      ),
    );
  });

  it("fit Stripe's limits: 1 to 255 printable ASCII characters", () => {
    fc.assert(
      fc.property(request, (r) => {
        const key = keyOf(r);
        expect(key.length).toBeGreaterThan(0);
        expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        expect(key).toMatch(PRINTABLE_ASCII);
      }),
    );
  });
});

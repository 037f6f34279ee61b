/**
 * The drain's timeline (bench/scenarios/drain.ts): after each second from the tick, the renewals left and
 * the provider requests of that second, from the settle times and the emulator's request log.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { drainTimeline } from "../../bench/scenarios/drain";

describe("drainTimeline", () => {
  it("counts by whole seconds from the tick, until the last settle", () => {
    const tick = 10_000;
    const points = drainTimeline(
      3,
      [10_500, 11_999, 12_000],
      [9_000, 10_100, 10_200, 11_500, 12_000, 13_500],
      tick,
    );
    expect(points).toEqual([
      { second: 0, left: 3, requests: 0 },
      { second: 1, left: 2, requests: 2 },
      { second: 2, left: 1, requests: 1 },
      { second: 3, left: 0, requests: 1 },
    ]);
  });

  it("loses no settle and no request between the tick and the last settle, in any order", () => {
    const at = fc.integer({ min: 0, max: 20_000 });
    fc.assert(
      fc.property(
        fc.array(at, { maxLength: 60 }),
        fc.array(at, { maxLength: 200 }),
        at,
        (settled, sent, tick) => {
          const points = drainTimeline(settled.length, settled, sent, tick);
          const end = tick + (points.length - 1) * 1000;
          const after = (t: number) => t >= tick;
          // Every settle at or before the tick is counted in second 1 (nothing is billed before the tick).
          expect(points.at(-1)!.left).toBe(0);
          expect(points.reduce((n, p) => n + p.requests, 0)).toBe(
            sent.filter((t) => after(t) && t < end).length,
          );
          for (let i = 1; i < points.length; i++) {
            expect(points[i]!.left).toBeLessThanOrEqual(points[i - 1]!.left);
            const from = tick + (i - 1) * 1000;
            expect(points[i]!.requests).toBe(sent.filter((t) => t >= from && t < from + 1000).length);
          }
        },
      ),
    );
  });
});

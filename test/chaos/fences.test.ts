/**
 * Invariant 3 (fencing tokens for a lease key strictly increase, forever), as the chaos suite checks it
 * from the contenders' event streams: it must report a fence that went backwards, a fence issued twice,
 * and a fence record that fell behind, and must not report a clean history.
 */
import { describe, expect, it } from "vitest";
import type { Acquisition } from "../../dev/chaos/fleet";
import { checkFenceOrder } from "../../dev/chaos/fences";

const T0 = 1_800_000_000_000;
const acq = (contender: string, shard: number, fence: number, at: number, logged = T0 + at): Acquisition => ({
  contender,
  shard,
  fence,
  at,
  loggedAtEpochMs: logged,
});

describe("checkFenceOrder (invariant 3)", () => {
  it("accepts fences that rise on each key, whoever acquires", () => {
    const result = checkFenceOrder(
      [acq("c1", 0, 1, 100), acq("c2", 1, 1, 110), acq("c2", 0, 2, 900), acq("c3", 0, 3, 1500)],
      [],
      new Map([
        [0, 3],
        [1, 1],
      ]),
    );
    expect(result.violations).toEqual([]);
    expect(result.checked).toBe(4);
  });

  it("reports a fence that went backwards on a key", () => {
    const result = checkFenceOrder([acq("c1", 0, 5, 100), acq("c2", 0, 4, 900)]);
    expect(result.violations).toEqual([
      "invariant 3: fences went backwards: c2 reported fence 4 on billing/shard-0 after c1 had acquired fence 5",
    ]);
  });

  it("reports a fence issued twice, whatever the order", () => {
    const result = checkFenceOrder([acq("c1", 0, 2, 100), acq("c2", 0, 2, 100)]);
    expect(result.violations.some((v) => /fence 2 on billing\/shard-0 was acquired 2 times/.test(v))).toBe(
      true,
    );
  });

  it("reports a fence record below a fence that was acquired (the record was reset)", () => {
    const result = checkFenceOrder([acq("c1", 0, 7, 100)], [], new Map([[0, 1]]));
    expect(result.violations).toEqual([
      "invariant 3: billing/shard-0's fence record is 1, below fence 7 acquired by c1",
    ]);
  });

  it("orders by when each contender logged, not when its line arrived", () => {
    // c1 logged fence 1 first, but its line reached the runner after c2's fence 2.
    const ok = checkFenceOrder([acq("c2", 0, 2, 500, T0 + 400), acq("c1", 0, 1, 600, T0 + 100)]);
    expect(ok.violations).toEqual([]);
    // The reverse (fence 2 logged before fence 1) is a violation.
    const bad = checkFenceOrder([acq("c2", 0, 2, 500, T0 + 100), acq("c1", 0, 1, 600, T0 + 400)]);
    expect(bad.violations).toHaveLength(1);
  });

  it("excuses, and lists, a late report from a contender that was SIGSTOPped in between", () => {
    const result = checkFenceOrder(
      [acq("c1", 0, 1, 100, T0 + 3000), acq("c2", 0, 2, 1000, T0 + 1000)].map((a) =>
        a.contender === "c1" ? { ...a, at: 3000 } : a,
      ),
      [{ contender: "c1", from: 50, to: 2900 }],
    );
    expect(result.violations).toEqual([]);
    expect(result.excused).toHaveLength(1);
  });
});

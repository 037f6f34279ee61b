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

  it("reports a fence that went backwards on a key when the contender wrote under it", () => {
    const result = checkFenceOrder([acq("c1", 0, 5, 100), acq("c2", 0, 4, 900)], [], new Map(), [
      { contender: "c2", shard: 0, fence: 4, at: 950, what: "lease-renewed" },
    ]);
    expect(result.violations).toEqual([
      "invariant 3: fences went backwards: c2 reported fence 4 on billing/shard-0 after c1 had acquired fence 5, and wrote under it (lease-renewed at 950 ms)",
    ]);
  });

  it("excuses, and lists, a late report whose contender never wrote under it (a delayed answer)", () => {
    // c2's acquire committed first, its answer was dropped and the SDK's retry answered later; every
    // write it then tried under fence 4 was refused (no renewal, release or charge reported).
    const result = checkFenceOrder([acq("c1", 0, 5, 100), acq("c2", 0, 4, 900)], [], new Map(), [
      { contender: "c1", shard: 0, fence: 5, at: 1000, what: "lease-renewed" },
      { contender: "c2", shard: 0, fence: 4, at: 50, what: "lease-renewed" },
    ]);
    expect(result.violations).toEqual([]);
    expect(result.excused).toHaveLength(1);
    expect(result.excused[0]).toMatch(/c2 reported fence 4 .* no write of its under fence 4 succeeded/);
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
    const renewed = (contender: string, fence: number, at: number) => ({
      contender,
      shard: 0,
      fence,
      at,
      what: "lease-renewed",
    });
    // c1 logged fence 1 first, but its line reached the runner after c2's fence 2.
    const ok = checkFenceOrder(
      [acq("c2", 0, 2, 500, T0 + 400), acq("c1", 0, 1, 600, T0 + 100)],
      [],
      new Map(),
      [renewed("c1", 1, 700)],
    );
    expect(ok.violations).toEqual([]);
    // The reverse (fence 2 logged before fence 1, and fence 1 then used) is a violation.
    const bad = checkFenceOrder(
      [acq("c2", 0, 2, 500, T0 + 100), acq("c1", 0, 1, 600, T0 + 400)],
      [],
      new Map(),
      [renewed("c1", 1, 700)],
    );
    expect(bad.violations).toHaveLength(1);
  });

  it("says when a late report came from a contender that was SIGSTOPped in between", () => {
    const result = checkFenceOrder(
      [acq("c1", 0, 1, 3000, T0 + 3000), acq("c2", 0, 2, 1000, T0 + 1000)],
      [{ contender: "c1", from: 50, to: 2900 }],
    );
    expect(result.violations).toEqual([]);
    expect(result.excused[0]).toMatch(/it was paused in between/);
  });
});

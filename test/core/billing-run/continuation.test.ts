/**
 * When a run goes on in a continuation link, decided from what the invocation reports: the chain is
 * bounded (no link without progress, none past the run's limit, none past a rerun's cap) and never
 * continues a shard another leader took over or a rerun that did all it was asked. A link sent early,
 * at the budget stop, obeys the same bounds.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decideContinuation,
  decideEarly,
  settledRenewals,
} from "../../../functions/core/billing-run/continuation";
import {
  emptyTally,
  MAX_CHARGES_STOP,
  TIME_BUDGET_STOP,
  type ShardReport,
  type Tally,
} from "../../../functions/core/billing-run/shard-leader";

function shard(outcome: ShardReport["outcome"], stopReason: string | null, tally: Partial<Tally> = {}) {
  return {
    shard: 0,
    fence: 1,
    outcome,
    stopReason,
    tally: { ...emptyTally(), ...tally },
    charged: {},
    leftDue: 0,
  } satisfies ShardReport;
}

function report(led: ShardReport[], tally: Partial<Tally> = { succeeded: 5 }, claimed = 5) {
  return { led, tally: { ...emptyTally(), ...tally }, claimed };
}

const budgetStop = shard("partial", TIME_BUDGET_STOP);

describe("decideContinuation", () => {
  it("continues a run whose leader stopped for its time budget, as the next link", () => {
    expect(decideContinuation(report([budgetStop]), { link: 0, maxLinks: 12 })).toEqual({
      kind: "continue",
      link: 1,
    });
    expect(decideContinuation(report([budgetStop]), { link: 7, maxLinks: 12 })).toEqual({
      kind: "continue",
      link: 8,
    });
  });

  it("continues a shard handed back for its lease's safe time or with renewals left due", () => {
    for (const reason of ["lease safe time ran out (the lease has no safe time left)", "2 left due"]) {
      expect(decideContinuation(report([shard("partial", reason)]), { link: 0, maxLinks: 3 }).kind).toBe(
        "continue",
      );
    }
  });

  it.each<[string, ShardReport[]]>([
    ["finished", [shard("complete", null)]],
    ["a targeted rerun that did what it was asked", [shard("targeted", null)]],
    ["lost to a successor (fenced out)", [shard("lost", "lease lost")]],
    ["stopped at a rerun's cap", [shard("partial", MAX_CHARGES_STOP)]],
    ["never led (stood by)", []],
  ])("sends nothing when the invocation %s", (_what, led) => {
    expect(decideContinuation(report(led), { link: 0, maxLinks: 12 })).toEqual({
      kind: "stop",
      reason: "nothing left to continue",
    });
  });

  it("stops a chain whose link made no progress: nothing settled, whatever was left in doubt", () => {
    const decision = decideContinuation(report([budgetStop], { in_doubt: 4, rate_limited: 2, skipped: 9 }), {
      link: 2,
      maxLinks: 12,
    });
    expect(decision).toEqual({ kind: "stop", reason: "no progress" });
  });

  it("stops at the run's link limit, and never continues when the limit is 0", () => {
    expect(decideContinuation(report([budgetStop]), { link: 12, maxLinks: 12 })).toEqual({
      kind: "stop",
      reason: "link limit reached",
    });
    expect(decideContinuation(report([budgetStop]), { link: 0, maxLinks: 0 })).toEqual({
      kind: "stop",
      reason: "link limit reached",
    });
  });

  it("hands a capped rerun's next link only what is left of the cap", () => {
    expect(decideContinuation(report([budgetStop], {}, 7), { link: 0, maxLinks: 5, maxCharges: 10 })).toEqual(
      { kind: "stop", reason: "no progress" },
    );
    expect(
      decideContinuation(report([budgetStop], { declined: 1 }, 7), { link: 0, maxLinks: 5, maxCharges: 10 }),
    ).toEqual({ kind: "continue", link: 1, maxCharges: 3 });
    expect(
      decideContinuation(report([budgetStop], { declined: 1 }, 10), { link: 0, maxLinks: 5, maxCharges: 10 }),
    ).toEqual({ kind: "stop", reason: "maxCharges reached" });
  });

  it("bounds every chain: links only grow, and none is ever sent past the limit", () => {
    const outcomes = fc.constantFrom<ShardReport["outcome"]>("complete", "partial", "targeted", "lost");
    const reasons = fc.constantFrom(null, TIME_BUDGET_STOP, MAX_CHARGES_STOP, "lease lost", "3 left due");
    const tallies = fc.record({
      succeeded: fc.nat(3),
      declined: fc.nat(1),
      in_doubt: fc.nat(2),
      quarantined: fc.nat(1),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(outcomes, reasons), { maxLength: 3 }),
        tallies,
        fc.nat(20),
        fc.nat(15),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        fc.nat(60),
        (led, tally, link, maxLinks, maxCharges, claimed) => {
          const r = report(
            led.map(([o, why]) => shard(o, why)),
            tally,
            claimed,
          );
          const decision = decideContinuation(r, {
            link,
            maxLinks,
            ...(maxCharges !== undefined && { maxCharges }),
          });
          if (decision.kind === "stop") return;
          expect(decision.link).toBe(link + 1);
          expect(decision.link).toBeLessThanOrEqual(maxLinks);
          expect(settledRenewals(r)).toBeGreaterThan(0);
          expect(r.led.some((s) => s.outcome === "partial" && s.stopReason !== MAX_CHARGES_STOP)).toBe(true);
          if (maxCharges !== undefined) expect(decision.maxCharges).toBe(maxCharges - claimed);
          if (decision.maxCharges !== undefined) expect(decision.maxCharges).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("decideEarly", () => {
  it("sends the next link at the budget stop once the invocation has settled a renewal", () => {
    expect(decideEarly(1, { link: 0, maxLinks: 12 })).toEqual({ kind: "continue", link: 1 });
    expect(decideEarly(40, { link: 11, maxLinks: 12 })).toEqual({ kind: "continue", link: 12 });
  });

  it("obeys the same bounds as the end of the invocation: progress and the link limit", () => {
    expect(decideEarly(0, { link: 0, maxLinks: 12 })).toEqual({ kind: "stop", reason: "no progress" });
    expect(decideEarly(5, { link: 12, maxLinks: 12 })).toEqual({
      kind: "stop",
      reason: "link limit reached",
    });
    expect(decideEarly(5, { link: 0, maxLinks: 0 })).toEqual({ kind: "stop", reason: "link limit reached" });
  });

  it("leaves a capped rerun to the end of the invocation, where its claims are known", () => {
    expect(decideEarly(5, { link: 0, maxLinks: 12, maxCharges: 10 })).toBeNull();
  });

  it("never continues where the end of the same invocation would stop for progress or links", () => {
    fc.assert(
      fc.property(fc.nat(5), fc.nat(20), fc.nat(15), (settled, link, maxLinks) => {
        const early = decideEarly(settled, { link, maxLinks });
        const atEnd = decideContinuation(report([budgetStop], { succeeded: settled }), { link, maxLinks });
        expect(early).toEqual(atEnd);
      }),
    );
  });
});

/**
 * Where a drain's handovers spend their time (bench/handovers.ts): the gap a shard goes without a holder,
 * and a new leader's wait for its first settled renewal, from the events its invocations logged.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { handoverTimes, type LeaderEvent } from "../../bench/handovers";

const ev = (kind: LeaderEvent["kind"], at: number, pid: number, shard = 0): LeaderEvent => ({
  kind,
  at,
  pid,
  shard,
});

describe("handoverTimes", () => {
  it("measures a chain of two links on one shard", () => {
    const times = handoverTimes([
      ev("acquired", 900, 1),
      ev("settled", 3_500, 1),
      ev("settled", 3_600, 1),
      ev("released", 14_400, 1),
      ev("acquired", 14_500, 2),
      ev("settled", 16_500, 2),
    ]);
    expect(times).toEqual({ releaseToLeaseMs: [100], leaseToFirstSettleMs: [2_600, 2_000] });
  });

  it("keeps shards apart, whatever order the lines arrived in", () => {
    const times = handoverTimes([
      ev("settled", 2_000, 2, 1),
      ev("acquired", 1_000, 1, 0),
      ev("acquired", 1_200, 2, 1),
      ev("released", 10_000, 1, 0),
      ev("settled", 1_500, 1, 0),
      ev("acquired", 10_300, 3, 0),
    ]);
    expect(times.releaseToLeaseMs).toEqual([300]);
    expect(times.leaseToFirstSettleMs).toEqual([500, 800]);
  });

  it("counts no handover for a takeover after a lost lease, and no ramp for a leader that settled nothing", () => {
    const times = handoverTimes([
      ev("acquired", 0, 1),
      ev("acquired", 5_000, 2),
      ev("released", 6_000, 2),
      ev("settled", 6_500, 2),
    ]);
    expect(times).toEqual({ releaseToLeaseMs: [], leaseToFirstSettleMs: [] });
  });

  it("gives one gap per release followed by a lease, and one ramp per leader at most", () => {
    const chain = fc.array(fc.record({ ramp: fc.nat(3_000), gap: fc.nat(2_000), settles: fc.boolean() }), {
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(chain, (links) => {
        const events: LeaderEvent[] = [];
        let at = 0;
        links.forEach((link, pid) => {
          events.push(ev("acquired", at, pid));
          if (link.settles)
            events.push(ev("settled", at + link.ramp, pid), ev("settled", at + link.ramp + 1, pid));
          at += link.ramp + 10;
          events.push(ev("released", at, pid));
          at += link.gap;
        });
        const times = handoverTimes(events);
        expect(times.releaseToLeaseMs).toEqual(links.slice(0, -1).map((l) => l.gap));
        expect(times.leaseToFirstSettleMs).toEqual(links.filter((l) => l.settles).map((l) => l.ramp));
      }),
    );
  });
});

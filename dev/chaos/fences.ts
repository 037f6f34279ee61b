/**
 * Invariant 3 from the event streams: fencing tokens for a lease key strictly increase, forever. The
 * invariant checker (dev/invariants.ts) looks at what the tables hold at the end; this looks at every
 * acquisition the contenders reported while it happened:
 *
 *  - no fence is issued twice for one key (order-independent: two acquisitions with the same fence is a
 *    violation whatever the timing);
 *  - in each contender's own stream (a pipe keeps order), its fences for a key strictly increase;
 *  - across contenders, every acquisition's fence is greater than every fence acquired earlier for that
 *    key. "Earlier" is by when each contender logged it, on one clock (see Fleet.loggedAt), or, when a line
 *    has no timestamp, when the runner received it.
 *
 *    A contender can learn of its acquisition late: SIGSTOPped between the commit and its log line, or its
 *    answer dropped and the SDK's retry (same ClientRequestToken) answered with the original success after
 *    someone else had taken over. Such a late report is not a fence issued out of order, and it is harmless
 *    as long as nothing that contender writes under the stale fence succeeds (invariant 4). So a reversal
 *    is excused, and listed, when the contender reports no successful write under that fence afterwards
 *    (no renewal, release or settled charge); a stale fence that writes is a violation.
 *  - the key's fence record (the table) is at least every fence anyone acquired.
 */
import type { Acquisition } from "./fleet";

export interface FenceCheck {
  readonly violations: string[];
  /** Reversals explained by a pause between the acquisition and its log line. */
  readonly excused: string[];
  /** Acquisitions checked. */
  readonly checked: number;
}

/** A write a contender reported as done under a fence: a renewal, a release, a settled charge. */
export interface FencedWrite {
  readonly contender: string;
  readonly shard: number;
  readonly fence: number;
  readonly at: number;
  readonly what: string;
}

export interface PauseWindow {
  readonly contender: string;
  readonly from: number;
  readonly to: number | null;
}

export function checkFenceOrder(
  acquisitions: readonly Acquisition[],
  pauses: readonly PauseWindow[] = [],
  fenceRecords: ReadonlyMap<number, number> = new Map(),
  writes: readonly FencedWrite[] = [],
): FenceCheck {
  const violations: string[] = [];
  const excused: string[] = [];
  const key = (shard: number) => `billing/shard-${shard}`;

  // Issued twice?
  const byFence = new Map<string, Acquisition[]>();
  for (const a of acquisitions) {
    const k = `${a.shard}#${a.fence}`;
    byFence.set(k, [...(byFence.get(k) ?? []), a]);
  }
  for (const list of byFence.values()) {
    if (list.length > 1) {
      violations.push(
        `invariant 3: fence ${list[0]!.fence} on ${key(list[0]!.shard)} was acquired ${list.length} times (${list.map((a) => `${a.contender} at ${a.at} ms`).join(", ")})`,
      );
    }
  }

  // Each contender's own stream.
  const lastOwn = new Map<string, Acquisition>();
  for (const a of [...acquisitions].sort((x, y) => x.at - y.at)) {
    const k = `${a.contender}#${a.shard}`;
    const previous = lastOwn.get(k);
    if (previous && a.fence <= previous.fence) {
      violations.push(
        `invariant 3: ${a.contender} acquired ${key(a.shard)} with fence ${a.fence} after fence ${previous.fence}`,
      );
    }
    lastOwn.set(k, a);
  }

  // Across contenders, in the order they happened.
  const when = (a: Acquisition) => a.loggedAtEpochMs ?? a.at;
  const haveStamps = acquisitions.every((a) => a.loggedAtEpochMs !== null);
  const ordered = [...acquisitions].sort((x, y) =>
    haveStamps ? when(x) - when(y) || x.at - y.at : x.at - y.at,
  );
  const highest = new Map<number, Acquisition>();
  for (const a of ordered) {
    const top = highest.get(a.shard);
    if (top && a.fence < top.fence) {
      const text = `${a.contender} reported fence ${a.fence} on ${key(a.shard)} after ${top.contender} had acquired fence ${top.fence}`;
      const wrote = writes.filter(
        (w) => w.contender === a.contender && w.shard === a.shard && w.fence === a.fence && w.at >= a.at,
      );
      if (wrote.length > 0) {
        violations.push(
          `invariant 3: fences went backwards: ${text}, and wrote under it (${wrote.map((w) => `${w.what} at ${w.at} ms`).join(", ")})`,
        );
      } else {
        const paused = pauses.some(
          (p) => p.contender === a.contender && p.from <= top.at && (p.to === null || p.to <= a.at),
        );
        excused.push(
          `${text}: it learnt of its acquisition late (${paused ? "it was paused in between" : "a delayed answer, e.g. an SDK retry after a dropped response"}), and no write of its under fence ${a.fence} succeeded`,
        );
      }
      continue;
    }
    if (!top || a.fence > top.fence) highest.set(a.shard, a);
  }

  // The table's fence record never falls behind what was issued.
  for (const [shard, top] of highest) {
    const recorded = fenceRecords.get(shard);
    if (recorded !== undefined && recorded < top.fence) {
      violations.push(
        `invariant 3: ${key(shard)}'s fence record is ${recorded}, below fence ${top.fence} acquired by ${top.contender}`,
      );
    }
  }
  return { violations, excused, checked: acquisitions.length };
}

/**
 * Where a chain's handovers spend their time, from the events its invocations logged: how long a shard
 * went without a holder (its lease released, the next leader not yet in), and how long a new leader took
 * from its lease to its first settled renewal. Between them is the time a shard settles nothing at a
 * handover; the drain scenario (scenarios/drain.ts) reports both beside the drain time.
 */

/** One invocation's lease event, or one renewal it settled, at `at` ms on one timeline. */
export interface LeaderEvent {
  readonly kind: "acquired" | "released" | "settled";
  readonly at: number;
  readonly pid: number;
  readonly shard: number;
}

export interface HandoverTimes {
  /** Per handover: from a shard's lease being released to the next leader's acquisition of it. */
  readonly releaseToLeaseMs: number[];
  /** Per acquisition that went on to settle a renewal: from the lease to its first settled renewal. */
  readonly leaseToFirstSettleMs: number[];
}

export function handoverTimes(events: readonly LeaderEvent[]): HandoverTimes {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  const releaseToLeaseMs: number[] = [];
  const leaseToFirstSettleMs: number[] = [];
  const releasedAt = new Map<number, number>();
  /** Acquisitions still waiting for their first settled renewal, by pid and shard. */
  const waiting = new Map<string, number>();
  for (const event of sorted) {
    const key = `${event.pid}/${event.shard}`;
    switch (event.kind) {
      case "released":
        releasedAt.set(event.shard, event.at);
        waiting.delete(key);
        break;
      case "acquired": {
        const released = releasedAt.get(event.shard);
        if (released !== undefined) releaseToLeaseMs.push(event.at - released);
        releasedAt.delete(event.shard);
        waiting.set(key, event.at);
        break;
      }
      case "settled": {
        const acquired = waiting.get(key);
        if (acquired === undefined) break;
        leaseToFirstSettleMs.push(event.at - acquired);
        waiting.delete(key);
        break;
      }
    }
  }
  return { releaseToLeaseMs, leaseToFirstSettleMs };
}

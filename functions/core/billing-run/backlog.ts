/**
 * The backlog: renewals due and not yet settled, and how long the oldest of them has waited. A book that
 * outgrows what the runs can bill shows here first, long before anyone misses a payment: the handler
 * emits both after every run that led a shard, an alarm watches the oldest's age, and `ops status` shows
 * them with the time the backlog takes to drain at the account's Stripe budget.
 *
 * Both come from the sparse `due` index, which holds exactly the subscriptions that are billable and
 * carries their `nextAttemptAt`: the oldest is the first entry of each shard, and the count a Select
 * COUNT, bounded (a count that stopped at its bound is a lower bound, and says so). Renewals in doubt or
 * left by a run that stopped stay in the index, so they count; settled ones have left it.
 */

/** What the backlog needs from the subscription table (DynamoBillingStore implements it). */
export interface DueIndex {
  /** How many subscriptions of the shard are due at `asOf`, reading at most a bounded number of pages. */
  countDue(shard: number, asOf: string): Promise<{ readonly count: number; readonly complete: boolean }>;
  /** The `nextAttemptAt` of the shard's oldest due subscription at `asOf`, or null if none is due. */
  oldestDue(shard: number, asOf: string): Promise<string | null>;
}

export interface Backlog {
  /** When it was measured (ISO-8601). */
  readonly at: string;
  /** Renewals due and not settled, over the shards measured. */
  readonly due: number;
  /** False when a shard's count stopped at its bound: `due` is then a lower bound. */
  readonly complete: boolean;
  /** The oldest due renewal's `nextAttemptAt`, or null when nothing is due. */
  readonly oldestDueAt: string | null;
  /** How long the oldest has been due, in milliseconds; 0 when nothing is due. */
  readonly oldestAgeMs: number;
  readonly dueByShard: Readonly<Record<string, number>>;
}

/** The least a successful charge costs at Stripe: create, then confirm (docs/billing-run.md). */
export const REQUESTS_PER_CHARGE = 2;

/** Measures the backlog of `shards` as of `now`, one shard after the other. */
export async function measureBacklog(
  index: DueIndex,
  shards: readonly number[],
  now: number,
): Promise<Backlog> {
  const at = new Date(now).toISOString();
  const dueByShard: Record<string, number> = {};
  let due = 0;
  let complete = true;
  let oldestDueAt: string | null = null;
  for (const shard of shards) {
    const [count, oldest] = await Promise.all([index.countDue(shard, at), index.oldestDue(shard, at)]);
    dueByShard[String(shard)] = count.count;
    due += count.count;
    complete &&= count.complete;
    if (oldest !== null && (oldestDueAt === null || oldest < oldestDueAt)) oldestDueAt = oldest;
  }
  const oldestAgeMs = oldestDueAt === null ? 0 : Math.max(0, now - Date.parse(oldestDueAt));
  return { at, due, complete, oldestDueAt, oldestAgeMs, dueByShard };
}

/**
 * The shortest time in which `due` renewals can be billed at an account budget of `requestsPerSecond`:
 * the provider's rate, not the job, sets it (2N/L seconds at two requests per charge). Declines cost a
 * request more each (the cancel), so a book with many takes longer.
 */
export function drainSeconds(
  due: number,
  requestsPerSecond: number,
  requestsPerCharge: number = REQUESTS_PER_CHARGE,
): number {
  return (due * requestsPerCharge) / requestsPerSecond;
}

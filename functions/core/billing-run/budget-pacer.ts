/**
 * Paces one contender's Stripe requests at its share of the account's budget (account-budget.ts): a token
 * bucket whose rate is the budget's rate of the moment; a count of the leaders in the lease table when
 * this contender takes a lease, and again at most once a second while its requests flow; and every 429
 * Stripe answers, which slows it down.
 *
 * A leader is a held shard lease whose recorded expiry is still ahead by this contender's clock. The
 * clocks of other contenders are compared here, which the lease itself never does (docs/design.md, "Clock
 * skew"): this is pacing, and a wrong count costs a few 429s or a slower run, never a charge. A count that
 * cannot be read, or that stopped at its bound, keeps the last one, or assumes every shard has a leader.
 */
import type { Clock } from "../clock";
import { shardLeaseKey, shardOfLeaseKey } from "../lease/lease";
import { AccountBudget, type LeaderCount } from "./account-budget";
import type { RunEvent } from "./events";
import { RateLimiter } from "./rate-limiter";

/** A lease record as a count needs it: the key, its holder (null once released) and its expiry. */
export interface LeaseRow {
  readonly leaseKey: string;
  readonly owner: string | null;
  readonly expiresAt: number;
}

export interface LeaseRows {
  readonly rows: readonly LeaseRow[];
  /** False when the read stopped at its bound before the end of the table. */
  readonly complete: boolean;
}

/** Reads every lease record (DynamoLeaseStore.listLeaseRows: an eventually consistent, bounded scan). */
export type ReadLeaseRows = () => Promise<LeaseRows>;

/** How often, at most, a leader counts the leaders again while it sends requests. */
export const LEADER_COUNT_INTERVAL_MS = 1_000;

export interface PacerSettings {
  /** The account's whole budget: requests per second for every leader together. */
  readonly accountRequestsPerSecond: number;
  /** SHARD_COUNT: at least this many leaders can run at once. */
  readonly shardCount: number;
  readonly readLeaseRows: ReadLeaseRows;
  readonly countIntervalMs?: number;
}

/** What the pacer saw since the stats were last taken (one invocation, in the handler). */
export interface PacingStats {
  /** Requests that took their turn at the limiter: the ones sent, and the few the send guard then stopped. */
  readonly requests: number;
  /** 429s Stripe answered for the account's rate (lock timeouts are not counted). */
  readonly rateLimited: number;
  /** Of those, the ones that halved the rate. */
  readonly decreases: number;
  /** The most leaders a count saw. */
  readonly mostLeaders: number;
  readonly counts: number;
  readonly countFailures: number;
  /** The rate this leader was allowed when the stats were taken, requests per second. */
  readonly rate: number;
}

/**
 * The leaders a read of the lease table shows at `now`: shard leases held and not yet expired by this
 * contender's clock, and `own` (the lease this contender holds, which an eventually consistent read may
 * not show yet). The most there can be is one per billable shard: 0..SHARD_COUNT-1 and every shard with
 * a lease record (lease.ts billableShards). A read that stopped at its bound counts every shard as led.
 */
export function countLeaders(
  read: LeaseRows,
  now: number,
  own: string | null,
  shardCount: number,
): LeaderCount {
  const shards = new Set<number>(Array.from({ length: shardCount }, (_, shard) => shard));
  const held = new Set<string>();
  for (const row of read.rows) {
    const shard = shardOfLeaseKey(row.leaseKey);
    if (shard === null) continue;
    shards.add(shard);
    if (row.owner !== null && row.expiresAt > now) held.add(row.leaseKey);
  }
  if (own !== null) {
    shards.add(shardOfLeaseKey(own) ?? -1);
    held.add(own);
  }
  const maxLeaders = Math.max(1, shards.size);
  return { leaders: read.complete ? Math.max(1, held.size) : maxLeaders, maxLeaders };
}

export class BudgetPacer {
  readonly limiter: RateLimiter;
  private readonly budget: AccountBudget;
  private readonly countIntervalMs: number;
  /** The lease key this contender leads now (it leads one shard at a time), or null. */
  private own: string | null = null;
  private lastCountAt = Number.NEGATIVE_INFINITY;
  private counting: Promise<void> | null = null;
  private stats: Counters = emptyStats();

  constructor(
    private readonly clock: Clock,
    private readonly settings: PacerSettings,
  ) {
    this.budget = new AccountBudget(settings.accountRequestsPerSecond, settings.shardCount, clock.now());
    this.countIntervalMs = settings.countIntervalMs ?? LEADER_COUNT_INTERVAL_MS;
    this.limiter = new RateLimiter(clock, () => this.budget.rateAt(clock.now()));
  }

  /** The rate this leader may send at now, requests per second. */
  get rate(): number {
    return this.budget.rateAt(this.clock.now());
  }

  get leaders(): number {
    return this.budget.leaderCount;
  }

  /** Resolves when one request may be sent (the gateway's `beforeRequest`). */
  take(): Promise<void> {
    this.stats.requests += 1;
    if (this.own !== null && this.clock.now() - this.lastCountAt >= this.countIntervalMs) void this.count();
    return this.limiter.take();
  }

  /** Stripe answered 429 for the account's rate (the gateway's `onRateLimited`). */
  rateLimited(): void {
    this.stats.rateLimited += 1;
    if (this.budget.rateLimited(this.clock.now())) this.stats.decreases += 1;
  }

  /** Follows the leases this contender takes and gives up (run events). */
  readonly observe = (event: RunEvent): void => {
    switch (event.type) {
      case "lease-acquired":
        this.own = shardLeaseKey(event.shard);
        this.budget.joined(this.clock.now());
        void this.count();
        return;
      case "lease-released":
      case "lease-lost":
        if (this.own === shardLeaseKey(event.shard)) this.own = null;
        return;
      default:
        return;
    }
  };

  /** Counts the leaders now, unless a count is already under way; resolves when it is done. */
  count(): Promise<void> {
    this.counting ??= this.countOnce().finally(() => (this.counting = null));
    return this.counting;
  }

  /** The stats since they were last taken. */
  takeStats(): PacingStats {
    const taken = { ...this.stats, rate: this.rate };
    this.stats = emptyStats();
    return taken;
  }

  private async countOnce(): Promise<void> {
    this.lastCountAt = this.clock.now();
    this.stats.counts += 1;
    try {
      const read = await this.settings.readLeaseRows();
      const now = this.clock.now();
      const count = countLeaders(read, now, this.own, this.settings.shardCount);
      this.budget.counted(count, now);
      this.stats.mostLeaders = Math.max(this.stats.mostLeaders, count.leaders);
    } catch {
      // Pacing goes on with the last count; the next request past the interval tries again.
      this.stats.countFailures += 1;
    }
  }
}

type Counters = { -readonly [K in Exclude<keyof PacingStats, "rate">]: number };

function emptyStats(): Counters {
  return { requests: 0, rateLimited: 0, decreases: 0, mostLeaders: 0, counts: 0, countFailures: 0 };
}

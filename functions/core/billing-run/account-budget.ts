/**
 * One Stripe request budget for the whole account, shared by every leader at once. Stripe limits the
 * requests of an account, not of a process: with several shards, several leaders send at the same time,
 * and their rates add up. So each leader paces itself at its share of the budget, the budget divided by
 * the leaders active now (the lease table says how many: budget-pacer.ts reads it), and the shares add
 * up to the budget.
 *
 * Shares move with the number of leaders, and a count read from the lease table can be a moment old, so
 * the rate follows the rules TCP follows for a shared link (AIMD):
 *
 * - a new leader starts at the budget divided by the most leaders there can be (one per billable shard):
 *   the others may not have seen it yet, and this start can never push the sum over the budget;
 * - a count with more leaders lowers the rate to the new share at once;
 * - otherwise the rate climbs back to the share slowly (additive increase), so a count that missed a
 *   leader who had just acquired its lease costs little before the next count corrects it;
 * - a 429 halves the rate (multiplicative decrease): the account is over its limit whatever the counts
 *   say (other traffic on the account, a share not yet updated). 429s that answer requests sent before
 *   that decrease do not halve it again.
 *
 * Pacing only: no safety property depends on these numbers or on any clock here. Pure: every instant is
 * an argument.
 */
import { InvalidInputError } from "../input-error";

/**
 * The budget when none is set. Stripe documents, per account, 100 requests/s in live mode and 25 in a
 * sandbox (test mode), and a default of 25/s per endpoint in both (a charge is a create and a confirm,
 * two endpoints). 25 is within every one of those limits, and in live mode leaves three quarters of the
 * account's limit to its other traffic (checkout, the dashboard); raise it there (README, "Configuration").
 */
export const DEFAULT_ACCOUNT_REQUESTS_PER_SECOND = 25;

export const AIMD = {
  /** A 429 multiplies the rate by this. */
  decreaseFactor: 0.5,
  /** 429s within this long of the last decrease answer requests sent before it: no second decrease. */
  decreaseHoldMs: 1_000,
  /** The rate climbs back towards the share by this fraction of the whole budget per second. */
  increasePerSecond: 0.05,
  /** Decreases stop at this fraction of the leader's share. */
  floorOfShare: 1 / 16,
} as const;

/** What a count of the lease table said: leaders now, and the most there can be (billable shards). */
export interface LeaderCount {
  readonly leaders: number;
  readonly maxLeaders: number;
}

export class AccountBudget {
  private leaders: number;
  private maxLeaders: number;
  /** The rate as of `at`; it climbs from there (rateAt). */
  private rate: number;
  private at: number;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;

  /**
   * @param budget the account's requests per second, for every leader together
   * @param maxLeaders the most leaders there can be at once: one per billable shard
   */
  constructor(
    readonly budget: number,
    maxLeaders: number,
    now: number,
  ) {
    if (!(budget > 0) || !Number.isFinite(budget)) {
      throw new InvalidInputError("accountRequestsPerSecond", `must be a positive number, got ${budget}`);
    }
    this.maxLeaders = atLeastOne(maxLeaders);
    this.leaders = this.maxLeaders;
    this.rate = budget / this.maxLeaders;
    this.at = now;
  }

  /** This leader's share of the budget, by the last count. */
  get share(): number {
    return this.budget / this.leaders;
  }

  /** The leaders of the last count (the most there can be, until a count says otherwise). */
  get leaderCount(): number {
    return this.leaders;
  }

  /** Requests per second this leader may send at `now`: climbing back to its share, never above it. */
  rateAt(now: number): number {
    const climbed = this.rate + (AIMD.increasePerSecond * this.budget * Math.max(0, now - this.at)) / 1000;
    return Math.min(this.share, climbed);
  }

  /**
   * This leader has just taken a lease: the others cannot know yet, so it starts no faster than the
   * budget divided by the most leaders there can be.
   */
  joined(now: number, maxLeaders: number = this.maxLeaders): void {
    this.settle(now);
    this.maxLeaders = Math.max(this.maxLeaders, atLeastOne(maxLeaders));
    this.rate = Math.min(this.rate, this.budget / this.maxLeaders);
  }

  /** A count of the lease table: a larger one lowers the rate at once, a smaller one lets it climb. */
  counted(count: LeaderCount, now: number): void {
    this.settle(now);
    this.maxLeaders = Math.max(atLeastOne(count.maxLeaders), atLeastOne(count.leaders));
    this.leaders = atLeastOne(count.leaders);
    this.rate = Math.min(this.rate, this.share);
  }

  /** Stripe answered 429: halve the rate, unless it was halved less than a hold ago. True if it was. */
  rateLimited(now: number): boolean {
    if (now - this.lastDecreaseAt < AIMD.decreaseHoldMs) return false;
    this.settle(now);
    // Down to the floor, never below it, and never up: a rate already under the floor stays.
    this.rate = Math.min(
      this.rate,
      Math.max(this.share * AIMD.floorOfShare, this.rate * AIMD.decreaseFactor),
    );
    this.lastDecreaseAt = now;
    return true;
  }

  /** Fixes the climbed rate at `now`, so that a change applies from now on. */
  private settle(now: number): void {
    if (now <= this.at) return;
    this.rate = this.rateAt(now);
    this.at = now;
  }
}

function atLeastOne(n: number): number {
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
}

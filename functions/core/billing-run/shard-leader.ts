/**
 * Leading one shard while holding its lease: page through what is due, renew many subscriptions at once
 * under the provider's rate limit, keep the lease alive, save progress on the lease, stop claiming while
 * there is still time to finish what is in flight, and release the lease with the run's outcome.
 *
 * A run counts as complete only when it attempted everything due at its `asOf`: a targeted rerun (named
 * subscriptions, or a cap on charges) never does, so it can never end a scheduled run early.
 */
import type { Clock } from "../clock";
import { hasSafeTime, type HeldLease, type LeaseSnapshot, type RunOutcomeKind } from "../lease/lease";
import type { LeaseClient } from "../lease/lease-client";
import type { Subscription } from "../billing/subscription";
import type { ChargeRecord } from "../billing/charge-state";
import type { PaymentGateway } from "../payments/payment-gateway";
import { classify } from "./due";
import type { ChargeOutcomeKind, RunObserver } from "./events";
import { DuePass } from "./due-pass";
import { Heartbeat } from "./heartbeat";
import { UnreadableRecordError, type ChargeLedger, type SubscriptionSource } from "./ports";
import { quarantineInvalid } from "./quarantine";
import { renewSubscription, type RenewalContext, type RenewalResult } from "./renewal";
import { sweep, SWEEP_PAGE_SIZE, SWEEP_PAGES_PER_RUN } from "./sweeps";
import { handoverStaggerMs } from "./stagger";
import type { RunSettings } from "./run-config";

export interface RunRequest {
  readonly runId: string;
  /** Bill what is due at this instant (ISO-8601, UTC); never later than the clock's now. */
  readonly asOf: string;
  /** Bill only these subscriptions (an operator's rerun), if due. */
  readonly subscriptionIds?: readonly string[];
  /** Claim at most this many renewals in this invocation. */
  readonly maxCharges?: number;
  /**
   * In a run's first invocation, untargeted: the shards the run bills, whose leaders stop claiming at
   * staggered moments so that their continuation chains hand over one at a time (stagger.ts).
   */
  readonly staggerAmong?: readonly number[];
}

export interface LeaderDeps {
  readonly lease: LeaseClient;
  readonly source: SubscriptionSource;
  readonly ledger: ChargeLedger;
  readonly gateway: PaymentGateway;
  readonly clock: Clock;
  readonly settings: RunSettings;
  readonly observe: RunObserver;
  /** Milliseconds left before the invocation is cut off (Lambda's getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /**
   * Every shard some run bills (lease.ts billableShards); the leader of the lowest one sweeps. Unset:
   * 0..shardCount-1.
   */
  readonly billableShards?: readonly number[];
}

export type Tally = Record<ChargeOutcomeKind | "skipped", number>;

/** The stop reason of a leader whose invocation's time ran low: the run goes on in a continuation link. */
export const TIME_BUDGET_STOP = "time budget";
/** The stop reason of a rerun that claimed its `maxCharges`: it did what it was asked, nothing goes on. */
export const MAX_CHARGES_STOP = "maxCharges reached";

export interface ShardReport {
  readonly shard: number;
  readonly fence: number;
  /**
   * complete: nothing due left unattempted. targeted: a targeted rerun did all it was asked (which says
   * nothing of the rest of the shard). partial: stopped early, work left. lost: taken over.
   */
  readonly outcome: RunOutcomeKind | "lost";
  readonly stopReason: string | null;
  readonly tally: Tally;
  /** Minor units charged, per currency. */
  readonly charged: Record<string, number>;
  /** Due subscriptions this leader attempted but left due (in doubt, rate limited, stopped). */
  readonly leftDue: number;
}

export function emptyTally(): Tally {
  return {
    succeeded: 0,
    declined: 0,
    needs_customer_action: 0,
    in_doubt: 0,
    quarantined: 0,
    rate_limited: 0,
    skipped: 0,
  };
}

/**
 * Leads `shard` under the lease just acquired, to the end of the run or of the lease. `previous` is the
 * lease as the acquisition read it (where the sweeps resume: only the holder writes that).
 */
export async function leadShard(
  deps: LeaderDeps,
  shard: number,
  acquired: HeldLease,
  request: RunRequest,
  claimed: ClaimCounter,
  previous: LeaseSnapshot,
): Promise<ShardReport> {
  return new ShardLeader(deps, shard, acquired, request, claimed, previous).run();
}

/** Renewals claimed by one contender across the shards it leads (for `maxCharges`). */
export class ClaimCounter {
  private claimedCount = 0;
  constructor(private readonly limit: number | undefined) {}
  get exhausted(): boolean {
    return this.limit !== undefined && this.claimedCount >= this.limit;
  }
  /**
   * Takes one claim if the cap allows it. Check and count are one synchronous step: workers that all
   * passed an earlier check while awaiting cannot each take the last claim.
   */
  tryClaim(): boolean {
    if (this.exhausted) return false;
    this.claimedCount += 1;
    return true;
  }
  /** Renewals claimed so far: what a continuation of a capped rerun may still claim is the rest. */
  get count(): number {
    return this.claimedCount;
  }
}

type Processed = "done" | "left-due";

class ShardLeader {
  private readonly tally = emptyTally();
  private readonly charged: Record<string, number> = {};
  private readonly attempted = new Set<string>();
  private readonly leftDue = new Set<string>();
  private readonly heartbeat: Heartbeat;
  private stopReason: string | null = null;
  private fencedOut = false;
  /** How much earlier than its time budget this leader stops claiming (stagger.ts); fixed at its lease. */
  private readonly staggerMs: number;

  constructor(
    private readonly deps: LeaderDeps,
    private readonly shard: number,
    private readonly acquired: HeldLease,
    private readonly request: RunRequest,
    private readonly claims: ClaimCounter,
    private readonly previous: LeaseSnapshot,
  ) {
    const { observe, settings } = deps;
    const windowMs = deps.remainingMs() - settings.stopClaimingMarginMs;
    this.staggerMs = request.staggerAmong ? handoverStaggerMs(shard, request.staggerAmong, windowMs) : 0;
    this.heartbeat = new Heartbeat(
      deps.lease,
      deps.clock,
      acquired,
      (lease) => observe({ type: "lease-lost", shard, fence: lease.fence, during: "renew" }),
      (lease) => observe({ type: "lease-renewed", shard, fence: lease.fence, expiresAt: lease.expiresAt }),
    );
  }

  async run(): Promise<ShardReport> {
    try {
      if (this.request.subscriptionIds) await this.pool(this.request.subscriptionIds);
      else await this.drainDueIndex();
      if (this.sweeps) await this.sweep();
    } catch (error) {
      // An infrastructure failure: hand the shard over at once rather than let the lease run out.
      await this.heartbeat.stop();
      if (!this.lost) await this.release("partial").catch(() => undefined);
      throw error;
    }
    await this.heartbeat.stop();
    return this.finish();
  }

  /** The sweeps run on the lowest billable shard, after a whole (untargeted) run that was not cut short. */
  private get sweeps(): boolean {
    const billable = this.billable();
    const targeted = this.request.subscriptionIds !== undefined || this.request.maxCharges !== undefined;
    return !targeted && this.stopReason === null && this.shard === Math.min(...billable);
  }

  private billable(): readonly number[] {
    const { deps } = this;
    return deps.billableShards ?? Array.from({ length: deps.settings.shardCount }, (_, i) => i);
  }

  private async sweep(): Promise<void> {
    const { deps } = this;
    const from = this.previous.lease?.sweep ?? { subscriptionsCursor: null, paymentIntentsSince: null };
    const result = await sweep(deps, () => this.heartbeat.current, this.billable(), from, {
      pages: SWEEP_PAGES_PER_RUN,
      pageSize: SWEEP_PAGE_SIZE,
      mayGoOn: async () =>
        !this.lost && this.sendGuard() === null && deps.remainingMs() >= deps.settings.stopClaimingMarginMs,
      guard: () => this.sendGuard(),
    });
    if (!this.lost) await deps.lease.saveSweep(this.heartbeat.current, result.progress);
    deps.observe({
      type: "sweep",
      shard: this.shard,
      unreachable: result.unreachable,
      strayPaymentIntentsCanceled: result.strayPaymentIntentsCanceled,
    });
  }

  private get lost(): boolean {
    return this.heartbeat.lost || this.fencedOut;
  }

  /**
   * Renews everything due in the shard's index, read a page ahead (due-pass.ts), saving progress on the
   * lease as each page comes in.
   */
  private async drainDueIndex(): Promise<void> {
    const { source, settings } = this.deps;
    const read = (cursor: string | null) =>
      source.queryDue(this.shard, this.request.asOf, settings.pageSize, cursor);
    const pass = new DuePass(read, settings.pageSize, () => this.saveProgress());
    // No read may still be saving progress when the lease is released or handed over.
    try {
      await this.work(() => pass.next());
    } catch (error) {
      await pass.idle().catch(() => undefined);
      throw error;
    }
    await pass.idle();
  }

  /** A targeted rerun's ids, in the order given, through the same workers. */
  private async pool(ids: readonly string[]): Promise<void> {
    let next = 0;
    await this.work(async () => ids[next++] ?? null, Math.min(ids.length, this.deps.settings.concurrency));
  }

  /**
   * Renews the ids `take` hands out with `workers` at once; each worker starts another renewal only if
   * `mayStart()` says so, and stops when `take` has no more.
   */
  private async work(
    take: () => Promise<string | null>,
    workers = this.deps.settings.concurrency,
  ): Promise<void> {
    const worker = async () => {
      while (await this.mayStart()) {
        const id = await take();
        if (id === null) return;
        this.attempted.add(id);
        if ((await this.processOne(id)) === "left-due") this.leftDue.add(id);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /** Progress on the lease, for `ops status` and the next holder's log; nothing is decided from it. */
  private async saveProgress(): Promise<void> {
    if (this.lost) return;
    await this.deps.lease.saveCheckpoint(this.heartbeat.current, {
      runId: this.request.runId,
      asOf: this.request.asOf,
      progress: { attempted: this.attempted.size, ...this.tally },
    });
  }

  /** May this leader start another renewal? Sets stopReason when the answer becomes no. */
  private async mayStart(): Promise<boolean> {
    if (this.stopReason !== null) return false;
    const { deps } = this;
    if (this.lost) this.stopReason = "lease lost";
    else if (deps.remainingMs() - this.staggerMs < deps.settings.stopClaimingMarginMs) {
      this.stopReason = TIME_BUDGET_STOP;
      deps.observe({
        type: "budget-exhausted",
        shard: this.shard,
        remainingMs: deps.remainingMs(),
        staggeredMs: this.staggerMs,
      });
    } else if (this.claims.exhausted) this.stopReason = MAX_CHARGES_STOP;
    else if (this.sendGuard() !== null) {
      // Renewals are late: renew now rather than start work we may not finish under this lease.
      if (!(await this.heartbeat.renewNow())) this.stopReason = "lease lost";
      else if (this.sendGuard() !== null) this.stopReason = "lease safe time ran out";
    }
    return this.stopReason === null;
  }

  /**
   * Asked before every provider request: a request leaves only while this lease is ours with more than
   * the safety margin left on our clock. A process that was paused sees its lease run out here first.
   */
  private sendGuard(): string | null {
    if (this.lost) return "the lease was lost";
    const { clock, lease } = this.deps;
    return hasSafeTime(this.heartbeat.current, clock.now(), lease.timings.safetyMarginMs)
      ? null
      : "the lease has no safe time left";
  }

  private async processOne(subscriptionId: string): Promise<Processed> {
    try {
      return await this.renewPeriods(subscriptionId);
    } catch (error) {
      // One unreadable record never stops the run: it is quarantined with the reason, the run goes on.
      if (!(error instanceof UnreadableRecordError)) throw error;
      return this.quarantine(null, subscriptionId, error.message, error.field);
    }
  }

  /** Bills the subscription's due periods, oldest first (catch-up), up to the per-run cap. */
  private async renewPeriods(subscriptionId: string): Promise<Processed> {
    const { deps, request } = this;
    for (let period = 0; period < deps.settings.maxPeriodsPerSubscription; period++) {
      const raw = await deps.source.getSubscription(subscriptionId);
      const due = classify(raw, this.shard, request.asOf);
      if (due.kind === "invalid" && raw !== null)
        return this.quarantine(raw, subscriptionId, due.reason, due.field);
      if (due.kind !== "due") return this.count("skipped");
      if (period === 0 && !this.claims.tryClaim()) {
        this.stopReason ??= MAX_CHARGES_STOP;
        return "left-due";
      }
      const result = await renewSubscription(this.renewalContext(), due.subscription, request.asOf);
      const next = this.take(due.subscription, result);
      if (next !== "next-period") return next;
    }
    return "done";
  }

  /** Tallies a renewal's result; "next-period" when the following period is due too. */
  private take(subscription: Subscription, result: RenewalResult): Processed | "next-period" {
    switch (result.kind) {
      case "fenced-out":
        this.fencedOut = true;
        this.deps.observe({
          type: "fenced-out",
          shard: this.shard,
          fence: this.heartbeat.current.fence,
          step: result.step,
          subscriptionId: subscription.subscriptionId,
        });
        return "left-due";
      case "skipped":
        return this.count("skipped");
      case "stopped":
        // The guard held a send back: the lease ran short, most often because this process stalled for a
        // moment. The period stays due; the next mayStart renews and decides whether this run goes on.
        this.deps.observe({
          type: "send-held-back",
          shard: this.shard,
          fence: this.heartbeat.current.fence,
          subscriptionId: subscription.subscriptionId,
          reason: result.reason,
        });
        return "left-due";
      case "rate_limited":
        this.report(subscription.subscriptionId, "rate_limited", result.record);
        return "left-due";
      case "settled":
        this.report(subscription.subscriptionId, result.outcome, result.record);
        if (result.outcome === "in_doubt") return "left-due";
        if (result.advancedTo === null || result.advancedTo > this.request.asOf) return "done";
        return "next-period";
    }
  }

  private renewalContext(): RenewalContext {
    const { deps } = this;
    return {
      token: this.heartbeat.current,
      ledger: deps.ledger,
      gateway: deps.gateway,
      clock: deps.clock,
      retrySchedule: deps.settings.retrySchedule,
      guard: () => this.sendGuard(),
    };
  }

  private count(kind: keyof Tally): "done" {
    this.tally[kind] += 1;
    return "done";
  }

  private report(subscriptionId: string, outcome: ChargeOutcomeKind, record: ChargeRecord): void {
    this.tally[outcome] += 1;
    if (outcome === "succeeded")
      this.charged[record.currency] = (this.charged[record.currency] ?? 0) + record.amount;
    this.deps.observe({
      type: "charge",
      shard: this.shard,
      fence: this.heartbeat.current.fence,
      subscriptionId,
      periodStart: record.periodStart,
      outcome,
      amount: record.amount,
      currency: record.currency,
      paymentIntentId: record.paymentIntentId ?? null,
      ...(record.state === "declined" && { detail: record.declineCode ?? record.code }),
      ...(record.state === "in_doubt" && { detail: record.reason }),
      ...(record.state === "quarantined" && { detail: record.reason }),
    });
  }

  /** A record that cannot be billed as it stands leaves billing with a reason; the run goes on. */
  private async quarantine(
    raw: Readonly<Record<string, unknown>> | null,
    subscriptionId: string,
    reason: string,
    field: string,
  ): Promise<Processed> {
    const { deps } = this;
    const outcome = await quarantineInvalid(deps.ledger, this.heartbeat.current, deps.clock, {
      subscriptionId,
      raw,
      reason,
      field,
    });
    if (outcome.kind === "fenced-out") {
      this.fencedOut = true;
      return "left-due";
    }
    if (outcome.kind === "gone") return this.count("skipped");
    this.tally.quarantined += 1;
    deps.observe({
      type: "charge",
      shard: this.shard,
      fence: this.heartbeat.current.fence,
      subscriptionId,
      periodStart: outcome.periodStart,
      outcome: "quarantined",
      amount: outcome.amount,
      currency: outcome.currency,
      paymentIntentId: null,
      detail: outcome.reason,
    });
    return "done";
  }

  /** Only a run that attempted everything due at its asOf is complete; anything else hands over. */
  private async finish(): Promise<ShardReport> {
    const targeted = this.request.subscriptionIds !== undefined || this.request.maxCharges !== undefined;
    if (!this.lost && this.stopReason === null && this.leftDue.size > 0)
      this.stopReason = `${this.leftDue.size} left due (in doubt, rate limited or stopped)`;
    const finished: RunOutcomeKind = targeted ? "targeted" : "complete";
    const outcome = this.lost ? "lost" : this.stopReason === null ? finished : "partial";
    if (outcome !== "lost") await this.release(outcome);
    return {
      shard: this.shard,
      fence: this.acquired.fence,
      outcome,
      stopReason: this.stopReason,
      tally: this.tally,
      charged: this.charged,
      leftDue: this.leftDue.size,
    };
  }

  private async release(outcome: RunOutcomeKind): Promise<void> {
    const { deps, request } = this;
    const released = await deps.lease.release(this.heartbeat.current, {
      runId: request.runId,
      asOf: request.asOf,
      outcome,
      finishedAt: deps.clock.now(),
      summary: { ...this.tally, attempted: this.attempted.size, leftDue: this.leftDue.size },
    });
    const fence = this.heartbeat.current.fence;
    deps.observe(
      released
        ? { type: "lease-released", shard: this.shard, fence, outcome }
        : { type: "lease-lost", shard: this.shard, fence, during: "release" },
    );
  }
}

/**
 * Leading one shard while holding its lease: page through what is due, renew many subscriptions at once
 * under the provider's rate limit, keep the lease alive, save progress on the lease, stop claiming while
 * there is still time to finish what is in flight, and release the lease with the run's outcome.
 */
import type { Clock } from "../clock";
import { hasSafeTime, type HeldLease } from "../lease/lease";
import type { LeaseClient } from "../lease/lease-client";
import { validateSubscription, type Subscription } from "../billing/subscription";
import type { ChargeRecord } from "../billing/charge-state";
import type { PaymentGateway } from "../payments/payment-gateway";
import type { ChargeOutcomeKind, RunObserver } from "./events";
import { Heartbeat } from "./heartbeat";
import type { ChargeLedger, SubscriptionSource } from "./ports";
import { renewSubscription, type RenewalContext } from "./renewal";
import type { RunSettings } from "./run-config";

export interface RunRequest {
  readonly runId: string;
  /** Bill what is due at this instant (ISO-8601, UTC). */
  readonly asOf: string;
  /** Bill only these subscriptions (an operator's rerun), if due. */
  readonly subscriptionIds?: readonly string[];
  /** Claim at most this many renewals in this invocation. */
  readonly maxCharges?: number;
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
}

export type Tally = Record<ChargeOutcomeKind | "skipped", number>;

export interface ShardReport {
  readonly shard: number;
  readonly fence: number;
  /** complete: nothing due left unattempted. partial: stopped early. lost: another contender took over. */
  readonly outcome: "complete" | "partial" | "lost";
  readonly stopReason: string | null;
  readonly tally: Tally;
  /** Minor units charged, per currency. */
  readonly charged: Record<string, number>;
  /** Due subscriptions this leader attempted but left due (in doubt, rate limited). */
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

export async function leadShard(
  deps: LeaderDeps,
  shard: number,
  acquired: HeldLease,
  request: RunRequest,
  claimed: { count: number },
): Promise<ShardReport> {
  const { clock, settings, observe } = deps;
  const tally = emptyTally();
  const charged: Record<string, number> = {};
  let stopReason: string | null = null;
  let fencedOut = false;

  const heartbeat = new Heartbeat(
    deps.lease,
    clock,
    acquired,
    (lease) => observe({ type: "lease-lost", shard, fence: lease.fence, during: "renew" }),
    (lease) => observe({ type: "lease-renewed", shard, fence: lease.fence, expiresAt: lease.expiresAt }),
  );

  /** May this leader start another renewal? Sets stopReason when the answer becomes no. */
  const mayStart = async (): Promise<boolean> => {
    if (stopReason !== null) return false;
    if (heartbeat.lost || fencedOut) stopReason = "lease lost";
    else if (deps.remainingMs() < settings.stopClaimingMarginMs) {
      stopReason = "time budget";
      observe({ type: "budget-exhausted", shard, remainingMs: deps.remainingMs() });
    } else if (request.maxCharges !== undefined && claimed.count >= request.maxCharges)
      stopReason = "maxCharges reached";
    else if (!hasSafeTime(heartbeat.current, clock.now(), deps.lease.timings.safetyMarginMs)) {
      // Renewals are late: renew now rather than start work we may not finish under this lease.
      if (!(await heartbeat.renewNow())) stopReason = "lease lost";
      else if (!hasSafeTime(heartbeat.current, clock.now(), deps.lease.timings.safetyMarginMs))
        stopReason = "lease safe time ran out";
    }
    return stopReason === null;
  };

  const renewalContext = (): RenewalContext => ({
    token: heartbeat.current,
    ledger: deps.ledger,
    gateway: deps.gateway,
    clock,
    retrySchedule: settings.retrySchedule,
  });

  const processOne = async (subscriptionId: string): Promise<"left-due" | "done"> => {
    let raw = await deps.source.getSubscription(subscriptionId);
    for (let period = 0; period < settings.maxPeriodsPerSubscription; period++) {
      if (raw === null) return count("skipped");
      const checked = validateSubscription(raw);
      if (!checked.ok) {
        if (raw.status !== "active" || raw.dueShard === undefined) return count("skipped");
        return quarantineInvalid(raw, checked.reason, checked.field);
      }
      const subscription = checked.subscription;
      if (!isDue(subscription, shard, request.asOf)) return count("skipped");
      if (period === 0) claimed.count += 1;

      const result = await renewSubscription(renewalContext(), subscription, request.asOf);
      switch (result.kind) {
        case "fenced-out":
          fencedOut = true;
          observe({
            type: "fenced-out",
            shard,
            fence: heartbeat.current.fence,
            step: result.step,
            subscriptionId,
          });
          return "left-due";
        case "skipped":
          return count("skipped");
        case "rate_limited":
          report(subscription, "rate_limited", result.record);
          return "left-due";
        case "settled":
          report(subscription, result.outcome, result.record);
          if (result.outcome === "in_doubt") return "left-due";
          if (result.advancedTo === null || result.advancedTo > request.asOf) return "done";
          // Catch-up: the next period is due too. Bill it now, oldest first (docs/billing-policy.md).
          raw = await deps.source.getSubscription(subscriptionId);
      }
    }
    return "done";
  };

  const count = (kind: keyof Tally): "done" => {
    tally[kind] += 1;
    return "done";
  };

  const report = (subscription: Subscription, outcome: ChargeOutcomeKind, record: ChargeRecord) => {
    tally[outcome] += 1;
    if (outcome === "succeeded") charged[record.currency] = (charged[record.currency] ?? 0) + record.amount;
    observe({
      type: "charge",
      shard,
      fence: heartbeat.current.fence,
      subscriptionId: subscription.subscriptionId,
      periodStart: record.periodStart,
      outcome,
      amount: record.amount,
      currency: record.currency,
      paymentIntentId: record.paymentIntentId ?? null,
      ...(record.state === "declined" && { detail: record.declineCode ?? record.code }),
      ...(record.state === "in_doubt" && { detail: record.reason }),
      ...(record.state === "quarantined" && { detail: record.reason }),
    });
  };

  /** A record that fails validation leaves billing with a reason; the run goes on. */
  const quarantineInvalid = async (raw: Record<string, unknown>, reason: string, field: string) => {
    const now = new Date(clock.now()).toISOString();
    const record = {
      state: "quarantined",
      reason,
      field,
      subscriptionId: String(raw.subscriptionId),
      periodStart: typeof raw.nextPeriodStart === "string" ? raw.nextPeriodStart : "invalid-period",
      customerId: typeof raw.customerId === "string" ? raw.customerId : "",
      paymentMethodId: typeof raw.paymentMethodId === "string" ? raw.paymentMethodId : "",
      amount: typeof raw.amount === "number" ? raw.amount : 0,
      currency: typeof raw.currency === "string" ? raw.currency : "",
      idempotencyKey: "",
      createGeneration: 0,
      confirmAttempt: 0,
      attempts: 0,
      fence: heartbeat.current.fence,
      version: 1,
      createdAt: now,
      updatedAt: now,
    } as ChargeRecord;
    const saved = await deps.ledger.saveCharge(heartbeat.current, record, null, {
      kind: "quarantine-invalid",
      subscriptionId: record.subscriptionId,
      reason,
    });
    if (!saved.ok) {
      if (saved.reason === "fenced-out") fencedOut = true;
      return count("skipped");
    }
    tally.quarantined += 1;
    observe({
      type: "charge",
      shard,
      fence: heartbeat.current.fence,
      subscriptionId: record.subscriptionId,
      periodStart: record.periodStart,
      outcome: "quarantined",
      amount: record.amount,
      currency: record.currency,
      paymentIntentId: null,
      detail: reason,
    });
    return "done" as const;
  };

  const attempted = new Set<string>();
  const leftDue = new Set<string>();
  try {
    if (request.subscriptionIds) {
      await runPool(request.subscriptionIds, settings.concurrency, mayStart, async (id) => {
        attempted.add(id);
        if ((await processOne(id)) === "left-due") leftDue.add(id);
      });
    } else {
      // Page through the due index; then look again from the start until a pass finds nothing new (the
      // index may lag writes, and nothing due may be left unattempted).
      for (let fresh = true; fresh && stopReason === null;) {
        fresh = false;
        let cursor: string | null = null;
        do {
          if (!(await mayStart())) break;
          const page = await deps.source.queryDue(shard, request.asOf, settings.pageSize, cursor);
          cursor = page.cursor;
          const ids = page.items.map((item) => item.subscriptionId).filter((id) => !attempted.has(id));
          if (ids.length > 0) fresh = true;
          await runPool(ids, settings.concurrency, mayStart, async (id) => {
            attempted.add(id);
            if ((await processOne(id)) === "left-due") leftDue.add(id);
          });
          if (!heartbeat.lost && !fencedOut) {
            await deps.lease.saveCheckpoint(heartbeat.current, {
              runId: request.runId,
              asOf: request.asOf,
              progress: { attempted: attempted.size, ...tally },
            });
          }
        } while (cursor !== null);
      }
    }
  } finally {
    await heartbeat.stop();
  }

  const lost = heartbeat.lost || fencedOut;
  // Complete only when nothing due is left: charges left in doubt or rate limited make the run partial,
  // so a standby (or the next rerun at the same asOf) takes over and tries them again.
  if (!lost && stopReason === null && leftDue.size > 0)
    stopReason = `${leftDue.size} left due (in doubt or rate limited)`;
  const outcome = lost ? "lost" : stopReason === null ? "complete" : "partial";
  if (!lost) {
    const released = await deps.lease.release(heartbeat.current, {
      runId: request.runId,
      asOf: request.asOf,
      outcome: outcome === "complete" ? "complete" : "partial",
      finishedAt: clock.now(),
      summary: { ...tally, attempted: attempted.size, leftDue: leftDue.size },
    });
    if (released) {
      observe({
        type: "lease-released",
        shard,
        fence: heartbeat.current.fence,
        outcome: outcome === "complete" ? "complete" : "partial",
      });
    } else {
      observe({ type: "lease-lost", shard, fence: heartbeat.current.fence, during: "release" });
    }
  }
  return { shard, fence: acquired.fence, outcome, stopReason, tally, charged, leftDue: leftDue.size };
}

function isDue(subscription: Subscription, shard: number, asOf: string): boolean {
  return (
    subscription.status === "active" && subscription.shard === shard && subscription.nextAttemptAt <= asOf
  );
}

/** Runs `work` over `items` with at most `concurrency` at once, starting each only if `mayStart()` says so. */
async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  mayStart: () => Promise<boolean>,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      if (!(await mayStart())) return;
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

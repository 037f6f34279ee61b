/**
 * Two sweeps, run by the leader of the sweeping shard (the lowest billable one) after it billed, under
 * its lease, a bounded amount per run, resuming where the last run stopped:
 *
 * - Reachability: a scan of the subscriptions. A record meant for billing that no run would find where
 *   it is (bad data, an index key that does not match its shard, a shard no run bills) is quarantined
 *   with the reason. Nothing meant for billing is skipped in silence; the count is a metric with an alarm.
 * - Stray PaymentIntents: the job's PaymentIntents created since the last sweep. One that is not the
 *   ledger's for its period (a late create from a paused process, a superseded generation) is canceled,
 *   so nobody can ever confirm it and it does not sit in the dashboard as an incomplete payment.
 */
import { validateSubscription, dueShardKey, looksActive } from "../billing/subscription";
import type { ChargeRecord } from "../billing/charge-state";
import { cancelKeyFor } from "../billing/idempotency";
import type { HeldLease, SweepProgress } from "../lease/lease";
import {
  createGenerationOf,
  type PaymentGateway,
  type PaymentIntentView,
  type SendGuard,
} from "../payments/payment-gateway";
import type { Clock } from "../clock";
import { UnreadableRecordError, type ChargeLedger, type SubscriptionSource } from "./ports";
import { quarantineInvalid } from "./quarantine";

export interface SweepDeps {
  readonly source: SubscriptionSource;
  readonly ledger: ChargeLedger;
  readonly gateway: PaymentGateway;
  readonly clock: Clock;
}

export interface SweepLimits {
  /** Scan pages (up to 1 MB each) per run. */
  readonly pages: number;
  readonly pageSize: number;
  /** Asked before each page and each write or request: false stops the sweep where it is. */
  readonly mayGoOn: () => Promise<boolean>;
  readonly guard: SendGuard;
}

export interface SweepResult {
  readonly progress: SweepProgress;
  /** Records meant for billing that no run could reach, quarantined by this sweep. */
  readonly unreachable: number;
  readonly strayPaymentIntentsCanceled: number;
}

/** Scan pages per run and their size: about 20,000 records a run, a few seconds of a leader's time. */
export const SWEEP_PAGES_PER_RUN = 20;
export const SWEEP_PAGE_SIZE = 1_000;

/** How far back the first stray sweep looks, and how much the next one overlaps the last (clock skew). */
const FIRST_LOOKBACK_SECONDS = 2 * 86_400;
const OVERLAP_SECONDS = 3_600;

export async function sweep(
  deps: SweepDeps,
  lease: () => HeldLease,
  billable: readonly number[],
  from: SweepProgress,
  limits: SweepLimits,
): Promise<SweepResult> {
  const reach = await sweepUnreachable(deps, lease, new Set(billable), from.subscriptionsCursor, limits);
  const strays = await sweepStrays(deps, from.paymentIntentsSince, limits);
  return {
    progress: { subscriptionsCursor: reach.cursor, paymentIntentsSince: strays.since },
    unreachable: reach.quarantined,
    strayPaymentIntentsCanceled: strays.canceled,
  };
}

/** Why no run would bill this record where it is, or null if one would (or it is not meant for billing). */
export function unreachable(
  raw: Readonly<Record<string, unknown>>,
  billable: ReadonlySet<number>,
): { readonly reason: string; readonly field: string } | null {
  if (!looksActive(raw)) return null;
  const checked = validateSubscription(raw);
  if (!checked.ok) return { reason: checked.reason, field: checked.field };
  const { shard } = checked.subscription;
  if (raw.dueShard !== dueShardKey(shard)) {
    return {
      field: "dueShard",
      reason: `dueShard does not match shard ${shard} (expected "${dueShardKey(shard)}")`,
    };
  }
  if (!billable.has(shard)) {
    const shards = [...billable].sort((a, b) => a - b).join(", ");
    return { field: "shard", reason: `shard ${shard} is billed by no run (billed shards: ${shards})` };
  }
  return null;
}

async function sweepUnreachable(
  deps: SweepDeps,
  lease: () => HeldLease,
  billable: ReadonlySet<number>,
  start: string | null,
  limits: SweepLimits,
): Promise<{ cursor: string | null; quarantined: number }> {
  let cursor = start;
  let quarantined = 0;
  for (let page = 0; page < limits.pages; page++) {
    if (!(await limits.mayGoOn())) break;
    const read = await deps.source.scanSubscriptions(cursor, limits.pageSize);
    for (const raw of read.items) {
      const problem = unreachable(raw, billable);
      if (problem === null || typeof raw.subscriptionId !== "string") continue;
      if (!(await limits.mayGoOn())) return { cursor, quarantined };
      const done = await quarantineInvalid(deps.ledger, lease(), deps.clock, {
        subscriptionId: raw.subscriptionId,
        raw,
        ...problem,
      });
      if (done.kind === "fenced-out") return { cursor, quarantined };
      if (done.kind === "quarantined") quarantined += 1;
    }
    cursor = read.cursor;
    if (cursor === null) break;
  }
  return { cursor, quarantined };
}

async function sweepStrays(
  deps: SweepDeps,
  since: number | null,
  limits: SweepLimits,
): Promise<{ since: number | null; canceled: number }> {
  const from = since ?? Math.floor(deps.clock.now() / 1000) - FIRST_LOOKBACK_SECONDS;
  if (!(await limits.mayGoOn())) return { since, canceled: 0 };
  const listed = await deps.gateway.listJobPaymentIntents(from, limits.guard);
  if (listed.kind !== "found") return { since, canceled: 0 };
  // One key per sweep run: a saved 500 from an earlier run's cancel must not block this one.
  const attempt = `sweep${Math.floor(deps.clock.now() / 1000)}`;
  let canceled = 0;
  // The next sweep starts no later than the oldest PaymentIntent this one could not settle.
  let unsettledSince = Number.POSITIVE_INFINITY;
  for (const pi of listed.paymentIntents) {
    if (!(await limits.mayGoOn())) return { since, canceled };
    const verdict = await judge(deps.ledger, pi);
    if (verdict === "keep") continue;
    if (verdict === "stray") {
      const outcome = await deps.gateway.cancelPaymentIntent(
        pi.id,
        cancelKeyFor(pi.id, attempt),
        limits.guard,
      );
      if (outcome.kind === "canceled") {
        canceled += 1;
        continue;
      }
    }
    unsettledSince = Math.min(unsettledSince, pi.created);
  }
  const newest = Math.max(from + OVERLAP_SECONDS, ...listed.paymentIntents.map((pi) => pi.created));
  return { since: Math.min(newest, unsettledSince) - OVERLAP_SECONDS, canceled };
}

/**
 * What the sweep does with one of the job's PaymentIntents. A stray is live and not the ledger's for its
 * period: the record names another, or it is of an older create generation, or the period is settled
 * without it. One of the record's own generation with nothing recorded yet may be a create whose id is
 * about to be recorded: it is undecided, left for the period's look-up, and looked at again next sweep.
 */
async function judge(ledger: ChargeLedger, pi: PaymentIntentView): Promise<"keep" | "stray" | "undecided"> {
  if (pi.status === "canceled" || pi.status === "succeeded" || pi.status === "processing") return "keep";
  const subscriptionId = pi.metadata.subscription_id;
  const periodStart = pi.metadata.period_start;
  if (!subscriptionId || !periodStart) return "keep";
  let record: ChargeRecord | null;
  try {
    record = await ledger.getCharge(subscriptionId, periodStart);
  } catch (error) {
    // Its subscription is quarantined when the run reaches it; nothing here can judge it.
    if (error instanceof UnreadableRecordError) return "keep";
    throw error;
  }
  // Every PaymentIntent is created after its claim: no record means a deleted one, reconcile's to report.
  if (record === null) return "keep";
  if (record.paymentIntentId === pi.id) return "keep";
  if (record.paymentIntentId !== undefined) return "stray";
  if (record.state !== "pending" && record.state !== "in_doubt") return "stray";
  return createGenerationOf(pi) < record.createGeneration ? "stray" : "undecided";
}

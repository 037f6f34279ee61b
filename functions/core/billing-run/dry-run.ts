/**
 * A dry run: what a run at `asOf` would do, read-only. No lease is taken (taking it writes), nothing is
 * claimed and no provider request is sent. It decides with the same rules as the real run (`classify`,
 * and the charge record's state as `renewSubscription` reads it), so what it reports is what a run at
 * the same `asOf` would then charge, catch-up periods included.
 */
import { nextPeriodStart } from "../billing/calendar";
import type { ChargeRecord } from "../billing/charge-state";
import type { Subscription } from "../billing/subscription";
import { classify } from "./due";
import { SWEEP_PAGE_SIZE, unreachable } from "./sweeps";
import { UnreadableRecordError, type ChargeLedger, type SubscriptionSource } from "./ports";

export interface DryRunItem {
  readonly subscriptionId: string;
  readonly shard: number | null;
  /** charge: a new charge; resume: a charge already under way; quarantine: bad data; not-due: nothing. */
  readonly action: "charge" | "resume" | "quarantine" | "not-due";
  readonly periodStart: string | null;
  /** Periods a run would try to charge (catch-up included); 0 unless charging or resuming. */
  readonly periods: number;
  readonly amount: number | null;
  readonly currency: string | null;
  readonly note?: string;
}

export interface DryRunReport {
  readonly asOf: string;
  readonly counts: Record<DryRunItem["action"], number>;
  /** Periods the run would try to charge, over all subscriptions. */
  readonly periodsToCharge: number;
  /** The first `listLimit` items; counts cover all. */
  readonly items: readonly DryRunItem[];
}

export interface DryRunOptions {
  readonly subscriptionIds?: readonly string[];
  /**
   * Every shard some run bills. When set (and no ids are named), the dry run also reads the whole
   * table, as the reachability sweep does over several runs, and reports what it would quarantine.
   */
  readonly billableShards?: readonly number[];
  /** Periods billed per subscription in one run (RunSettings.maxPeriodsPerSubscription). */
  readonly maxPeriods: number;
  readonly listLimit?: number;
}

export async function dryRun(
  source: SubscriptionSource,
  ledger: ChargeLedger,
  shards: readonly number[],
  asOf: string,
  options: DryRunOptions,
): Promise<DryRunReport> {
  const counts: DryRunReport["counts"] = { charge: 0, resume: 0, quarantine: 0, "not-due": 0 };
  const items: DryRunItem[] = [];
  let periodsToCharge = 0;
  const quarantined = new Set<string>();
  const listLimit = options.listLimit ?? 200;
  const consider = async (subscriptionId: string, shard: number) => {
    const item = await inspect(source, ledger, subscriptionId, shard, asOf, options.maxPeriods);
    counts[item.action] += 1;
    periodsToCharge += item.periods;
    if (item.action === "quarantine") quarantined.add(item.subscriptionId);
    if (items.length < listLimit) items.push(item);
  };
  for (const shard of new Set(shards)) {
    if (options.subscriptionIds) {
      for (const id of new Set(options.subscriptionIds)) await consider(id, shard);
      continue;
    }
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await source.queryDue(shard, asOf, 100, cursor);
      for (const due of page.items) {
        if (!seen.has(due.subscriptionId)) await consider(due.subscriptionId, shard);
        seen.add(due.subscriptionId);
      }
      cursor = page.cursor;
    } while (cursor !== null);
  }
  if (options.billableShards && !options.subscriptionIds) {
    for (const item of await unreachableItems(source, options.billableShards)) {
      if (quarantined.has(item.subscriptionId)) continue;
      counts.quarantine += 1;
      if (items.length < listLimit) items.push(item);
    }
  }
  return { asOf, counts, periodsToCharge, items: dedupeNotDue(items) };
}

/** What the reachability sweep would quarantine: records meant for billing that no run reaches. */
async function unreachableItems(
  source: SubscriptionSource,
  billable: readonly number[],
): Promise<DryRunItem[]> {
  const found: DryRunItem[] = [];
  const shards = new Set(billable);
  let cursor: string | null = null;
  do {
    const page = await source.scanSubscriptions(cursor, SWEEP_PAGE_SIZE);
    for (const raw of page.items) {
      const problem = unreachable(raw, shards);
      if (problem === null || typeof raw.subscriptionId !== "string") continue;
      found.push({
        subscriptionId: raw.subscriptionId,
        shard: typeof raw.shard === "number" ? raw.shard : null,
        action: "quarantine",
        periodStart: null,
        periods: 0,
        amount: null,
        currency: null,
        note: `unreachable: ${problem.reason}`,
      });
    }
    cursor = page.cursor;
  } while (cursor !== null);
  return found;
}

/** A named subscription is looked at once per shard; only the shard that bills it says more than not-due. */
function dedupeNotDue(items: readonly DryRunItem[]): DryRunItem[] {
  const acted = new Set(items.filter((i) => i.action !== "not-due").map((i) => i.subscriptionId));
  const seen = new Set<string>();
  return items.filter((item) => {
    if (item.action === "not-due" && (acted.has(item.subscriptionId) || seen.has(item.subscriptionId)))
      return false;
    seen.add(item.subscriptionId);
    return true;
  });
}

async function inspect(
  source: SubscriptionSource,
  ledger: ChargeLedger,
  subscriptionId: string,
  shard: number,
  asOf: string,
  maxPeriods: number,
): Promise<DryRunItem> {
  const raw = await source.getSubscription(subscriptionId);
  const due = classify(raw, shard, asOf);
  const nothing = { subscriptionId, shard, periodStart: null, periods: 0, amount: null, currency: null };
  if (due.kind === "invalid") return { ...nothing, action: "quarantine", note: due.reason };
  if (due.kind === "not-due") return { ...nothing, action: "not-due", note: due.reason };
  const s = due.subscription;
  const base = {
    subscriptionId,
    shard,
    periodStart: s.nextPeriodStart,
    amount: s.amount,
    currency: s.currency,
  };
  let existing: ChargeRecord | null;
  try {
    existing = await ledger.getCharge(s.subscriptionId, s.nextPeriodStart);
  } catch (error) {
    if (!(error instanceof UnreadableRecordError)) throw error;
    return { ...base, action: "quarantine", periods: 0, note: error.message };
  }
  if (existing === null) return { ...base, action: "charge", periods: periodsDue(s, asOf, maxPeriods) };
  const later = periodsDue({ ...s, nextPeriodStart: following(s) }, asOf, maxPeriods - 1);
  const note = `charge record ${existing.state}`;
  switch (existing.state) {
    case "pending":
    case "in_doubt":
      return { ...base, action: "resume", periods: 1 + later, amount: existing.amount, note };
    case "declined":
      if (existing.retryAt !== null && existing.retryAt <= asOf)
        return { ...base, action: "resume", periods: 1 + later, note: `${note}, retry due` };
      return { ...base, action: "not-due", periods: 0, note };
    case "succeeded":
      // Only after a hand edit: the run repairs the subscription, then bills what follows.
      return { ...base, action: later > 0 ? "charge" : "not-due", periods: later, note };
    case "needs_customer_action":
    case "quarantined":
      return { ...base, action: "not-due", periods: 0, note };
  }
}

/** Periods from the subscription's next one that have started by `asOf`, at most `max`. */
function periodsDue(s: Subscription, asOf: string, max: number): number {
  let count = 0;
  for (let start = s.nextPeriodStart; start <= asOf && count < max; count++) {
    start = nextPeriodStart(start, s.interval, s.anchorDay, s.anchorMonth);
  }
  return count;
}

function following(s: Subscription): string {
  return nextPeriodStart(s.nextPeriodStart, s.interval, s.anchorDay, s.anchorMonth);
}

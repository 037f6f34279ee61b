/**
 * A dry run: what a run at `asOf` would do, read-only. No lease is taken (taking it writes), nothing is
 * claimed and no provider request is sent.
 */
import { validateSubscription } from "../billing/subscription";
import type { ChargeLedger, SubscriptionSource } from "./ports";

export interface DryRunItem {
  readonly subscriptionId: string;
  readonly shard: number | null;
  readonly action: "charge" | "resume" | "quarantine" | "not-due";
  readonly periodStart: string | null;
  readonly amount: number | null;
  readonly currency: string | null;
  readonly note?: string;
}

export interface DryRunReport {
  readonly asOf: string;
  readonly counts: Record<DryRunItem["action"], number>;
  /** The first `listLimit` items; counts cover all. */
  readonly items: readonly DryRunItem[];
}

export async function dryRun(
  source: SubscriptionSource,
  ledger: ChargeLedger,
  shards: readonly number[],
  asOf: string,
  subscriptionIds?: readonly string[],
  listLimit = 200,
): Promise<DryRunReport> {
  const counts: DryRunReport["counts"] = { charge: 0, resume: 0, quarantine: 0, "not-due": 0 };
  const items: DryRunItem[] = [];
  const consider = async (subscriptionId: string) => {
    const item = await inspect(source, ledger, subscriptionId, asOf);
    if (subscriptionIds === undefined && item.shard !== null && !shards.includes(item.shard)) return;
    counts[item.action] += 1;
    if (items.length < listLimit) items.push(item);
  };
  if (subscriptionIds) {
    for (const id of subscriptionIds) await consider(id);
  } else {
    for (const shard of shards) {
      let cursor: string | null = null;
      do {
        const page = await source.queryDue(shard, asOf, 100, cursor);
        for (const due of page.items) await consider(due.subscriptionId);
        cursor = page.cursor;
      } while (cursor !== null);
    }
  }
  return { asOf, counts, items };
}

async function inspect(
  source: SubscriptionSource,
  ledger: ChargeLedger,
  subscriptionId: string,
  asOf: string,
): Promise<DryRunItem> {
  const raw = await source.getSubscription(subscriptionId);
  if (!raw)
    return {
      subscriptionId,
      shard: null,
      action: "not-due",
      periodStart: null,
      amount: null,
      currency: null,
      note: "no such subscription",
    };
  const checked = validateSubscription(raw);
  if (!checked.ok) {
    return {
      subscriptionId,
      shard: typeof raw.shard === "number" ? raw.shard : null,
      action: raw.status === "active" ? "quarantine" : "not-due",
      periodStart: null,
      amount: null,
      currency: null,
      note: checked.reason,
    };
  }
  const s = checked.subscription;
  const base = {
    subscriptionId,
    shard: s.shard,
    periodStart: s.nextPeriodStart,
    amount: s.amount,
    currency: s.currency,
  };
  if (s.status !== "active" || s.nextAttemptAt > asOf) {
    return {
      ...base,
      action: "not-due",
      note: s.status !== "active" ? `status ${s.status}` : `next attempt at ${s.nextAttemptAt}`,
    };
  }
  const existing = await ledger.getCharge(s.subscriptionId, s.nextPeriodStart);
  if (existing)
    return {
      ...base,
      action: "resume",
      amount: existing.amount,
      currency: existing.currency,
      note: `charge record ${existing.state}`,
    };
  return { ...base, action: "charge" };
}

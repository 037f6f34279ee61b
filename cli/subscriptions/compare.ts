/**
 * Whether an import row and the record already stored under its id are the same subscription. The
 * import never changes a stored subscription, so running a file twice loads nothing twice; this decides
 * whether a row that finds its id taken is the same one (nothing to do) or a different one (reported).
 *
 * What the billing run moves on its own is not a difference: the next period start only goes forward
 * as periods are paid, and an `active` row may find the job's past_due, needs_customer_action or
 * quarantined status. The terms (customer, card, amount, currency, calendar) must match exactly, and
 * the shard when the row names one.
 */
import type { StoredSubscription } from "../../functions/core/billing/subscription-changes";

export interface Difference {
  readonly field: string;
  readonly inFile: unknown;
  readonly stored: unknown;
}

const TERMS = ["customerId", "paymentMethodId", "amount", "currency", "interval", "anchorDay"] as const;
const JOB_STATUSES: readonly unknown[] = ["past_due", "needs_customer_action", "quarantined"];

export function differences(
  row: StoredSubscription,
  rowNamesShard: boolean,
  stored: Readonly<Record<string, unknown>>,
): Difference[] {
  const found: Difference[] = [];
  const differ = (field: string, inFile: unknown) => found.push({ field, inFile, stored: stored[field] });
  for (const field of TERMS) if (row[field] !== stored[field]) differ(field, row[field]);
  if (row.interval === "year" && row.anchorMonth !== stored.anchorMonth)
    differ("anchorMonth", row.anchorMonth);
  if (rowNamesShard && row.shard !== stored.shard) differ("shard", row.shard);
  const movedByJob = row.status === "active" && JOB_STATUSES.includes(stored.status);
  if (row.status !== stored.status && !movedByJob) differ("status", row.status);
  const start = stored.nextPeriodStart;
  if (typeof start !== "string" || start < row.nextPeriodStart)
    differ("nextPeriodStart", row.nextPeriodStart);
  return found;
}

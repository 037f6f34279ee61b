/**
 * Quarantining a subscription that cannot be billed as it stands (bad data, an unreadable number, a
 * broken charge record): it leaves the due index with the reason, so it is neither billed nor skipped in
 * silence, and a person sees it. Where its period is readable, a quarantined charge record for that
 * period says so in the ledger as well (ops status lists those); otherwise only the subscription changes.
 */
import type { Clock } from "../clock";
import type { LeaseToken } from "../lease/lease";
import { isCanonicalTimestamp } from "../billing/calendar";
import { quarantinedOnArrival } from "../billing/charge-state";
import { boundedReason } from "../billing/reasons";
import type { ChargeLedger } from "./ports";

export interface InvalidRecord {
  readonly subscriptionId: string;
  /** The record as read, when it could be read. */
  readonly raw: Readonly<Record<string, unknown>> | null;
  readonly reason: string;
  readonly field: string;
}

export type QuarantineOutcome =
  | {
      readonly kind: "quarantined";
      readonly periodStart: string;
      readonly amount: number;
      readonly currency: string;
      readonly reason: string;
    }
  | { readonly kind: "fenced-out" }
  /** Gone or changed since it was read: nothing written; the next run looks again. */
  | { readonly kind: "gone" };

export async function quarantineInvalid(
  ledger: ChargeLedger,
  token: LeaseToken,
  clock: Clock,
  invalid: InvalidRecord,
): Promise<QuarantineOutcome> {
  const reason = boundedReason(invalid.reason);
  const raw = invalid.raw ?? {};
  const periodStart = isCanonicalTimestamp(raw.nextPeriodStart) ? raw.nextPeriodStart : null;
  const shown = {
    periodStart: periodStart ?? "unreadable",
    amount: Number.isSafeInteger(raw.amount) ? Number(raw.amount) : 0,
    currency: typeof raw.currency === "string" ? raw.currency.slice(0, 10) : "",
    reason,
  };
  if (periodStart !== null && invalid.raw !== null) {
    const record = quarantinedOnArrival(
      {
        subscriptionId: invalid.subscriptionId,
        periodStart,
        customerId: text(raw.customerId),
        paymentMethodId: text(raw.paymentMethodId),
        amount: shown.amount,
        currency: shown.currency,
      },
      { reason, field: invalid.field },
      { fence: token.fence, at: new Date(clock.now()).toISOString() },
    );
    const saved = await ledger.saveCharge(token, record, null, {
      kind: "quarantine-invalid",
      subscriptionId: invalid.subscriptionId,
      reason,
      observedUpdatedAt: raw.updatedAt,
    });
    if (saved.ok) return { kind: "quarantined", ...shown };
    if (saved.reason === "fenced-out") return { kind: "fenced-out" };
    // A charge record for the period already exists (the data broke mid-period): subscription only.
    if (saved.current === null) return { kind: "gone" };
  }
  const done = await ledger.quarantineSubscription(token, invalid.subscriptionId, reason, raw.updatedAt);
  if (done.ok) return { kind: "quarantined", ...shown };
  return { kind: done.reason };
}

function text(value: unknown): string {
  return typeof value === "string" ? value.slice(0, 255) : "";
}

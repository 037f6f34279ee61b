/**
 * Whether a stored subscription is due for a run at `asOf` on a shard: one decision shared by the shard
 * leader, the dry run and the reachability sweep, so a dry run reports exactly what the real run does.
 *
 * A record that looks active (any status but a known inactive one) is either due, not yet due, or
 * invalid with a reason and quarantined: nothing meant for billing is skipped in silence.
 */
import { dueShardKey, looksActive, validateSubscription, type Subscription } from "../billing/subscription";

export type DueCheck =
  | { readonly kind: "due"; readonly subscription: Subscription }
  | { readonly kind: "not-due"; readonly reason: string }
  /** Meant for billing but cannot be billed as it stands: quarantine it with this reason. */
  | { readonly kind: "invalid"; readonly reason: string; readonly field: string };

export function classify(
  raw: Readonly<Record<string, unknown>> | null,
  shard: number,
  asOf: string,
): DueCheck {
  if (raw === null) return { kind: "not-due", reason: "no such subscription" };
  const checked = validateSubscription(raw);
  if (!checked.ok) {
    return looksActive(raw)
      ? { kind: "invalid", reason: checked.reason, field: checked.field }
      : {
          kind: "not-due",
          reason: `status ${String(raw.status)}, not billable as stored: ${checked.reason}`,
        };
  }
  const subscription = checked.subscription;
  if (subscription.status !== "active") return { kind: "not-due", reason: `status ${subscription.status}` };
  if (raw.dueShard !== dueShardKey(subscription.shard)) {
    // Out of its shard's due index (or in another's): no run would find it where it belongs.
    return {
      kind: "invalid",
      field: "dueShard",
      reason: `dueShard ${shown(raw.dueShard)} does not match shard ${subscription.shard} (expected "${dueShardKey(subscription.shard)}")`,
    };
  }
  if (subscription.shard !== shard)
    return { kind: "not-due", reason: `billed by shard ${subscription.shard}` };
  // nextAttemptAt is never before nextPeriodStart (validated), so this also means the period has begun.
  if (subscription.nextAttemptAt > asOf || subscription.nextPeriodStart > asOf) {
    return { kind: "not-due", reason: `next attempt at ${subscription.nextAttemptAt}` };
  }
  return { kind: "due", subscription };
}

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value).slice(0, 40);
}

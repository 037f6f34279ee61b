/**
 * The lease: what is stored under a lease key, and the pure rules about it.
 *
 * One lease key per shard. Under it live two records:
 *   - the lease record: who holds it (owner), with which fence, until when (expiresAt, by the acquirer's
 *     clock), plus the run's checkpoint and the last run's outcome. It carries a TTL attribute, so it may
 *     vanish once expired.
 *   - the fence record: only the highest fence ever issued for the key. No TTL, never deleted, so fences
 *     keep increasing after the lease record is gone.
 */
import { InvalidInputError } from "../input-error";

/** Proof of holding a lease: every fenced write is conditioned on exactly this owner and fence. */
export interface LeaseToken {
  readonly leaseKey: string;
  readonly owner: string;
  readonly fence: number;
}

export interface HeldLease extends LeaseToken {
  /** When the lease runs out unless renewed, by the holder's clock. */
  readonly expiresAt: number;
}

export type RunOutcomeKind =
  /** Nothing left due for the run's `asOf`: standbys for the same run may exit. */
  | "complete"
  /** Stopped early (time budget, shutdown): work remains, the next holder resumes. */
  | "partial"
  /** Did what an operator's targeted rerun asked (named subscriptions, a cap): says nothing of the rest. */
  | "targeted";

export interface RunOutcome {
  readonly runId: string;
  readonly asOf: string;
  readonly outcome: RunOutcomeKind;
  readonly finishedAt: number;
  readonly summary?: Record<string, number>;
}

/** Progress of the run in hand, saved on the lease record so a successor resumes the same run. */
export interface Checkpoint {
  readonly runId: string;
  readonly asOf: string;
  readonly savedAt: number;
  readonly progress: Record<string, number>;
}

/** Where the sweeps of the sweeping shard's leader resume (functions/core/billing-run/sweeps.ts). */
export interface SweepProgress {
  /** The scan of subscriptions resumes here; null: from the start. */
  readonly subscriptionsCursor: string | null;
  /** PaymentIntents created at or after this (epoch seconds, Stripe's clock) are looked at next. */
  readonly paymentIntentsSince: number | null;
}

export interface LeaseRecord {
  readonly leaseKey: string;
  /** null once released. */
  readonly owner: string | null;
  readonly fence: number;
  readonly expiresAt: number;
  readonly checkpoint?: Checkpoint;
  readonly lastRun?: RunOutcome;
  readonly sweep?: SweepProgress;
}

/** What a consistent read of a lease key returns. */
export interface LeaseSnapshot {
  readonly lease: LeaseRecord | null;
  /** The fence record's value; 0 if none was ever issued. */
  readonly fenceRecord: number;
}

export interface Holder {
  readonly owner: string;
  readonly fence: number;
  readonly expiresAt: number;
}

/** The holder named on the record other than `owner`, or null (absent, released, or ours). */
export function recordedHolder(snapshot: LeaseSnapshot, owner: string): Holder | null {
  const lease = snapshot.lease;
  if (!lease || lease.owner === null || lease.owner === owner) return null;
  return { owner: lease.owner, fence: lease.fence, expiresAt: lease.expiresAt };
}

/**
 * The fence for the next acquisition: above the fence record and above the lease record's fence (which
 * is never higher, but a hand-edited table should not be able to push fences backwards).
 */
export function nextFence(snapshot: LeaseSnapshot): number {
  return Math.max(snapshot.fenceRecord, snapshot.lease?.fence ?? 0) + 1;
}

/** True while the holder may still start new work: more than the safety margin left on its own clock. */
export function hasSafeTime(lease: HeldLease, now: number, safetyMarginMs: number): boolean {
  return lease.expiresAt - now > safetyMarginMs;
}

/** DynamoDB's TTL works in epoch seconds; the record may be cleaned up this long after it expires. */
export function ttlSeconds(expiresAt: number, graceSeconds: number): number {
  return Math.ceil(expiresAt / 1000) + graceSeconds;
}

const LEASE_KEY = /^[A-Za-z0-9._:#/-]{1,128}$/;
const MAX_OWNER_LENGTH = 256;

export function validateLeaseKey(leaseKey: unknown): string {
  if (typeof leaseKey !== "string" || leaseKey.length === 0) {
    throw new InvalidInputError("leaseKey", "must be a non-empty string");
  }
  if (!LEASE_KEY.test(leaseKey)) {
    throw new InvalidInputError("leaseKey", "must be 1 to 128 characters of letters, digits and . _ : # / -");
  }
  return leaseKey;
}

export function validateOwner(owner: unknown): string {
  if (typeof owner !== "string" || owner.trim().length === 0) {
    throw new InvalidInputError("owner", "must be a non-empty string");
  }
  if (owner.length > MAX_OWNER_LENGTH) {
    throw new InvalidInputError("owner", `must be at most ${MAX_OWNER_LENGTH} characters`);
  }
  return owner;
}

/** The lease key of a shard. One shard by default; several let several leaders bill at once. */
export function shardLeaseKey(shard: number): string {
  return `billing/shard-${shard}`;
}

/** The shard a lease key is for, or null for any other key. */
export function shardOfLeaseKey(leaseKey: string): number | null {
  const match = /^billing\/shard-(\d{1,6})$/.exec(leaseKey);
  return match ? Number(match[1]) : null;
}

/**
 * The shards a run bills: 0..shardCount-1, and every shard that ever had a lease. Lowering SHARD_COUNT
 * therefore never strands the subscriptions of the shards it drops: they are billed until an operator
 * moves them (docs/runbook.md, "Changing SHARD_COUNT").
 */
export function billableShards(shardCount: number, leaseKeys: readonly string[]): number[] {
  const shards = new Set(Array.from({ length: shardCount }, (_, i) => i));
  for (const key of leaseKeys) {
    const shard = shardOfLeaseKey(key);
    if (shard !== null) shards.add(shard);
  }
  return [...shards].sort((a, b) => a - b);
}

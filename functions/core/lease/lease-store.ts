/**
 * The port between the lease protocol and its storage. The DynamoDB adapter (functions/aws/) implements it
 * with conditional writes; every method that changes state is a single conditional request whose
 * condition, not a read in code, decides.
 */
import type {
  Checkpoint,
  HeldLease,
  Holder,
  LeaseSnapshot,
  LeaseToken,
  RunOutcome,
  SweepProgress,
} from "./lease";

export interface AcquireAttempt {
  readonly leaseKey: string;
  readonly owner: string;
  /** The fence record as read; the write succeeds only if it is still exactly this. */
  readonly seenFenceRecord: number;
  readonly fence: number;
  readonly now: number;
  readonly expiresAt: number;
  readonly ttl: number;
  /**
   * The holder the acquirer judged gone (silent for a whole lease), exactly as it read it; null when
   * the lease was free or ours. The write succeeds only if the lease is still free, ours, or exactly this.
   */
  readonly seenHolder: Holder | null;
}

export interface LeaseStore {
  /** A strongly consistent read of both records of the key. */
  read(leaseKey: string): Promise<LeaseSnapshot>;
  /**
   * One atomic write: raises the fence record to `fence` (if it is still `seenFenceRecord`) and takes the
   * lease record (if it is absent, released, expired at `now`, or already ours). False if either failed.
   */
  tryAcquire(attempt: AcquireAttempt): Promise<boolean>;
  /** Extends the lease if `token` still holds it. */
  renew(token: LeaseToken, expiresAt: number, ttl: number): Promise<boolean>;
  /** Gives the lease up and records the run's outcome, if `token` still holds it. */
  release(token: LeaseToken, outcome: RunOutcome, ttl: number): Promise<boolean>;
  saveCheckpoint(token: LeaseToken, checkpoint: Checkpoint): Promise<boolean>;
  /** Records where the sweeps resume, if `token` still holds the lease. */
  saveSweep(token: LeaseToken, sweep: SweepProgress): Promise<boolean>;
  /** Every lease key that ever issued a fence (fence records are never deleted). */
  listLeaseKeys(): Promise<string[]>;
  /**
   * Operator's break-glass: takes the lease from whoever holds it by raising the fence, so the old holder's
   * every later write is rejected. False if the fence record moved since it was read.
   */
  forceRelease(
    leaseKey: string,
    seenFenceRecord: number,
    fence: number,
    by: string,
    now: number,
  ): Promise<boolean>;
}

export type { HeldLease };

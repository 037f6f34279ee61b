/**
 * The lease protocol: acquire, renew, release, inspect, over a LeaseStore. Pure: the clock and the store
 * are injected. See docs/lease-protocol.md for the protocol and why it is safe.
 */
import { MAX_CLOCK_SKEW_MS, type Clock } from "../clock";
import {
  type Checkpoint,
  type HeldLease,
  type Holder,
  type LeaseSnapshot,
  type RunOutcome,
  type SweepProgress,
  recordedHolder,
  nextFence,
  ttlSeconds,
  validateLeaseKey,
  validateOwner,
} from "./lease";
import type { LeaseStore } from "./lease-store";
import { LeaseContentionError } from "./lease-contention-error";
import { type LeaseTimings, validateTimings } from "./lease-timings";

export type AcquireResult =
  | { readonly kind: "acquired"; readonly lease: HeldLease; readonly previous: LeaseSnapshot }
  /** Someone else holds it: who, with which fence, and until when. */
  | { readonly kind: "held"; readonly holder: Holder; readonly snapshot: LeaseSnapshot }
  /** The lease was free, but `unless` said not to take it (e.g. the last run already did the work). */
  | { readonly kind: "not-needed"; readonly reason: string; readonly snapshot: LeaseSnapshot };

/** Losing a write race is normal; retrying a few times settles who won. */
const MAX_ACQUIRE_ATTEMPTS = 8;

export class LeaseClient {
  readonly timings: LeaseTimings;

  /** Each holder this client has seen, as it was recorded, and since when (this client's clock). */
  private readonly sightings = new Map<string, { readonly holder: Holder; readonly since: number }>();
  private readonly skewToleranceMs: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    timings: Partial<LeaseTimings> = {},
    options: { readonly clockSkewToleranceMs?: number } = {},
  ) {
    this.timings = validateTimings(timings);
    this.skewToleranceMs = options.clockSkewToleranceMs ?? MAX_CLOCK_SKEW_MS;
  }

  /**
   * A holder other than `owner` that may still be working, or null if the lease can be taken. Clocks
   * are not compared across machines: a holder is gone once this client has seen its record unchanged
   * (it renews by rewriting `expiresAt`) for a whole lease duration on its own clock, the way the
   * amazon-dynamodb-lock-client decides. A holder whose recorded expiry passed more than the clock skew
   * tolerance ago is gone too, so a run after a crash need not wait a whole lease for a long-dead holder.
   */
  private liveHolder(leaseKey: string, snapshot: LeaseSnapshot, owner: string, now: number): Holder | null {
    const holder = recordedHolder(snapshot, owner);
    if (holder === null) {
      this.sightings.delete(leaseKey);
      return null;
    }
    const seen = this.sightings.get(leaseKey);
    const same =
      seen !== undefined &&
      seen.holder.owner === holder.owner &&
      seen.holder.fence === holder.fence &&
      seen.holder.expiresAt === holder.expiresAt;
    const since = same ? seen.since : now;
    if (!same) this.sightings.set(leaseKey, { holder, since });
    if (now - since >= this.timings.leaseDurationMs) return null;
    if (holder.expiresAt + this.skewToleranceMs <= now) return null;
    return holder;
  }

  /**
   * Takes the lease if it is free, expired or ours; otherwise reports the holder. Each attempt is one
   * conditional write; a lost race re-reads and either finds the winner or tries again.
   */
  async acquire(
    leaseKey: string,
    owner: string,
    unless: (free: LeaseSnapshot, now: number) => string | null = () => null,
  ): Promise<AcquireResult> {
    validateLeaseKey(leaseKey);
    validateOwner(owner);
    for (let attempt = 1; ; attempt++) {
      const snapshot = await this.store.read(leaseKey);
      const now = this.clock.now();
      const holder = this.liveHolder(leaseKey, snapshot, owner, now);
      if (holder) return { kind: "held", holder, snapshot };
      const reason = unless(snapshot, now);
      if (reason !== null) return { kind: "not-needed", reason, snapshot };

      const fence = nextFence(snapshot);
      const expiresAt = now + this.timings.leaseDurationMs;
      const won = await this.store.tryAcquire({
        leaseKey,
        owner,
        seenFenceRecord: snapshot.fenceRecord,
        fence,
        now,
        expiresAt,
        ttl: ttlSeconds(expiresAt, this.timings.ttlGraceSeconds),
        seenHolder: recordedHolder(snapshot, owner),
      });
      if (won) return { kind: "acquired", lease: { leaseKey, owner, fence, expiresAt }, previous: snapshot };
      if (attempt >= MAX_ACQUIRE_ATTEMPTS) {
        const latest = await this.store.read(leaseKey);
        const winner = this.liveHolder(leaseKey, latest, owner, this.clock.now());
        if (winner) return { kind: "held", holder: winner, snapshot: latest };
        throw new LeaseContentionError(leaseKey, attempt, `still contended after ${attempt} attempts`);
      }
      // Spread retries out so contenders that lost together do not collide again.
      await this.clock.sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }

  /** Extends the lease from now. Returns the renewed lease, or null if it was lost (fenced out). */
  async renew(lease: HeldLease): Promise<HeldLease | null> {
    const expiresAt = this.clock.now() + this.timings.leaseDurationMs;
    const renewed = await this.store.renew(
      lease,
      expiresAt,
      ttlSeconds(expiresAt, this.timings.ttlGraceSeconds),
    );
    return renewed ? { ...lease, expiresAt } : null;
  }

  /** Gives the lease up with the run's outcome. False if it had already been lost. */
  async release(lease: HeldLease, outcome: RunOutcome): Promise<boolean> {
    const now = this.clock.now();
    return this.store.release(lease, outcome, ttlSeconds(now, this.timings.ttlGraceSeconds));
  }

  async saveCheckpoint(lease: HeldLease, checkpoint: Omit<Checkpoint, "savedAt">): Promise<boolean> {
    return this.store.saveCheckpoint(lease, { ...checkpoint, savedAt: this.clock.now() });
  }

  async saveSweep(lease: HeldLease, sweep: SweepProgress): Promise<boolean> {
    return this.store.saveSweep(lease, sweep);
  }

  async listLeaseKeys(): Promise<string[]> {
    return this.store.listLeaseKeys();
  }

  async inspect(leaseKey: string): Promise<LeaseSnapshot> {
    return this.store.read(validateLeaseKey(leaseKey));
  }

  /**
   * Breaks a lease held by a stuck or unknown holder: raises the fence, so the old holder is fenced out of
   * every later write. Returns the fence it was raised to.
   */
  async forceRelease(leaseKey: string, by: string): Promise<{ previous: LeaseSnapshot; fence: number }> {
    validateLeaseKey(leaseKey);
    validateOwner(by);
    for (let attempt = 1; attempt <= MAX_ACQUIRE_ATTEMPTS; attempt++) {
      const previous = await this.store.read(leaseKey);
      const fence = nextFence(previous);
      if (await this.store.forceRelease(leaseKey, previous.fenceRecord, fence, by, this.clock.now())) {
        return { previous, fence };
      }
    }
    throw new LeaseContentionError(leaseKey, MAX_ACQUIRE_ATTEMPTS, "fence kept moving; try again");
  }
}

/**
 * Keeps a held lease alive while the leader works: renews every renewIntervalMs. The first refused
 * renewal means another contender holds the lease now; from then on `lost` is true and the leader starts
 * nothing new (anything it still writes is fenced out anyway).
 */
import type { Clock } from "../clock";
import type { HeldLease } from "../lease/lease";
import type { LeaseClient } from "../lease/lease-client";

export class Heartbeat {
  private lease: HeldLease;
  private lostFlag = false;
  private readonly stopping = new AbortController();
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: LeaseClient,
    private readonly clock: Clock,
    lease: HeldLease,
    private readonly onLost: (lease: HeldLease) => void,
    private readonly onRenewed: (lease: HeldLease) => void = () => undefined,
  ) {
    this.lease = lease;
    this.loop = this.run();
  }

  get current(): HeldLease {
    return this.lease;
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  /** Renews now rather than at the next beat; false if the lease is gone. */
  async renewNow(): Promise<boolean> {
    if (this.lostFlag) return false;
    try {
      const renewed = await this.client.renew(this.lease);
      if (renewed) {
        this.lease = renewed;
        this.onRenewed(renewed);
        return true;
      }
      this.markLost();
      return false;
    } catch {
      // A transient error is not a loss: the safe time shrinks on its own if it persists.
      return !this.lostFlag;
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private markLost(): void {
    if (this.lostFlag) return;
    this.lostFlag = true;
    this.onLost(this.lease);
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted && !this.lostFlag) {
      await this.clock.sleep(this.client.timings.renewIntervalMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      await this.renewNow();
    }
  }
}

/**
 * Requests held by a `hold` fault (faults.ts): a POST that a client built and "sent" while its process was
 * paused, so that Stripe sees it only when the process wakes. It waits here, unexecuted, with nothing
 * looked up or claimed, until it is released: by `release` (the admin API), or by itself once the
 * emulator clock is `releaseAfterMs` past the moment it was held (a clock jump counts). Then it goes
 * through the pipeline as if it had just arrived: if its idempotency key has expired meanwhile, it
 * executes as a new request. `discard` (and reset, stop) drops it without executing: the process died
 * with it.
 */
import type { EmulatorClock } from "./clock";

export interface HeldRequestSummary {
  readonly id: number;
  readonly apiKey: string;
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
  /** The PaymentIntent it concerns (the one in its path), if any. */
  readonly paymentIntent: string | null;
  /** The PaymentIntent's metadata, or a create's `metadata` parameters: which period it is about. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Emulator clock, ms. */
  readonly heldAt: number;
  /** Emulator clock, ms, at which it releases itself; null: only when released by hand. */
  readonly releaseAt: number | null;
}

export type HeldFate = "execute" | "discard";

export interface HeldFilter {
  readonly id?: number;
  readonly apiKey?: string;
  /** Exact path. */
  readonly path?: string;
}

/** setTimeout's longest delay; longer holds are released by clock moves (or by hand). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Held {
  readonly summary: HeldRequestSummary;
  readonly settle: (fate: HeldFate) => void;
  readonly timer: NodeJS.Timeout | null;
}

export class HeldRequests {
  private held: Held[] = [];
  private nextId = 1;

  constructor(private readonly clock: EmulatorClock) {}

  /** Holds a request; resolves with what to do with it once released. */
  hold(
    request: Omit<HeldRequestSummary, "id" | "heldAt" | "releaseAt">,
    releaseAfterMs: number | null,
  ): Promise<HeldFate> {
    const heldAt = this.clock.now();
    const releaseAt = releaseAfterMs === null ? null : heldAt + releaseAfterMs;
    const summary: HeldRequestSummary = { ...request, id: this.nextId++, heldAt, releaseAt };
    return new Promise((resolve) => {
      // Real time may carry the clock there too; unref'd, so a held request keeps no process alive.
      const timer =
        releaseAfterMs === null
          ? null
          : setTimeout(() => this.releaseDue(), Math.min(releaseAfterMs + 1, MAX_TIMER_MS)).unref();
      this.held.push({ summary, settle: resolve, timer });
    });
  }

  list(): HeldRequestSummary[] {
    return this.held.map((h) => structuredClone(h.summary));
  }

  get size(): number {
    return this.held.length;
  }

  /** Lets the matching held requests go on, oldest first; returns how many. */
  release(filter: HeldFilter = {}): number {
    return this.settle((h) => matches(h.summary, filter), "execute");
  }

  /** Drops the matching held requests without executing them; returns how many. */
  discard(filter: HeldFilter = {}): number {
    return this.settle((h) => matches(h.summary, filter), "discard");
  }

  /** Releases those whose time on the emulator clock has come (call after the clock moves). */
  releaseDue(): number {
    const now = this.clock.now();
    return this.settle((h) => h.summary.releaseAt !== null && h.summary.releaseAt <= now, "execute");
  }

  private settle(which: (h: Held) => boolean, fate: HeldFate): number {
    const chosen = this.held.filter(which);
    this.held = this.held.filter((h) => !chosen.includes(h));
    for (const h of chosen) {
      if (h.timer) clearTimeout(h.timer);
      h.settle(fate);
    }
    return chosen.length;
  }
}

function matches(summary: HeldRequestSummary, filter: HeldFilter): boolean {
  return (
    (filter.id === undefined || summary.id === filter.id) &&
    (filter.apiKey === undefined || summary.apiKey === filter.apiKey) &&
    (filter.path === undefined || summary.path === filter.path)
  );
}

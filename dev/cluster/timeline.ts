/**
 * A timeline of a cluster run, in the spirit of Jepsen's: what each contender did and when (lease
 * acquisitions with their fences, takeovers, renewals, losses, fenced-out writes, charges), what was done
 * to it (SIGKILL, SIGSTOP, SIGCONT), when it started and ended, and how much work was left. Times are
 * milliseconds since the recorder started, on the runner's monotonic clock, whatever a contender's own
 * (possibly skewed) clock said.
 *
 * Derived views (lease intervals, takeovers, pauses) are what the live view, the summary and the HTML
 * report draw; the raw entries are kept too, so the chaos suite can assert on them.
 */
import type { ChargeOutcomeKind, RunEvent } from "../../functions/core/billing-run/events";
import type { RunFinished } from "./log-lines";

export type Signal = "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM";

export type TimelineEntry =
  | {
      readonly at: number;
      readonly kind: "spawn";
      readonly contender: string;
      readonly round: number;
      readonly pid: number;
      readonly requestId: string;
      readonly clockOffsetMs: number;
    }
  | { readonly at: number; readonly kind: "event"; readonly contender: string; readonly event: RunEvent }
  | {
      readonly at: number;
      readonly kind: "signal";
      readonly contender: string;
      readonly signal: Signal;
      readonly reason: string;
    }
  | {
      readonly at: number;
      readonly kind: "exit";
      readonly contender: string;
      readonly code: number | null;
      readonly signal: string | null;
      readonly timedOut: boolean;
    }
  | {
      readonly at: number;
      readonly kind: "finished";
      readonly contender: string;
      readonly finished: RunFinished;
    }
  | { readonly at: number; readonly kind: "failed"; readonly contender: string; readonly error: string }
  /** The contender invoked its run's next continuation link (`sent`), or the Invoke failed. */
  | {
      readonly at: number;
      readonly kind: "continuation";
      readonly contender: string;
      readonly link: number;
      readonly sent: boolean;
      readonly error: string | null;
    }
  | { readonly at: number; readonly kind: "round"; readonly round: number; readonly asOf: string }
  | { readonly at: number; readonly kind: "due"; readonly left: number }
  | { readonly at: number; readonly kind: "note"; readonly text: string };

export interface ContenderInfo {
  readonly label: string;
  readonly round: number;
  readonly pid: number;
  readonly requestId: string;
  readonly clockOffsetMs: number;
  readonly spawnedAt: number;
  readonly exitedAt: number | null;
  readonly exit: { code: number | null; signal: string | null; timedOut: boolean } | null;
}

export type LeaseEnd = "released-complete" | "released-partial" | "lost" | "killed" | "exited" | "open";

/** One contender's tenure on one shard's lease, as that contender saw it. */
export interface LeaseInterval {
  readonly contender: string;
  readonly shard: number;
  readonly fence: number;
  readonly from: number;
  readonly to: number | null;
  readonly end: LeaseEnd;
  /** The contender whose expired lease this one replaced, if any (a takeover). */
  readonly tookOverFrom: string | null;
  /** The owner id the handler reported for that predecessor. */
  readonly tookOverFromOwner: string | null;
  /**
   * When the lease expired by its last renewal the holder logged (on the recorder's clock). A holder
   * still in office after this (paused, stalled) only believed it held the lease. Null before any renewal.
   */
  readonly expiredAt: number | null;
}

export interface Takeover {
  readonly at: number;
  readonly shard: number;
  readonly from: string | null;
  readonly fromFence: number | null;
  readonly to: string;
  readonly toFence: number;
}

export interface PauseInterval {
  readonly contender: string;
  readonly from: number;
  readonly to: number | null;
}

export interface ChargePoint {
  readonly at: number;
  readonly contender: string;
  readonly shard: number;
  readonly fence: number;
  readonly subscriptionId: string;
  readonly periodStart: string;
  readonly outcome: ChargeOutcomeKind;
  readonly amount: number;
  readonly currency: string;
}

export class Timeline {
  readonly startedAtEpochMs = Date.now();
  private readonly origin = performance.now();
  private readonly list: TimelineEntry[] = [];
  private readonly owners = new Map<string, string>();

  /** Milliseconds since the recorder started. */
  now(): number {
    return Math.round(performance.now() - this.origin);
  }

  get entries(): readonly TimelineEntry[] {
    return this.list;
  }

  record(entry: TimelineEntry): void {
    this.list.push(entry);
  }

  /** Tells the recorder which contender an owner id (or request id, its prefix) belongs to. */
  nameOwner(owner: string, contender: string): void {
    this.owners.set(owner, contender);
    const requestId = owner.split("/")[0];
    if (requestId) this.owners.set(requestId, contender);
  }

  /** The contender label for an owner id the handler printed, or the id itself if unknown. */
  contenderOf(owner: string | null | undefined): string | null {
    if (owner === null || owner === undefined) return null;
    return this.owners.get(owner) ?? this.owners.get(owner.split("/")[0] ?? "") ?? owner;
  }

  contenders(): ContenderInfo[] {
    const byLabel = new Map<string, ContenderInfo>();
    for (const e of this.list) {
      if (e.kind === "spawn") {
        byLabel.set(e.contender, {
          label: e.contender,
          round: e.round,
          pid: e.pid,
          requestId: e.requestId,
          clockOffsetMs: e.clockOffsetMs,
          spawnedAt: e.at,
          exitedAt: null,
          exit: null,
        });
      } else if (e.kind === "exit") {
        const info = byLabel.get(e.contender);
        if (info)
          byLabel.set(e.contender, {
            ...info,
            exitedAt: e.at,
            exit: { code: e.code, signal: e.signal, timedOut: e.timedOut },
          });
      }
    }
    return [...byLabel.values()];
  }

  /** Every tenure, in order of acquisition. */
  leaseIntervals(): LeaseInterval[] {
    const open = new Map<string, { interval: LeaseInterval; index: number }>();
    const out: LeaseInterval[] = [];
    const close = (contender: string, shard: number, at: number, end: LeaseEnd) => {
      const key = `${contender}#${shard}`;
      const current = open.get(key);
      if (!current) return;
      out[current.index] = { ...current.interval, to: at, end };
      open.delete(key);
    };
    const killed = new Set<string>();
    const offsets = new Map<string, number>();
    for (const e of this.list) {
      if (e.kind === "spawn") offsets.set(e.contender, e.clockOffsetMs);
      if (e.kind === "event") {
        const ev = e.event;
        if (ev.type === "lease-acquired") {
          close(e.contender, ev.shard, e.at, "exited");
          const interval: LeaseInterval = {
            contender: e.contender,
            shard: ev.shard,
            fence: ev.fence,
            from: e.at,
            to: null,
            end: "open",
            tookOverFrom: this.contenderOf(ev.tookOverFrom),
            tookOverFromOwner: ev.tookOverFrom ?? null,
            expiredAt: null,
          };
          open.set(`${e.contender}#${ev.shard}`, { interval, index: out.length });
          out.push(interval);
        } else if (ev.type === "lease-released") {
          close(
            e.contender,
            ev.shard,
            e.at,
            ev.outcome === "complete" ? "released-complete" : "released-partial",
          );
        } else if (ev.type === "lease-lost") {
          close(e.contender, ev.shard, e.at, "lost");
        } else if (ev.type === "lease-renewed") {
          const current = open.get(`${e.contender}#${ev.shard}`);
          if (current && current.interval.fence === ev.fence) {
            // expiresAt is on the contender's (possibly skewed) wall clock.
            const at = ev.expiresAt - (offsets.get(e.contender) ?? 0) - this.startedAtEpochMs;
            current.interval = { ...current.interval, expiredAt: Math.round(at) };
            out[current.index] = current.interval;
          }
        }
      } else if (e.kind === "signal" && e.signal === "SIGKILL") {
        killed.add(e.contender);
      } else if (e.kind === "exit") {
        const end: LeaseEnd = killed.has(e.contender) || e.signal === "SIGKILL" ? "killed" : "exited";
        for (const key of [...open.keys()]) {
          if (key.startsWith(`${e.contender}#`)) close(e.contender, Number(key.split("#")[1]), e.at, end);
        }
      }
    }
    // The handler names the previous owner from a read made just before its acquire; if that owner
    // released in between (a benign race), this was a plain acquisition after a release, not a takeover.
    return out.map((i) => {
      if (i.tookOverFromOwner === null) return i;
      const previous = predecessor(out, i);
      const released = previous?.end.startsWith("released") && previous.to !== null && previous.to <= i.from;
      return released ? { ...i, tookOverFrom: null, tookOverFromOwner: null } : i;
    });
  }

  /** Acquisitions that replaced another contender's unreleased lease (it expired: the holder died or stalled). */
  takeovers(): Takeover[] {
    const intervals = this.leaseIntervals();
    return intervals
      .filter((i) => i.tookOverFromOwner !== null)
      .map((i) => {
        const previous = predecessor(intervals, i);
        return {
          at: i.from,
          shard: i.shard,
          from: i.tookOverFrom,
          fromFence: previous?.fence ?? null,
          to: i.contender,
          toFence: i.fence,
        };
      });
  }

  /** When each contender's handler first spoke (after its cold start), by label. */
  firstActivity(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.list) {
      if ((e.kind === "event" || e.kind === "finished" || e.kind === "failed") && !out.has(e.contender)) {
        out.set(e.contender, e.at);
      }
    }
    return out;
  }

  pauses(): PauseInterval[] {
    const out: PauseInterval[] = [];
    const open = new Map<string, number>();
    for (const e of this.list) {
      if (e.kind === "signal" && e.signal === "SIGSTOP") open.set(e.contender, e.at);
      const ends = (e.kind === "signal" && e.signal === "SIGCONT") || e.kind === "exit";
      if (ends && open.has(e.contender)) {
        out.push({ contender: e.contender, from: open.get(e.contender)!, to: e.at });
        open.delete(e.contender);
      }
    }
    for (const [contender, from] of open) out.push({ contender, from, to: null });
    return out;
  }

  charges(): ChargePoint[] {
    const out: ChargePoint[] = [];
    for (const e of this.list) {
      if (e.kind !== "event" || e.event.type !== "charge") continue;
      const c = e.event;
      out.push({
        at: e.at,
        contender: e.contender,
        shard: c.shard,
        fence: c.fence,
        subscriptionId: c.subscriptionId,
        periodStart: c.periodStart,
        outcome: c.outcome,
        amount: c.amount,
        currency: c.currency,
      });
    }
    return out;
  }

  /** Events of one type, with the contender and time they came from. */
  eventsOf<T extends RunEvent["type"]>(
    type: T,
  ): { at: number; contender: string; event: Extract<RunEvent, { type: T }> }[] {
    const out: { at: number; contender: string; event: Extract<RunEvent, { type: T }> }[] = [];
    for (const e of this.list) {
      if (e.kind === "event" && e.event.type === type) {
        out.push({ at: e.at, contender: e.contender, event: e.event as Extract<RunEvent, { type: T }> });
      }
    }
    return out;
  }

  signals(): Extract<TimelineEntry, { kind: "signal" }>[] {
    return this.list.filter((e): e is Extract<TimelineEntry, { kind: "signal" }> => e.kind === "signal");
  }

  continuations(): Extract<TimelineEntry, { kind: "continuation" }>[] {
    return this.list.filter(
      (e): e is Extract<TimelineEntry, { kind: "continuation" }> => e.kind === "continuation",
    );
  }

  /** Samples of how many due subscriptions were left. */
  dueSamples(): { at: number; left: number }[] {
    return this.list.flatMap((e) => (e.kind === "due" ? [{ at: e.at, left: e.left }] : []));
  }

  rounds(): { round: number; at: number; asOf: string }[] {
    return this.list.flatMap((e) => (e.kind === "round" ? [{ round: e.round, at: e.at, asOf: e.asOf }] : []));
  }

  /** Time of the last entry: where a drawing should end. */
  end(): number {
    return this.list.reduce((max, e) => Math.max(max, e.at), 0);
  }

  toJSON(): { startedAtEpochMs: number; entries: readonly TimelineEntry[] } {
    return { startedAtEpochMs: this.startedAtEpochMs, entries: this.list };
  }
}

/** The tenure on the same shard with the highest fence below this one's. */
function predecessor(intervals: readonly LeaseInterval[], of: LeaseInterval): LeaseInterval | undefined {
  let best: LeaseInterval | undefined;
  for (const i of intervals) {
    if (i.shard === of.shard && i.fence < of.fence && (!best || i.fence > best.fence)) best = i;
  }
  return best;
}

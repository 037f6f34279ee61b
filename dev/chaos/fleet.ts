/**
 * The contender processes of one chaos scenario, on dev/cluster's building blocks: each invocation is a
 * real process running the real handler (dev/cluster/contender-process.ts via spawnContender), its log
 * lines go onto a Timeline (so dev/cluster's HTML report can draw the run), and the fleet keeps what the
 * chaos driver needs to aim at: who holds which lease now, how many charges settled, every lease
 * acquisition with its fence.
 *
 * Each contender talks to the Stripe emulator with its own API key (contenderStripeKey), all keys of one
 * account (the emulator's `singleAccount`), so that the emulator's request log says which process sent
 * each request while idempotency keys stay shared as in production, where every invocation uses the one
 * key. Only the key's value differs; the job's code path is the same.
 *
 * dev/cluster's Cluster starts its own DynamoDB Local and emulator; the chaos suite reuses one DynamoDB
 * Local over many seeds, so it drives contenders itself, the way Cluster.fireRound does.
 */
import { randomUUID } from "node:crypto";
import type { RunEvent } from "../../functions/core/billing-run/events";
import { scheduledEvent } from "../cluster/cluster";
import { spawnContender, type ContenderProcess, type FunctionEnvironment } from "../cluster/contenders";
import type { ParsedLine } from "../cluster/log-lines";
import { sendSignal } from "../cluster/signals";
import { Timeline } from "../cluster/timeline";
import { failureOf, killAll, track } from "../cluster/tracking";
import type { LeaseEvent } from "./attempts";
import type { Spawner } from "./bundled-contender";
import type { FencedWrite } from "./fences";

/** Charge outcomes that are reported only after their fenced write succeeded. */
export const WRITTEN_OUTCOMES: ReadonlySet<string> = new Set([
  "succeeded",
  "declined",
  "needs_customer_action",
  "quarantined",
]);

/** The Stripe API key a contender is given: its name on every request it sends. */
export function contenderStripeKey(label: string): string {
  return `sk_test_chaos_${label.replace(/[^0-9A-Za-z]/g, "_")}`;
}

/** A lease acquisition as a contender reported it. */
export interface Acquisition {
  readonly contender: string;
  readonly shard: number;
  readonly fence: number;
  /** When the runner received the line (ms on the timeline). */
  readonly at: number;
  /** When the contender logged it, by the runner's clock: its log timestamp minus its clock offset. */
  readonly loggedAtEpochMs: number | null;
}

/** A lease given up as a contender reported it: released, or found lost. */
export type LeaseEnding = Acquisition;

export interface SpawnOptions {
  readonly label: string;
  readonly round: number;
  readonly event: unknown;
  readonly budgetMs: number;
  readonly clockOffsetMs?: number;
  readonly hardTimeoutGraceMs?: number;
}

export type FleetListener = (p: ContenderProcess, event: RunEvent, at: number) => void;

export class Fleet {
  readonly timeline = new Timeline();
  readonly processes: ContenderProcess[] = [];
  readonly acquisitions: Acquisition[] = [];
  readonly leaseEndings: LeaseEnding[] = [];
  /** Writes contenders reported as done under a fence, for the fence-order check. */
  readonly writes: FencedWrite[] = [];
  /** Lines that say the handler failed, by contender (for the report). */
  readonly failures: { contender: string; error: string }[] = [];
  private readonly holding = new Map<string, Set<number>>();
  private readonly listeners = new Set<FleetListener>();
  private readonly offsets = new Map<string, number>();
  private readonly senders = new Map<string, string>();
  private charges = 0;

  constructor(
    readonly env: FunctionEnvironment,
    /** dev/cluster's spawnContender (node --import tsx), or the bundled entry (dev/chaos/bundled-contender.ts). */
    private readonly spawner: Spawner = spawnContender,
  ) {}

  /** Settled charge events seen so far (any outcome). */
  get chargeEvents(): number {
    return this.charges;
  }

  onEvent(listener: FleetListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  spawn(options: SpawnOptions): ContenderProcess {
    const clockOffsetMs = options.clockOffsetMs ?? 0;
    const stripeKey = contenderStripeKey(options.label);
    this.senders.set(stripeKey, options.label);
    const p = this.spawner(
      { ...this.env, stripeKey },
      {
        label: options.label,
        round: options.round,
        event: options.event,
        budgetMs: options.budgetMs,
        clockOffsetMs,
        requestId: `${options.label}-${randomUUID()}`,
        ...(options.hardTimeoutGraceMs !== undefined && { hardTimeoutGraceMs: options.hardTimeoutGraceMs }),
      },
      () => this.timeline.now(),
    );
    this.offsets.set(p.label, clockOffsetMs);
    void track(this.timeline, p, {
      round: options.round,
      clockOffsetMs,
      onLine: (line, at) => this.route(p, line, at),
      onExit: () => this.holding.delete(p.label),
    });
    this.processes.push(p);
    return p;
  }

  /** What the fleet keeps of a line; dev/cluster's track() has already put it on the timeline. */
  private route(p: ContenderProcess, line: ParsedLine, at: number): void {
    const failure = failureOf(line);
    if (failure !== null) this.failures.push({ contender: p.label, error: failure });
    if (line.kind === "run-event") {
      const event = line.event;
      const held = this.holding.get(p.label) ?? new Set<number>();
      const reported = () => ({
        contender: p.label,
        shard: (event as { shard: number }).shard,
        fence: (event as { fence: number }).fence,
        at,
        loggedAtEpochMs: this.loggedAt(line.line.timestamp, this.offsets.get(p.label) ?? 0, at),
      });
      if (event.type === "lease-acquired") {
        held.add(event.shard);
        this.acquisitions.push(reported());
      } else if (event.type === "lease-released" || event.type === "lease-lost") {
        held.delete(event.shard);
        this.leaseEndings.push(reported());
      } else if (event.type === "charge") {
        this.charges += 1;
      }
      const { shard, fence } = event as { shard: number; fence?: number };
      const wrote =
        event.type === "lease-renewed" ||
        event.type === "lease-released" ||
        (event.type === "charge" && WRITTEN_OUTCOMES.has(event.outcome));
      if (wrote && typeof fence === "number") {
        const what = event.type === "charge" ? `charge ${event.outcome} ${event.subscriptionId}` : event.type;
        this.writes.push({ contender: p.label, shard, fence, at, what });
      }
      this.holding.set(p.label, held);
      for (const listener of this.listeners) listener(p, event, at);
    }
  }

  /**
   * When a line was logged, on the runner's clock. The contender's skew wraps Date.now only, and the
   * Logger stamps lines with `new Date()`, so stamps are normally unskewed; should that change, the
   * stamp minus the offset is the one that lands next to the line's arrival, so take whichever does.
   */
  private loggedAt(timestamp: unknown, offsetMs: number, at: number): number | null {
    const stamp = typeof timestamp === "string" ? Date.parse(timestamp) : NaN;
    if (!Number.isFinite(stamp)) return null;
    const arrived = this.timeline.startedAtEpochMs + at;
    const skewed = stamp - offsetMs;
    return Math.abs(arrived - stamp) <= Math.abs(arrived - skewed) ? stamp : skewed;
  }

  /** The contender that was given this Stripe API key, if any. */
  senderOf(apiKey: string | null): string | null {
    return apiKey === null ? null : (this.senders.get(apiKey) ?? null);
  }

  /** Acquisitions and endings of leases, on the runner's epoch clock, for the attempts checker. */
  leaseEvents(): LeaseEvent[] {
    const epoch = (r: Acquisition) => r.loggedAtEpochMs ?? this.timeline.startedAtEpochMs + r.at;
    return [
      ...this.acquisitions.map((a) => ({ ...a, kind: "acquired" as const, at: epoch(a) })),
      ...this.leaseEndings.map((e) => ({ ...e, kind: "ended" as const, at: epoch(e) })),
    ].map(({ contender, shard, fence, kind, at }) => ({ contender, shard, fence, kind, at }));
  }

  running(): ContenderProcess[] {
    return this.processes.filter((p) => p.status !== "exited");
  }

  /** Running contenders that hold (or believe they hold) a lease, in spawn order. */
  leaders(): ContenderProcess[] {
    return this.running().filter((p) => (this.holding.get(p.label)?.size ?? 0) > 0);
  }

  /** Shards a contender holds, as far as its log says. */
  heldBy(label: string): number[] {
    return [...(this.holding.get(label) ?? [])].sort((a, b) => a - b);
  }

  signal(p: ContenderProcess, signal: "SIGKILL" | "SIGSTOP" | "SIGCONT", reason: string): boolean {
    return sendSignal(p, signal, this.timeline, reason);
  }

  note(text: string): void {
    this.timeline.record({ at: this.timeline.now(), kind: "note", text });
  }

  /** Resolves when every contender spawned so far (and any spawned while waiting) has exited. */
  async settled(): Promise<void> {
    for (;;) {
      const alive = this.running();
      if (alive.length === 0) return;
      await Promise.all(alive.map((p) => p.exited));
    }
  }

  /** Continues paused contenders, SIGKILLs every one still running, and waits for them (bounded). */
  async killAll(reason: string): Promise<void> {
    await killAll(this.processes, this.timeline, reason);
  }
}

export { scheduledEvent };

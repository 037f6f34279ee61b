/**
 * What the runner knows while the job runs, folded from the contenders' event streams: who holds which
 * shard's lease with which fence, what each contender is doing, and each billing period's latest outcome.
 * The live view draws it; the summary reads it at the end.
 */
import type { ChargeOutcomeKind, RunEvent } from "../../functions/core/billing-run/events";
import type { ContenderProcess } from "../cluster/contenders";
import type { Timeline } from "../cluster/timeline";

export type ContenderPhase = "starting" | "contending" | "standby" | "leading" | "paused" | "done";

export interface ContenderView {
  readonly label: string;
  readonly round: number;
  pid: number;
  phase: ContenderPhase;
  /** Shards it leads now: shard → fence. */
  readonly leading: Map<number, number>;
  charges: number;
  fencedOut: number;
  leaseLost: number;
  exit: string | null;
}

export interface HolderView {
  contender: string;
  fence: number;
  since: number;
  tookOverFrom: string | null;
  /** The holder's process is dead; the lease stays until it expires. */
  dead: boolean;
}

export interface Notable {
  readonly at: number;
  readonly text: string;
}

export class RunState {
  readonly contenders = new Map<string, ContenderView>();
  readonly holders = new Map<number, HolderView>();
  /** Latest outcome per billing period (subscription@periodStart). */
  readonly outcomes = new Map<string, ChargeOutcomeKind>();
  dueAtStart = 0;
  dueLeft: number | null = null;
  round = 0;
  phase = "starting";
  private readonly notableListeners = new Set<(n: Notable) => void>();

  constructor(readonly timeline: Timeline) {}

  onNotable(listener: (n: Notable) => void): void {
    this.notableListeners.add(listener);
  }

  note(text: string): void {
    const n = { at: this.timeline.now(), text };
    this.timeline.record({ at: n.at, kind: "note", text });
    for (const l of this.notableListeners) l(n);
  }

  addContender(p: ContenderProcess): void {
    this.contenders.set(p.label, {
      label: p.label,
      round: p.round,
      pid: p.pid,
      phase: "starting",
      leading: new Map(),
      charges: 0,
      fencedOut: 0,
      leaseLost: 0,
      exit: null,
    });
  }

  apply(label: string, event: RunEvent): void {
    const c = this.contenders.get(label);
    if (!c) return;
    if (c.phase === "starting") c.phase = "contending";
    switch (event.type) {
      case "lease-acquired": {
        c.phase = "leading";
        c.leading.set(event.shard, event.fence);
        // A takeover replaces a holder that did not release (dead, or stalled past its lease). The handler
        // names the owner it read just before acquiring, which may have released in between.
        const prior = this.holders.get(event.shard);
        const from = event.tookOverFrom && prior ? this.timeline.contenderOf(event.tookOverFrom) : null;
        this.holders.set(event.shard, {
          contender: label,
          fence: event.fence,
          since: this.timeline.now(),
          tookOverFrom: from,
          dead: false,
        });
        this.note(
          from
            ? `${label} took over shard ${event.shard} from ${from}: fence ${event.fence}`
            : `${label} acquired shard ${event.shard} with fence ${event.fence}`,
        );
        return;
      }
      case "lease-held-by-other":
        if (c.leading.size === 0) c.phase = "standby";
        return;
      case "lease-renewed":
        return;
      case "lease-lost":
        c.leaseLost += 1;
        c.leading.delete(event.shard);
        this.dropHolder(event.shard, label, event.fence);
        this.note(
          `${label} lost the lease of shard ${event.shard} (fence ${event.fence}) during ${event.during}`,
        );
        return;
      case "lease-released":
        c.leading.delete(event.shard);
        this.dropHolder(event.shard, label, event.fence);
        this.note(`${label} released shard ${event.shard} (fence ${event.fence}): run ${event.outcome}`);
        return;
      case "standby-exit":
        this.note(`${label} leaves shard ${event.shard}: ${event.reason}`);
        return;
      case "fenced-out":
        c.fencedOut += 1;
        if (c.fencedOut === 1 || c.fencedOut % 10 === 0) {
          this.note(
            `${label}: write refused by DynamoDB, stale fence ${event.fence} (${event.step} of ${event.subscriptionId})${c.fencedOut > 1 ? `, ${c.fencedOut} so far` : ""}`,
          );
        }
        return;
      case "budget-exhausted":
        this.note(
          event.staggeredMs > 0
            ? `${label}: stops claiming on shard ${event.shard} ${(event.staggeredMs / 1000).toFixed(1)} s before its time budget, so the shards hand over one at a time`
            : `${label}: time budget low on shard ${event.shard}, stops claiming`,
        );
        return;
      case "send-held-back":
        this.note(
          `${label}: held back a request for ${event.subscriptionId} (${event.reason}); it stays due`,
        );
        return;
      case "sweep":
        this.note(
          `${label} swept: ${event.unreachable} unreachable record(s) quarantined, ${event.strayPaymentIntentsCanceled} stray PaymentIntent(s) canceled`,
        );
        return;
      case "charge":
        c.charges += 1;
        this.outcomes.set(`${event.subscriptionId}@${event.periodStart}`, event.outcome);
        return;
    }
  }

  private dropHolder(shard: number, label: string, fence: number): void {
    const h = this.holders.get(shard);
    if (h && h.contender === label && h.fence === fence) this.holders.delete(shard);
  }

  setPaused(label: string, paused: boolean): void {
    const c = this.contenders.get(label);
    if (!c) return;
    c.phase = paused ? "paused" : c.leading.size > 0 ? "leading" : "contending";
  }

  exited(label: string, exit: string): void {
    const c = this.contenders.get(label);
    if (!c) return;
    c.phase = "done";
    c.exit = exit;
    for (const h of this.holders.values()) if (h.contender === label) h.dead = true;
    c.leading.clear();
  }

  counts(): Record<ChargeOutcomeKind, number> {
    const counts: Record<ChargeOutcomeKind, number> = {
      succeeded: 0,
      declined: 0,
      needs_customer_action: 0,
      in_doubt: 0,
      quarantined: 0,
      rate_limited: 0,
    };
    for (const outcome of this.outcomes.values()) counts[outcome] += 1;
    return counts;
  }

  /** 0..1: the share of subscriptions due at the start that are no longer due. */
  progress(): number {
    if (this.dueAtStart === 0) return this.dueLeft === 0 ? 1 : 0;
    if (this.dueLeft === null) return 0;
    return Math.min(1, Math.max(0, (this.dueAtStart - this.dueLeft) / this.dueAtStart));
  }
}

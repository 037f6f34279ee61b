/**
 * The chaos suite's continuation faults (scenario.ts LinkFault): how the seed's local invoke server
 * answers and delivers the function's Invokes of itself, and what is done to a link's process. Each fault
 * strikes the first link numbered `link` served while faults are armed (the chains the faulty phase and
 * the first follow-up tick start), once; the ticks after that run clean. What never struck is reported
 * as skipped.
 *
 *  - link-fail:  every attempt of that Invoke answered 500, or its connection dropped (the SDK retries);
 *  - link-twice: the accepted invocation delivered twice (two processes, one event);
 *  - link-late:  held, the next schedule tick fired, and the link delivered after it;
 *  - link-kill / link-pause: SIGKILL, or SIGSTOP past the lease, a moment after the link took a lease.
 */
import type { ContenderProcess } from "../cluster/contenders";
import type { Answer, Invocation, InvokeRequest, LinkDelivery } from "../lambda-invoke";
import type { FaultCounts, LinkFault } from "./scenario";

export interface LinkFaultHooks {
  readonly counts: FaultCounts;
  /** Signals a process, on the timeline; false if it is gone. */
  readonly signal: (
    p: ContenderProcess,
    signal: "SIGKILL" | "SIGSTOP" | "SIGCONT",
    reason: string,
  ) => boolean;
  /** Calls `listener` when `p` reports a lease acquisition; returns a function that stops listening. */
  readonly onAcquired: (p: ContenderProcess, listener: () => void) => () => void;
  /** Fires the next schedule tick now. */
  readonly fireTick: () => void;
  readonly note: (text: string) => void;
  readonly later: (ms: number, fn: () => void) => void;
}

function linkOf(payload: unknown): { runId: string; link: number } | null {
  const p = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  return typeof p.link === "number" && typeof p.runId === "string" ? { runId: p.runId, link: p.link } : null;
}

export class LinkFaults {
  private armed = true;
  private readonly pending: LinkFault[];
  /** The Invokes being failed: runId#link, every attempt. */
  private readonly failing = new Map<string, "error-500" | "drop">();
  private readonly paused = new Set<ContenderProcess>();
  private readonly missed: string[] = [];

  constructor(
    faults: readonly LinkFault[],
    private readonly hooks: LinkFaultHooks,
  ) {
    this.pending = [...faults];
  }

  /** The fault of `kind` for this link, taken (it strikes once), if armed. */
  private take(kind: LinkFault["kind"], link: number): LinkFault | null {
    if (!this.armed) return null;
    const i = this.pending.findIndex((f) => f.kind === kind && f.link === link);
    return i === -1 ? null : this.pending.splice(i, 1)[0]!;
  }

  /** The invoke server's answer to one request. */
  answer(request: InvokeRequest): Answer {
    const link = linkOf(request.payload);
    if (!link) return "accept";
    const key = `${link.runId}#${link.link}`;
    const failing = this.failing.get(key);
    if (failing) return failing;
    const fault = this.take("link-fail", link.link);
    if (fault?.kind !== "link-fail") return "accept";
    this.failing.set(key, fault.how);
    this.hooks.counts["link-fail"] += 1;
    this.hooks.note(
      `chaos: the Invoke of continuation link ${link.link} fails (${fault.how}), every attempt`,
    );
    return fault.how;
  }

  /** How an accepted invocation is delivered. */
  deliver(invocation: Invocation): LinkDelivery {
    const link = linkOf(invocation.payload);
    if (!link) return { copies: 1, delayMs: 0 };
    if (this.take("link-twice", link.link)) {
      this.hooks.counts["link-twice"] += 1;
      this.hooks.note(`chaos: continuation link ${link.link} is delivered twice`);
      return { copies: 2, delayMs: 0 };
    }
    const late = this.take("link-late", link.link);
    if (late?.kind === "link-late") {
      this.hooks.counts["link-late"] += 1;
      this.hooks.note(
        `chaos: continuation link ${link.link} waits in the queue; the next tick fires first, the link ${late.delayMs} ms later`,
      );
      this.hooks.fireTick();
      return { copies: 1, delayMs: late.delayMs };
    }
    return { copies: 1, delayMs: 0 };
  }

  /** A link's process started: a kill or a pause may be waiting for it to take a lease. */
  started(p: ContenderProcess, invocation: Invocation): void {
    const link = linkOf(invocation.payload);
    if (!link) return;
    const fault = this.take("link-kill", link.link) ?? this.take("link-pause", link.link);
    if (fault?.kind !== "link-kill" && fault?.kind !== "link-pause") return;
    let acquired = false;
    const stop = this.hooks.onAcquired(p, () => {
      acquired = true;
      stop();
      this.hooks.later(fault.afterMs, () => this.strike(p, fault));
    });
    void p.exited.then(() => {
      stop();
      if (!acquired) this.missed.push(`${fault.kind}#${fault.link}: ${p.label} never took a lease`);
    });
  }

  private strike(p: ContenderProcess, fault: Extract<LinkFault, { kind: "link-kill" | "link-pause" }>): void {
    if (fault.kind === "link-kill") {
      if (this.hooks.signal(p, "SIGKILL", `chaos: continuation link ${fault.link} killed while leading`)) {
        this.hooks.counts["link-kill"] += 1;
      }
      return;
    }
    const reason = `chaos: continuation link ${fault.link} paused for ${fault.durationMs} ms while leading`;
    if (!this.hooks.signal(p, "SIGSTOP", reason)) return;
    this.hooks.counts["link-pause"] += 1;
    this.paused.add(p);
    this.hooks.later(fault.durationMs, () => this.resume(p, `chaos: continuation link ${fault.link} wakes`));
  }

  private resume(p: ContenderProcess, reason: string): void {
    if (this.paused.delete(p)) this.hooks.signal(p, "SIGCONT", reason);
  }

  /** No more faults (the follow-ups run clean); resumes what is paused. Returns what never struck. */
  disarm(): string[] {
    this.armed = false;
    for (const p of [...this.paused]) this.resume(p, "resumed");
    const never = this.pending
      .splice(0)
      .map((f) => `${f.kind}#${f.link}: no continuation link ${f.link} ran while faults were on`);
    return [...never, ...this.missed.splice(0)];
  }
}

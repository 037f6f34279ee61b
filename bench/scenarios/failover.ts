/**
 * Failover: a leader dies mid-run and a standby takes over. Measured from the instant of death to the
 * successor's first succeeded charge, over the lease duration. The leader dies in-process (bench/
 * contender.ts kill(): no request, heartbeat or answer after that instant) at a random moment of its
 * renewal cycle, after it has charged a few subscriptions; the standby was started while the leader held
 * the lease, and polls it as a standby Lambda invocation does. Repetitions run side by side, each with
 * its own tables.
 */
import type { LeaseTimings } from "../../functions/core/lease/lease-timings";
import { AS_OF, type BenchEnv } from "../env";
import { runRequest, startContender, type BenchContender } from "../contender";
import type { StripeEmulator } from "../emulator";
import { seededRng } from "../../dev/stripe-emulator/random";
import { max, median } from "../stats";

export interface FailoverOptions {
  readonly repetitions: number;
  readonly lease: LeaseTimings;
  readonly standbyPollMs: number;
  readonly subscriptionsPerRepetition: number;
  readonly accountRequestsPerSecond: number;
  readonly providerLatencyMs: number;
  /** The leader dies only after this many succeeded charges (so it dies mid-run). */
  readonly chargesBeforeDeath: number;
  readonly seed: number;
}

export interface FailoverRepetition {
  /** When in its renewal cycle the leader died: ms after its last renewal (or acquisition). */
  readonly diedMsAfterRenewal: number;
  readonly deathToTakeoverMs: number;
  readonly deathToFirstChargeMs: number;
  /** deathToFirstChargeMs / leaseDurationMs. */
  readonly ratio: number;
  readonly leaderCharges: number;
}

export interface FailoverResult {
  readonly lease: LeaseTimings;
  readonly standbyPollMs: number;
  readonly repetitions: FailoverRepetition[];
  readonly medianRatio: number;
  readonly maxRatio: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

export async function runFailover(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: FailoverOptions,
): Promise<FailoverResult> {
  const random = seededRng(options.seed);
  const setups = await Promise.all(
    Array.from({ length: options.repetitions }, async (_, i) => {
      const tables = await env.tables(`failover${i}`);
      return { tables, deathDelay: random() };
    }),
  );
  emulator.setFaults({});
  for (const [i, s] of setups.entries()) {
    await env.seed(s.tables, options.subscriptionsPerRepetition, 1, `fo${i}`);
  }
  emulator.setFaults({ latencyMs: options.providerLatencyMs });
  try {
    const repetitions = await Promise.all(setups.map((s, i) => once(s.tables, s.deathDelay, i)));
    const ratios = repetitions.map((r) => r.ratio);
    const ms = repetitions.map((r) => r.deathToFirstChargeMs);
    return {
      lease: options.lease,
      standbyPollMs: options.standbyPollMs,
      repetitions,
      medianRatio: median(ratios),
      maxRatio: max(ratios),
      medianMs: median(ms),
      maxMs: max(ms),
    };
  } finally {
    emulator.setFaults({});
  }

  async function once(
    tables: Awaited<ReturnType<BenchEnv["tables"]>>,
    deathDelay: number,
    index: number,
  ): Promise<FailoverRepetition> {
    const request = runRequest(`failover${index}`, AS_OF);
    const common = {
      accountRequestsPerSecond: options.accountRequestsPerSecond,
      lease: options.lease,
      settings: { standbyPollMs: options.standbyPollMs },
      firstShard: 0,
    };
    const leader = startContender(tables, emulator.url, request, { ...common, deadline: () => Infinity });
    await until(() => acquiredAt(leader) !== null, 10_000, "the leader to take the lease");

    let successorDeadline = Infinity;
    const successor = startContender(tables, emulator.url, request, {
      ...common,
      deadline: () => successorDeadline,
    });
    await until(() => succeeded(leader).length >= options.chargesBeforeDeath, 30_000, "the leader's charges");
    // Die at a random point of the renewal cycle: wait for the next renewal, then a random part of the
    // interval.
    const beats = renewals(leader);
    await until(() => renewals(leader) > beats, 3 * options.lease.renewIntervalMs + 10_000, "a renewal");
    const lastBeat = lastRenewalAt(leader, options.lease.leaseDurationMs);
    const dieAt = lastBeat + deathDelay * options.lease.renewIntervalMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dieAt - Date.now())));
    const diedAt = leader.kill();

    const limit = 3 * options.lease.leaseDurationMs + 10_000;
    await until(() => succeeded(successor).length > 0, limit, "the successor's first charge");
    const takeover = acquiredAt(successor)!;
    const firstCharge = succeeded(successor)[0]!;
    successorDeadline = 0;
    await successor.report;
    return {
      diedMsAfterRenewal: diedAt - lastBeat,
      deathToTakeoverMs: takeover - diedAt,
      deathToFirstChargeMs: firstCharge - diedAt,
      ratio: (firstCharge - diedAt) / options.lease.leaseDurationMs,
      leaderCharges: succeeded(leader).length,
    };
  }
}

function acquiredAt(c: BenchContender): number | null {
  return c.events.find((e) => e.event.type === "lease-acquired")?.at ?? null;
}

/** When the leader's lease was last extended: its expiry minus the lease duration. */
function lastRenewalAt(c: BenchContender, leaseDurationMs: number): number {
  let last = acquiredAt(c)!;
  for (const { event } of c.events) {
    if (event.type === "lease-renewed") last = Math.max(last, event.expiresAt - leaseDurationMs);
  }
  return last;
}

function renewals(c: BenchContender): number {
  return c.events.filter((e) => e.event.type === "lease-renewed").length;
}

function succeeded(c: BenchContender): number[] {
  return c.events
    .filter((e) => e.event.type === "charge" && e.event.outcome === "succeeded")
    .map((e) => e.at);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`failover: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The local run: infrastructure, a seeded data set, rounds of concurrent contender processes (follow-ups
 * while work is left, as the schedule's next ticks would), optional chaos on the leader (SIGKILL, or
 * SIGSTOP past the lease), then the invariant checks, a summary and the HTML report.
 */
import { Cluster } from "../cluster/cluster";
import type { ContenderProcess } from "../cluster/contenders";
import type { ParsedLine } from "../cluster/log-lines";
import { pauseFor, sigkill } from "../cluster/signals";
import type { Shutdown } from "../cluster/shutdown";
import { seedSubscriptions, stripeClient } from "../seed";
import type { InvariantReport } from "../invariants";
import { buildDataSet, type DataSet } from "./dataset";
import type { RunOptions } from "./options";
import { RunState } from "./state";
import type { View } from "./view";

export interface ChaosRecord {
  readonly kind: "kill" | "pause";
  readonly contender: string;
  readonly at: number;
  readonly afterCharges: number;
  /** Fences the contender held when it was hit: shard → fence. */
  readonly holding: Record<string, number>;
  readonly resumedAt?: number;
}

export interface RunResult {
  readonly cluster: Cluster;
  readonly state: RunState;
  readonly dataSet: DataSet;
  readonly asOf: string;
  readonly invariants: InvariantReport | null;
  readonly chaos: readonly ChaosRecord[];
  readonly roundsFired: number;
  readonly dueLeft: number | null;
  readonly phases: { infrastructureMs: number; seedMs: number; runMs: number; checkMs: number };
  readonly stripeRequests: {
    seeding: number;
    run: number;
    byRoute: Record<string, number>;
    byStatus: Record<string, number>;
  };
  readonly paymentIntents: {
    total: number;
    byStatus: Record<string, number>;
    /** Minor units of succeeded PaymentIntents, per currency: what the customers paid. */
    succeededAmounts: Record<string, number>;
  };
  readonly errors: readonly string[];
}

export interface RunHooks {
  readonly shutdown: Shutdown;
  /** Messages before the live view exists (starting the infrastructure). */
  readonly log: (text: string) => void;
  /** Makes the live view once the run's state exists; localRun starts and stops it. */
  readonly createView: (state: RunState) => View;
}

/** Settings of the function for local runs; see README "Running it locally". */
export function leaseSettings(leaseMs: number) {
  return {
    leaseMs,
    renewMs: Math.max(100, Math.round(leaseMs * 0.3)),
    marginMs: Math.max(100, Math.round(leaseMs * 0.3)),
  };
}

export async function localRun(options: RunOptions, hooks: RunHooks): Promise<RunResult> {
  const { shutdown } = hooks;
  const errors: string[] = [];
  const t0 = performance.now();
  const lease = leaseSettings(options.leaseMs);
  const cluster = await Cluster.start({
    shardCount: options.shards,
    lease,
    stripeSeed: options.seed,
    shutdown,
    // Runs that stop for their budget go on at once: each continuation link a process of its own.
    continuations: { budgetMs: options.budgetMs, maxLinks: options.maxLinks },
    functionSettings: {
      // The account's budget, which the concurrent leaders share: the emulator's limit when it has one,
      // else 100 requests/s per leader that can run at once.
      stripeRequestsPerSecond: options.stripeRateLimit ?? 100 * Math.min(options.shards, options.contenders),
      // The function refuses a Stripe timeout longer than the lease's safety margin (README, Configuration).
      stripeTimeoutMs: Math.min(5_000, lease.marginMs),
      concurrency: 16,
      stopClaimingMarginMs: Math.min(10_000, Math.round(options.budgetMs / 6)),
      standbyPollMs: Math.max(100, Math.min(1000, Math.round(options.leaseMs / 10))),
    },
    log: hooks.log,
  });
  const state = new RunState(cluster.timeline);
  const view = hooks.createView(state);
  state.onNotable((n) => view.line(n.text));
  view.start();
  shutdown.add("live view", () => view.stop());
  const infrastructureMs = performance.now() - t0;

  // The data set, due at the first schedule tick.
  const t1 = performance.now();
  state.phase = "seeding";
  const asOf = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const dataSet = buildDataSet(options.subscriptions, asOf, options.shards, options.seed);
  const stripe = stripeClient(cluster.infra.stripeKey, cluster.infra.stripe.url);
  await seedSubscriptions(cluster.infra.doc, cluster.infra.tables, stripe, dataSet.seeds, dataSet.invalid);
  const seedingRequests = cluster.infra.stripe.snapshot().requestCounts.total;
  // Faults apply from here: seeding is not what is being measured.
  cluster.infra.stripe.setFaults({
    ...(options.stripeLatencyMs > 0 && { latencyMs: options.stripeLatencyMs }),
    ...(options.stripeRateLimit !== null && { rateLimit: { requestsPerSecond: options.stripeRateLimit } }),
  });
  state.dueAtStart = await cluster.dueLeft(asOf);
  state.dueLeft = state.dueAtStart;
  const seedMs = performance.now() - t1;
  view.line(
    `seeded ${options.subscriptions} subscriptions in ${(seedMs / 1000).toFixed(1)} s: ${dataSet.due} due at ${asOf}` +
      ` (${dataSet.duePeriods} billing periods, ${dataSet.byCategory.invalid} invalid), ${dataSet.notDue} not yet due`,
  );

  // Poll what is left, for the progress bar and the report's chart.
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        state.dueLeft = await cluster.dueLeft(asOf);
        cluster.timeline.record({ at: cluster.timeline.now(), kind: "due", left: state.dueLeft });
      } catch {
        // DynamoDB Local going away at shutdown: the loop ends with `polling`.
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const stopPolling = shutdown.add("poller", async () => {
    polling = false;
    await poller;
  });

  // Chaos on the leader of the first round.
  const chaos: ChaosRecord[] = [];
  const chargesBy = new Map<string, number>();
  let killed = false;
  let paused = false;
  const cancelPause: (() => void)[] = [];
  shutdown.add("resume paused contenders", () => cancelPause.forEach((c) => c()));
  const holding = (p: ContenderProcess) =>
    Object.fromEntries(
      [...(state.contenders.get(p.label)?.leading ?? new Map<number, number>())].map(([s, f]) => [
        String(s),
        f,
      ]),
    );
  const onLine = (p: ContenderProcess, line: ParsedLine) => {
    if (line.kind === "run-event") state.apply(p.label, line.event);
    if (line.kind === "run-failed") state.note(`${p.label}: run failed: ${line.error}`);
    if (line.kind === "continuation") {
      state.note(
        line.sent
          ? `${p.label} is out of time with work left: it invoked continuation link ${line.link}`
          : `${p.label}: continuation link ${line.link} could not be sent (${line.error}); the next tick goes on`,
      );
    }
    if (line.kind !== "run-event" || line.event.type !== "charge") return;
    const n = (chargesBy.get(p.label) ?? 0) + 1;
    chargesBy.set(p.label, n);
    const leads = (state.contenders.get(p.label)?.leading.size ?? 0) > 0;
    if (options.killLeaderAfter !== null && !killed && leads && n >= options.killLeaderAfter) {
      killed = true;
      const record: ChaosRecord = {
        kind: "kill",
        contender: p.label,
        at: cluster.timeline.now(),
        afterCharges: n,
        holding: holding(p),
      };
      if (sigkill(p, cluster.timeline, `leader killed after ${n} settled charges`)) {
        chaos.push(record);
        state.note(
          `SIGKILL ${p.label} (the leader, fence ${Object.values(record.holding).join(",")}) after ${n} charges`,
        );
      }
    }
    if (options.pauseLeaderMs !== null && !paused && leads && n >= options.pauseLeaderAfter) {
      paused = true;
      const at = cluster.timeline.now();
      const held = holding(p);
      const pause = pauseFor(p, options.pauseLeaderMs, cluster.timeline, `leader paused after ${n} charges`);
      cancelPause.push(pause.cancel);
      state.setPaused(p.label, true);
      state.note(
        `SIGSTOP ${p.label} (the leader, fence ${Object.values(held).join(",")}) for ${(options.pauseLeaderMs / 1000).toFixed(1)} s, longer than the ${options.leaseMs} ms lease`,
      );
      const index = chaos.push({ kind: "pause", contender: p.label, at, afterCharges: n, holding: held }) - 1;
      void pause.resumed.then((resumed) => {
        if (!resumed) return;
        state.setPaused(p.label, false);
        chaos[index] = { ...chaos[index]!, resumedAt: cluster.timeline.now() };
        state.note(`SIGCONT ${p.label}: the zombie wakes up believing it still leads`);
      });
    }
  };
  cluster.onLine(onLine);

  // Every contender process, a round's or a continuation link's: in the view, and noted when it ends.
  const track = (p: ContenderProcess) => {
    state.addContender(p);
    void p.exited.then((exit) => {
      const text = exit.signal
        ? `${exit.signal}${exit.timedOut ? " (timeout)" : ""}`
        : `exit ${exit.code ?? "?"}`;
      state.exited(p.label, text);
      const tail = p.error ? `: ${p.error}` : "";
      if (exit.code !== 0 || p.error) {
        const lastText = p.textTail.slice(-3).join(" | ");
        state.note(
          `${p.label} ended: ${text}${tail}${lastText && exit.code !== 0 && !exit.signal ? ` (${lastText})` : ""}`,
        );
      } else {
        state.note(`${p.label} ended: ${text}`);
      }
    });
  };
  cluster.onSpawn(track);

  // Rounds: the first tick (and the continuation links its invocations send), then follow-ups while
  // work is left.
  const t2 = performance.now();
  state.phase = "running";
  let roundsFired = 0;
  let dueLeft: number | null = null;
  for (let r = 1; r <= options.maxRounds; r++) {
    const round = cluster.fireRound({
      contenders: options.contenders,
      budgetMs: options.budgetMs,
      ...(r === 1 && { asOf }),
    });
    roundsFired = r;
    state.round = r;
    view.line(
      `round ${r}: EventBridge fires ${options.contenders} invocation(s) of the handler, scheduled time ${round.asOf}` +
        ` (pids ${round.processes.map((p) => p.pid).join(", ")})`,
    );
    await cluster.idle();
    for (const p of cluster.processes) {
      if (p.error && !errors.includes(`${p.label}: ${p.error}`)) errors.push(`${p.label}: ${p.error}`);
    }
    dueLeft = await cluster.dueLeft(asOf);
    state.dueLeft = dueLeft;
    if (dueLeft === 0) break;
    if (r < options.maxRounds) {
      state.note(
        `work left after round ${r}: ${dueLeft} subscription(s) still due; the next schedule tick follows`,
      );
    } else {
      state.note(
        `work left after the last round (${options.maxRounds}): ${dueLeft} subscription(s) still due`,
      );
    }
  }
  const runMs = performance.now() - t2;
  await stopPolling();
  polling = false;
  await poller;
  cluster.timeline.record({ at: cluster.timeline.now(), kind: "due", left: dueLeft ?? 0 });

  // Checks.
  const t3 = performance.now();
  state.phase = "checking";
  let invariants: InvariantReport | null = null;
  try {
    invariants = await cluster.checkInvariants(asOf);
  } catch (error) {
    errors.push(`invariant check failed to run: ${(error as Error).message}`);
  }
  const snapshot = cluster.infra.stripe.snapshot();
  const checkMs = performance.now() - t3;
  state.phase = "done";
  view.stop();

  const byStatus: Record<string, number> = {};
  const succeededAmounts: Record<string, number> = {};
  for (const pi of snapshot.paymentIntents) {
    byStatus[pi.status] = (byStatus[pi.status] ?? 0) + 1;
    if (pi.status === "succeeded")
      succeededAmounts[pi.currency] = (succeededAmounts[pi.currency] ?? 0) + pi.amount;
  }
  return {
    cluster,
    state,
    dataSet,
    asOf,
    invariants,
    chaos,
    roundsFired,
    dueLeft,
    phases: { infrastructureMs, seedMs, runMs, checkMs },
    stripeRequests: {
      seeding: seedingRequests,
      run: snapshot.requestCounts.total - seedingRequests,
      byRoute: snapshot.requestCounts.byRoute,
      byStatus: snapshot.requestCounts.byStatus,
    },
    paymentIntents: { total: snapshot.paymentIntents.length, byStatus, succeededAmounts },
    errors,
  };
}

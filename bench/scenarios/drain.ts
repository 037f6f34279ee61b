/**
 * A backlog drained across invocations: N due renewals, a provider that allows L requests/s, invocations
 * with a short time budget, one schedule tick and no other. Each invocation that stops for its budget with
 * work left invokes the next link of its run (functions/handler/continuation.ts), served here by the local
 * invoke server (dev/lambda-invoke) as one more invocation of the real handler, the way Lambda starts an
 * asynchronous invocation: in a process whose invocation is over if there is one (a warm start, as Lambda
 * may reuse an execution environment), else in a new process. Every leader paces itself at its share of
 * the one account budget (L), so the floor is set by L alone: 2N/L seconds at two requests per charge.
 *
 * The drain time runs from the tick to the moment the book is empty (the due index holds nothing at the
 * tick's instant), and every invariant must then hold (dev/invariants.ts). The issue's
 * target: at most 1.15 × the floor plus one lease duration, with 1, 2 and 4 shards.
 */
import { drainSeconds as floorSeconds } from "../../functions/core/billing-run/backlog";
import { settles } from "../../functions/core/billing-run/continuation";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { Cluster } from "../../dev/cluster/cluster";
import { handoverTimes, type LeaderEvent } from "../handovers";
import { buildContenderBundle } from "../../dev/chaos/bundled-contender";
import { CpuWindow, findDynamoDbLocalPid } from "../cpu";
import type { ContenderProcess, LeaseSettings } from "../../dev/cluster/contenders";

export interface DrainOptions {
  readonly shardCounts: readonly number[];
  readonly subscriptions: number;
  /** The provider's limit and the account's budget, requests per second. */
  readonly budget: number;
  readonly latencyMs: number;
  /** Each invocation's time budget (its Lambda timeout). */
  readonly invocationBudgetMs: number;
  readonly lease: LeaseSettings;
  /** Renewals in flight over all the leaders together (each leader gets its part). */
  readonly concurrency: number;
  readonly stopClaimingMarginMs: number;
  /** How often a link standing by looks at the lease its predecessor is about to release. */
  readonly standbyPollMs: number;
  /** Give up waiting for the chain after this long (then the row says it did not drain). */
  readonly maxMs: number;
}

export interface DrainRow {
  readonly shards: number;
  readonly subscriptions: number;
  /**
   * From the tick to the first moment the due index held nothing at the tick's instant (looked at once a
   * second, so up to a second late); null when the book did not drain.
   */
  readonly drainSeconds: number | null;
  /** From the tick to the last settled renewal a process logged (a killed process's last lines are lost). */
  readonly lastSettledSeconds: number | null;
  /**
   * From an invocation's start (a new process, or the next invocation of an idle one) to its first lease,
   * on average: what each invocation costs before it bills.
   */
  readonly meanStartupSeconds: number | null;
  /** Invocations that ran in an environment an earlier invocation had started (no Init), of `invocations`. */
  readonly warmStarts: number;
  /** A shard handed from one link to the next (released, then acquired by the next leader). */
  readonly handovers: number;
  /** From a shard's release to the next leader's lease, on average over the handovers. */
  readonly meanReleaseToLeaseSeconds: number | null;
  /** From a leader's lease to its first settled renewal, on average: how long a new leader takes to bill. */
  readonly meanLeaseToFirstSettleSeconds: number | null;
  /**
   * The requests the provider received from the tick to the drain's end, ÷ what the budget allowed in that
   * time: where the rest of the budget went unused (the start, handovers, the last shards' tail) is in
   * the timeline's `requests`.
   */
  readonly budgetUsed: number | null;
  /** Whole seconds of the drain in which the provider received under half the budget. */
  readonly slowSeconds: number;
  /**
   * Cores busy on average from the tick until every invocation ended (1.0 = one core): the whole machine,
   * DynamoDB Local's JVM, and this process (the bench and the emulator); the rest is mostly the
   * invocations. Null where /proc could not be read.
   */
  readonly cpu: {
    readonly machine: number | null;
    /** Of the machine's busy cores, those the hypervisor gave to other machines (steal). */
    readonly steal: number | null;
    readonly dynamodbLocal: number | null;
    readonly emulatorAndBench: number | null;
  };
  /** 2N/L: what the provider's limit alone allows. */
  readonly floorSeconds: number;
  /** 1.15 × the floor plus one lease duration. */
  readonly targetSeconds: number;
  readonly met: boolean;
  /** Renewals still due at the tick's instant when everything had stopped. */
  readonly leftDue: number;
  readonly invocations: number;
  readonly linksSent: number;
  readonly linksFailed: number;
  readonly charges: number;
  readonly providerRequests: number;
  readonly rateLimited: number;
  /** Invariants that did not hold (dev/invariants.ts), and the first 20 of them. */
  readonly violationCount: number;
  readonly violations: string[];
  /** Invocations that failed, with their error. */
  readonly errors: string[];
  /** Each invocation: how it ended, what it led and how, and what it did about the next link. */
  readonly invocationLog: string[];
  /**
   * After each second from the tick: renewals left due (from the settled charges), and the requests the
   * provider received in that second (its own request log), for the chart.
   */
  readonly timeline: { second: number; left: number; requests: number }[];
}

export interface DrainResult {
  readonly options: DrainOptions;
  readonly rows: DrainRow[];
}

export async function runDrain(
  options: DrainOptions,
  log: (line: string) => void = () => undefined,
): Promise<DrainResult> {
  const rows: DrainRow[] = [];
  // Each invocation a plain node process on the bundled handler, as Lambda runs the stack's bundle: from
  // source through tsx, every link would first compile the handler for seconds on a busy machine.
  const nodeArgs = [await buildContenderBundle()];
  for (const shards of options.shardCounts) {
    const row = await drainOnce(options, shards, nodeArgs, log);
    log(
      `    ${shards} shard(s): ${row.drainSeconds === null ? `did not drain (${row.leftDue} left)` : `drained in ${row.drainSeconds.toFixed(1)} s`}; floor ${row.floorSeconds} s, target ≤ ${row.targetSeconds.toFixed(1)} s; ${row.invocations} invocations (${row.warmStarts} warm), ${row.linksSent} links, ${row.meanStartupSeconds?.toFixed(1) ?? "?"} s from an invocation's start to its lease; ${row.handovers} handovers, ${row.meanReleaseToLeaseSeconds?.toFixed(2) ?? "?"} s from a release to the next lease, ${row.meanLeaseToFirstSettleSeconds?.toFixed(2) ?? "?"} s from a lease to its first settled renewal; the provider got ${row.budgetUsed === null ? "?" : (row.budgetUsed * 100).toFixed(1)} % of the budget, under half of it in ${row.slowSeconds} s; cores busy: ${cores(row.cpu.machine)} in all (${cores(row.cpu.steal)} of them stolen by the hypervisor), ${cores(row.cpu.dynamodbLocal)} DynamoDB Local, ${cores(row.cpu.emulatorAndBench)} the bench and the emulator`,
    );
    rows.push(row);
  }
  return { options, rows };
}

async function drainOnce(
  options: DrainOptions,
  shards: number,
  nodeArgs: readonly string[],
  log: (line: string) => void,
): Promise<DrainRow> {
  const cluster = await Cluster.start({
    shardCount: shards,
    nodeArgs,
    lease: options.lease,
    stripeSeed: 11,
    tablePrefix: `drain${shards}-`,
    functionSettings: {
      stripeRequestsPerSecond: options.budget,
      stripeTimeoutMs: options.lease.marginMs,
      concurrency: Math.ceil(options.concurrency / shards),
      stopClaimingMarginMs: options.stopClaimingMarginMs,
      standbyPollMs: options.standbyPollMs,
    },
    continuations: { budgetMs: options.invocationBudgetMs },
    // As Lambda may: a link runs in an environment whose invocation is over when there is one.
    reuseEnvironments: true,
  });
  try {
    const { infra } = cluster;
    const asOf = new Date(Date.now() - 1000).toISOString();
    log(`    seeding ${options.subscriptions} due renewals over ${shards} shard(s)`);
    await seedSubscriptions(
      infra.doc,
      infra.tables,
      stripeClient(infra.stripeKey, infra.stripe.url),
      dueSubscriptions(options.subscriptions, asOf, shards, "drain"),
      [],
      32,
    );
    const seqBefore = infra.stripe.requestLog().entries.at(-1)?.seq ?? 0;
    infra.stripe.setFaults({
      latencyMs: options.latencyMs,
      rateLimit: { requestsPerSecond: options.budget },
    });

    const leaderEvents: LeaderEvent[] = [];
    let linksSent = 0;
    let linksFailed = 0;
    // From an invocation's start to its first lease: what a link costs before it bills.
    // Keyed by invocation: a warm process runs several, under one pid.
    const spawnedAt = new Map<ContenderProcess, number>();
    const startups: number[] = [];
    cluster.onSpawn((p) => spawnedAt.set(p, cluster.timeline.now()));
    cluster.onLine((process, line, atMs) => {
      const spawned = spawnedAt.get(process);
      if (line.kind === "run-event" && line.event.type === "lease-acquired" && spawned !== undefined) {
        startups.push(atMs - spawned);
        spawnedAt.delete(process);
      }
      if (
        line.kind === "run-event" &&
        (line.event.type === "lease-acquired" || line.event.type === "lease-released")
      ) {
        const kind = line.event.type === "lease-acquired" ? "acquired" : "released";
        leaderEvents.push({ kind, at: atMs, pid: process.pid, shard: line.event.shard });
      }
      // Settled as the continuation rules count it: not in doubt, not rate limited.
      if (line.kind === "run-event" && line.event.type === "charge" && settles(line.event.outcome)) {
        leaderEvents.push({ kind: "settled", at: atMs, pid: process.pid, shard: line.event.shard });
      }
      if (line.kind === "continuation") {
        if (line.sent) linksSent += 1;
        else linksFailed += 1;
      }
    });
    const javaPid = findDynamoDbLocalPid(Number(new URL(infra.dynamo.endpoint).port));
    const cpuWindow = new CpuWindow([...(javaPid === null ? [] : [javaPid]), process.pid]);
    cpuWindow.begin();
    const tick = cluster.timeline.now();
    cluster.fireRound({ contenders: shards, budgetMs: options.invocationBudgetMs, asOf });
    // Drained: the due index holds nothing at the tick's instant. Looked at once a second (a count per shard).
    let emptyAt: number | null = null;
    let over = false;
    const watching = (async () => {
      while (!over && emptyAt === null) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if ((await cluster.dueLeft(asOf)) === 0) emptyAt = cluster.timeline.now();
      }
    })();
    const gaveUp = await Promise.race([
      cluster.idle().then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), options.maxMs).unref()),
    ]);
    over = true;
    const cpu = cpuWindow.end();
    await watching;
    if (gaveUp) await cluster.killAll("the drain took too long");

    const settledAt = leaderEvents.filter((e) => e.kind === "settled").map((e) => e.at);
    // The provider's own log of this drain's requests: the counts, and when each arrived.
    const requests = infra.stripe.requestLog(seqBefore).entries;
    infra.stripe.setFaults({});
    const leftDue = await cluster.dueLeft(asOf);
    const invariants = await cluster.checkInvariants(asOf);
    const floor = floorSeconds(options.subscriptions, options.budget);
    const target = 1.15 * floor + options.lease.leaseMs / 1000;
    const last = settledAt.length === 0 ? null : Math.max(...settledAt);
    const drained = leftDue === 0 && emptyAt !== null ? (emptyAt - tick) / 1000 : null;
    const handovers = handoverTimes(leaderEvents);
    // The emulator stamps requests with the wall clock; the timeline counts from its own start.
    const epoch = cluster.timeline.startedAtEpochMs;
    const requestsAt = requests.map((e) => e.sentAt - epoch);
    const timeline = drainTimeline(options.subscriptions, settledAt, requestsAt, tick);
    const inDrain = drained === null ? [] : timeline.slice(1, Math.ceil(drained) + 1);
    return {
      shards,
      subscriptions: options.subscriptions,
      drainSeconds: drained,
      floorSeconds: floor,
      targetSeconds: target,
      met: drained !== null && drained <= target,
      lastSettledSeconds: last === null ? null : (last - tick) / 1000,
      meanStartupSeconds: meanSeconds(startups),
      handovers: handovers.releaseToLeaseMs.length,
      meanReleaseToLeaseSeconds: meanSeconds(handovers.releaseToLeaseMs),
      meanLeaseToFirstSettleSeconds: meanSeconds(handovers.leaseToFirstSettleMs),
      budgetUsed:
        drained === null
          ? null
          : requestsAt.filter((at) => at >= tick && at < tick + drained * 1000).length /
            (options.budget * drained),
      slowSeconds: inDrain.filter((p) => p.requests < options.budget / 2).length,
      cpu: {
        machine: cpu.machine,
        steal: cpu.steal,
        dynamodbLocal: javaPid === null ? null : (cpu.byPid.get(javaPid) ?? null),
        emulatorAndBench: cpu.byPid.get(process.pid) ?? null,
      },
      leftDue,
      invocations: cluster.processes.length,
      warmStarts: cluster.warmStarts,
      linksSent,
      linksFailed,
      charges: settledAt.length,
      providerRequests: requests.length,
      rateLimited: requests.filter((e) => e.outcome === 429).length,
      violationCount: invariants.violations.length,
      violations: invariants.violations.slice(0, 20),
      invocationLog: await Promise.all(cluster.processes.map(describe)),
      errors: cluster.processes.flatMap((p) =>
        p.error === null ? [] : [`${p.label}: ${p.error} ${p.textTail.slice(-3).join(" | ")}`.trim()],
      ),
      timeline,
    };
  } finally {
    await cluster.stop();
  }
}

function cores(busy: number | null): string {
  return busy === null ? "?" : busy.toFixed(2);
}

function meanSeconds(ms: readonly number[]): number | null {
  return ms.length === 0 ? null : ms.reduce((a, b) => a + b, 0) / ms.length / 1000;
}

/** One line per invocation, to read why a chain ended where it did. */
async function describe(p: ContenderProcess): Promise<string> {
  const exit = await p.exited;
  const led = (p.finished?.led ?? []).map(
    (s) => `shard ${s.shard} ${s.outcome}${s.stopReason ? ` (${s.stopReason})` : ""}`,
  );
  const continuation = (p.result as { continuation?: unknown } | undefined)?.continuation;
  const how = exit.timedOut ? "killed at its hard timeout" : `exit ${exit.code ?? exit.signal}`;
  return `${p.label}: ${how}; led ${led.length > 0 ? led.join(", ") : "nothing"}; continuation ${JSON.stringify(continuation ?? null)}`;
}

/**
 * After each whole second from the tick, until nothing is left: renewals left due, and the provider
 * requests received in that second.
 */
export function drainTimeline(
  total: number,
  settledAt: readonly number[],
  requestsAt: readonly number[],
  tick: number,
): DrainRow["timeline"] {
  const settled = [...settledAt].sort((a, b) => a - b);
  // The second that holds the last settle is the last point (a settle at tick + 2000 is in second 3).
  const last = settled.at(-1);
  const seconds = last === undefined ? 0 : Math.floor((Math.max(tick, last) - tick) / 1000) + 1;
  const requests = [...requestsAt].sort((a, b) => a - b);
  const points: DrainRow["timeline"] = [{ second: 0, left: total, requests: 0 }];
  let done = 0;
  let sent = requests.findIndex((at) => at >= tick);
  if (sent === -1) sent = requests.length;
  for (let second = 1; second <= seconds; second++) {
    const end = tick + second * 1000;
    while (done < settled.length && settled[done]! < end) done++;
    const from = sent;
    while (sent < requests.length && requests[sent]! < end) sent++;
    points.push({ second, left: total - done, requests: sent - from });
  }
  return points;
}

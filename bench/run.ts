/**
 * One benchmark run: starts DynamoDB Local and the Stripe emulator, runs the nine scenarios one after
 * the other (so their figures are measured side by side on the same machine, in the same minutes), and
 * returns the results with each figure beside its target.
 */
import { availableParallelism, cpus, loadavg } from "node:os";
import { BenchEnv } from "./env";
import { measureDynamoCeiling, type DynamoCeiling } from "./dynamo-ceiling";
import { startEmulator } from "./emulator";
import { MINIMUM_PER_CHARGE, transactionUnitsByRule } from "./capacity";
import type { Preset } from "./presets";
import { warmUp } from "./warm-up";
import { runThroughput, type ThroughputResult } from "./scenarios/throughput";
import { runFailover, type FailoverResult } from "./scenarios/failover";
import { runLeaseLatency, type LeaseLatencyRow } from "./scenarios/lease-latency";
import { runShards, type ShardRow } from "./scenarios/shards";
import { runAttempts, type AttemptsResult } from "./scenarios/attempts";
import { runBudget, type BudgetResult } from "./scenarios/budget";
import { runDrain, type DrainResult } from "./scenarios/drain";
import { round } from "./stats";

export interface Figure {
  readonly id: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** e.g. "≥ 0.9"; "—" where the issue sets none. */
  readonly target: string;
  /** null where there is no target. */
  readonly met: boolean | null;
}

export interface BenchResults {
  readonly generatedAt: string;
  readonly command: string;
  readonly preset: Preset["name"];
  readonly machine: {
    cores: number;
    cpu: string;
    node: string;
    platform: string;
    /** 1-minute load averages: other work on the machine slows every figure down. */
    loadAverage: { atStart: number; atEnd: number };
  };
  readonly durationSeconds: number;
  /** DynamoDB Local's JVM warm-up before the scenarios: the job's charges, seconds. */
  readonly warmUp: { charges: number; seconds: number };
  readonly figures: Figure[];
  readonly throughput: {
    readonly designed: ThroughputResult;
    readonly naive: ThroughputResult;
    readonly chargesRatio: number;
  };
  readonly failover: FailoverResult;
  readonly capacity: {
    /** How the units were obtained. */
    readonly source: string;
    /** The designed run (group commit): the headline. */
    readonly perCharge: { read: number; write: number };
    readonly minimum: { read: number; write: number };
    readonly ratio: { read: number; write: number };
    /** The naive run (one write at a time), as DynamoDB Local reported it. */
    readonly naive: {
      readonly perCharge: { read: number; write: number };
      readonly ratio: { read: number; write: number };
      /** Base tables vs index upkeep, per charge. */
      readonly split: { table: { read: number; write: number }; index: { read: number; write: number } };
      readonly byOperation: Record<string, { read: number; write: number; calls: number }>;
    };
    readonly designed: {
      /** What DynamoDB Local reported (too low for group commits; shown for transparency). */
      readonly reportedWrite: number;
      readonly transactionsPerCharge: number;
      readonly actionsPerTransaction: number;
      readonly byOperation: Record<string, { read: number; write: number; calls: number }>;
    };
    readonly unreported: Record<string, number>;
  };
  readonly leaseLatency: LeaseLatencyRow[];
  /** DynamoDB Local saturated, measured just before scenario 6 (bench/dynamo-ceiling.ts). */
  readonly dynamoCeiling: DynamoCeiling;
  readonly shards: ShardRow[];
  /** Provider requests per charge, per decline and per retry, from the emulator's request log. */
  readonly attempts: AttemptsResult;
  /** 1, 2 and 4 leaders under one account budget; possibly measured by a run of its own (`--scenario`). */
  readonly budget: BudgetSection;
  /** A backlog drained through continuation links; possibly measured by a run of its own. */
  readonly drain: DrainSection;
  readonly notes: string[];
}

/** Where a section came from: the whole benchmark's command, or `npm run bench -- --scenario NAME`. */
export interface MeasuredBy {
  readonly command: string;
  readonly generatedAt: string;
  readonly loadAverage: { atStart: number; atEnd: number };
}

export type BudgetSection = BudgetResult & MeasuredBy;
export type DrainSection = DrainResult & MeasuredBy;

export type Log = (line: string) => void;

export async function runBench(
  preset: Preset,
  command: string,
  log: Log = () => undefined,
): Promise<BenchResults> {
  const began = Date.now();
  const say = log;
  log = (line: string) => say(`[${((Date.now() - began) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const loadAtStart = round(loadavg()[0] ?? 0, 2);
  log(`bench (${preset.name}): starting DynamoDB Local and the Stripe emulator`);
  const [env, emulator] = await Promise.all([BenchEnv.start(), startEmulator()]);
  try {
    log(`creating ${preset.customers} customers with saved cards in the emulator`);
    await env.seedCustomers(emulator.url, preset.customers);
    log(
      `warming DynamoDB Local's JVM up: the job's first ${preset.warmUp.charges} charges (at most ${preset.warmUp.maxMs / 1000} s)`,
    );
    const warm = await warmUp(env, emulator, preset.warmUp);
    log(`    ${warm.charges} charges in ${(warm.ms / 1000).toFixed(1)} s`);
    log(
      `1/9 designed: concurrency ${preset.designed.concurrency}, client limit ${preset.clientRequestsPerSecond}/s, provider ${preset.provider.requestsPerSecond}/s at ${preset.provider.latencyMs} ms`,
    );
    const designed = await runThroughput(env, emulator, {
      label: "designed",
      ...preset.designed,
      accountRequestsPerSecond: preset.clientRequestsPerSecond,
      provider: preset.provider,
    });
    log(
      `    ${designed.requestsPerSecond.toFixed(1)} requests/s, ${designed.chargesPerSecond.toFixed(1)} charges/s`,
    );

    log("2/9 naive: one leader, one renewal at a time");
    const naive = await runThroughput(env, emulator, {
      label: "naive",
      ...preset.naive,
      concurrency: 1,
      pageSize: 100,
      accountRequestsPerSecond: preset.clientRequestsPerSecond,
      provider: preset.provider,
    });
    log(
      `    ${naive.requestsPerSecond.toFixed(1)} requests/s, ${naive.chargesPerSecond.toFixed(2)} charges/s`,
    );

    log(
      `3/9 failover: ${preset.failover.repetitions} leader deaths, lease ${preset.failover.lease.leaseDurationMs} ms`,
    );
    const failover = await runFailover(env, emulator, { ...preset.failover, seed: 42 });
    log(
      `    death to first charge: median ${failover.medianMs.toFixed(0)} ms, max ${failover.maxMs.toFixed(0)} ms`,
    );

    log("4/9 capacity per charge (from the designed and the naive run)");
    const capacity = capacityOf(designed, naive);

    log("5/9 lease acquisition latency");
    const leaseLatency = await runLeaseLatency(env, { rounds: preset.leaseRounds });

    log(`6/9 shards ${preset.shards.shardCounts.join(", ")} (one child process per contender)`);
    const dynamoCeiling = await measureDynamoCeiling(env, preset.shards.ceilingMs);
    log(
      `    DynamoDB Local saturated: ${dynamoCeiling.itemOperationsPerSecond.toFixed(0)} item operations/s (JVM ${dynamoCeiling.jvmCores?.toFixed(2) ?? "?"} cores)`,
    );
    const shards = await runShards(
      env,
      emulator,
      { ...preset.shards, subscriptions: () => preset.shards.subscriptions },
      dynamoCeiling,
    );
    for (const row of shards)
      log(`    ${row.shards} shard(s): ${row.chargesPerSecond.toFixed(0)} charges/s; ${row.bottleneck}`);

    const a = preset.attempts;
    log(
      `7/9 card attempts: books of ${a.subscriptions}, all cards succeed / ${a.declineShare * 100}% decline and ${a.authenticationShare * 100}% need authentication, then the dunning retry (requests from the emulator's log)`,
    );
    const attempts = await runAttempts(env, a, log);

    const budget = await measureBudget(env, emulator, preset, command, log);
    const drain = await measureDrain(preset, command, log);

    const chargesRatio = designed.chargesPerSecond / naive.chargesPerSecond;
    const results: BenchResults = {
      generatedAt: new Date().toISOString(),
      command,
      preset: preset.name,
      machine: {
        cores: availableParallelism(),
        cpu: cpus()[0]?.model ?? "unknown",
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        loadAverage: { atStart: loadAtStart, atEnd: round(loadavg()[0] ?? 0, 2) },
      },
      durationSeconds: round((Date.now() - began) / 1000, 1),
      warmUp: { charges: warm.charges, seconds: round(warm.ms / 1000, 1) },
      figures: [],
      throughput: { designed, naive, chargesRatio },
      failover,
      capacity,
      leaseLatency,
      dynamoCeiling,
      shards,
      attempts,
      budget,
      drain,
      notes: notes(designed, naive, capacity, shards),
    };
    const busiest = Math.max(results.machine.loadAverage.atStart, results.machine.loadAverage.atEnd);
    if (busiest > results.machine.cores) {
      results.notes.unshift(
        `the machine was busy with other work (1-minute load average up to ${busiest} on ${results.machine.cores} cores): every timing is lower than on an idle machine`,
      );
    }
    results.figures.push(...figures(results));
    return results;
  } finally {
    await emulator.stop();
    await env.stop();
  }
}

/** Scenario 8 in its own run: DynamoDB Local and the emulator, the customers, the warm-up, then only it. */
export async function runBudgetOnly(preset: Preset, command: string, log: Log): Promise<BudgetSection> {
  const began = Date.now();
  const say = log;
  log = (line: string) => say(`[${((Date.now() - began) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const [env, emulator] = await Promise.all([BenchEnv.start(), startEmulator()]);
  try {
    await env.seedCustomers(emulator.url, preset.customers);
    const warm = await warmUp(env, emulator, preset.warmUp);
    log(`warmed DynamoDB Local up: ${warm.charges} charges in ${(warm.ms / 1000).toFixed(1)} s`);
    return await measureBudget(env, emulator, preset, command, log);
  } finally {
    await emulator.stop();
    await env.stop();
  }
}

async function measureBudget(
  env: BenchEnv,
  emulator: Awaited<ReturnType<typeof startEmulator>>,
  preset: Preset,
  command: string,
  log: Log,
): Promise<BudgetSection> {
  const b = preset.budget;
  log(
    `8/9 one account budget of ${b.budget} req/s (the emulator's limit, ${b.latencyMs} ms) shared by ${b.shardCounts.join(", ")} leaders`,
  );
  return measured(command, () => runBudget(env, emulator, b, log));
}

/** Scenario 9, alone or in the whole run: it starts its own clusters (DynamoDB Local, emulator, links). */
export async function measureDrain(preset: Preset, command: string, log: Log): Promise<DrainSection> {
  const d = preset.drain;
  log(
    `9/9 drain: ${d.subscriptions} due renewals, provider ${d.budget} req/s at ${d.latencyMs} ms, invocations of ${d.invocationBudgetMs / 1000} s, one tick; ${d.shardCounts.join(", ")} shard(s)`,
  );
  return measured(command, () => runDrain(d, log));
}

async function measured<T>(command: string, run: () => Promise<T>): Promise<T & MeasuredBy> {
  const atStart = round(loadavg()[0] ?? 0, 2);
  const result = await run();
  return {
    ...result,
    command,
    generatedAt: new Date().toISOString(),
    loadAverage: { atStart, atEnd: round(loadavg()[0] ?? 0, 2) },
  };
}

/** The drain scenario's figures: the time against the floor and the issue's target. */
export function drainFigures(section: DrainSection): Figure[] {
  return section.rows.flatMap((row): Figure[] => {
    const n = `${row.shards} shard${row.shards === 1 ? "" : "s"}`;
    const seconds = row.drainSeconds ?? Number.POSITIVE_INFINITY;
    return [
      {
        id: `drain.${row.shards}.seconds`,
        figure: `drain: ${row.subscriptions} renewals, ${n}: tick → book empty (floor 2N/L = ${row.floorSeconds} s)`,
        value: round(seconds, 1),
        unit: "s",
        target: `≤ ${round(row.targetSeconds, 1)}`,
        met: row.met,
      },
      {
        id: `drain.${row.shards}.ofFloor`,
        figure: `drain: ${n}, time ÷ the floor`,
        value: round(seconds / row.floorSeconds, 3),
        unit: "×",
        target: "—",
        met: null,
      },
      {
        id: `drain.${row.shards}.budgetUsed`,
        figure: `drain: ${n}, provider requests ÷ what the budget allowed while it drained`,
        value: row.budgetUsed === null ? Number.NaN : round(row.budgetUsed, 3),
        unit: "×",
        target: "—",
        met: null,
      },
    ];
  });
}

/** The budget scenario's figures, against the issue's targets. */
export function budgetFigures(section: BudgetSection): Figure[] {
  const out: Figure[] = [];
  for (const row of section.rows) {
    const n = `${row.shards} leader${row.shards === 1 ? "" : "s"}`;
    out.push(
      {
        id: `budget.${row.shards}.busiest5s`,
        figure: `budget: ${n}, summed requests/s in the busiest 5 s ÷ budget (${section.options.budget}/s)`,
        value: round(row.busiest5sRatio, 3),
        unit: "×",
        target: "≤ 1.05",
        met: row.busiest5sRatio <= 1.05,
      },
      {
        id: `budget.${row.shards}.average`,
        figure: `budget: ${n}, summed requests/s on average ÷ budget`,
        value: round(row.averageRatio, 3),
        unit: "×",
        target: "≥ 0.9",
        met: row.averageRatio >= 0.9,
      },
      {
        id: `budget.${row.shards}.rateLimitedShare`,
        figure: `budget: ${n}, requests answered 429`,
        value: round(100 * row.rateLimitedShare, 2),
        unit: "%",
        target: "< 1",
        met: row.rateLimitedShare < 0.01,
      },
    );
  }
  return out;
}

/**
 * Capacity per successful charge. Reads: as DynamoDB Local reported them (single-item reads and
 * queries, which it prices by the rules). Writes: the naive run's transactions carry one item per table,
 * so DynamoDB Local's report of them is right, and is taken as reported; the designed run's group
 * commits carry many, which DynamoDB Local under-reports (bench/capacity.ts), so its transactions are
 * priced by the documented rule from their actions, plus the index upkeep per charge the naive run
 * reported (one index update per changed item whatever the batching).
 */
function capacityOf(designed: ThroughputResult, naive: ThroughputResult): BenchResults["capacity"] {
  const per = (units: { read: number; write: number }, n: number) => ({
    read: units.read / n,
    write: units.write / n,
  });
  const nN = naive.totals.succeeded;
  const dN = designed.totals.succeeded;
  const np = naive.capacity.probe;
  const dp = designed.capacity.probe;
  const naivePerCharge = per(
    {
      read: naive.capacity.meter.read + np.estimated.read,
      write: naive.capacity.meter.write + np.estimated.write,
    },
    nN,
  );
  const indexPerCharge = np.reported.transactions.index.write / nN;
  const ruleTransactions = transactionUnitsByRule(dp.transactions, designed.capacity.largestItems);
  const single = dp.reported.single;
  const designedPerCharge = {
    read: (designed.capacity.meter.read + dp.estimated.read) / dN,
    write:
      (ruleTransactions + single.table.write + single.index.write + dp.estimated.write) / dN + indexPerCharge,
  };
  const unreported = { ...np.unreported, ...dp.unreported };
  const source = [
    "reads: ReturnConsumedCapacity as DynamoDB Local reported it (CapacityMeter)",
    "naive writes: as reported (one item per table per transaction, which DynamoDB Local prices right)",
    `designed writes: DynamoDB Local under-reports group-committed transactions (it rounds the summed size of a table's items once), so they are priced by the documented rule, 2 WCU per action per KB rounded up per item (largest items: ${Object.values(
      designed.capacity.largestItems,
    )
      .map((b) => `${b} B`)
      .join(", ")}), plus the naive run's reported index upkeep per charge`,
    Object.keys(unreported).length === 0
      ? "DynamoDB Local returned ConsumedCapacity for every successful request"
      : `DynamoDB Local returned no ConsumedCapacity for ${Object.keys(unreported).join(", ")}: computed from the documented rules`,
  ].join("; ");
  return {
    source,
    perCharge: designedPerCharge,
    minimum: { ...MINIMUM_PER_CHARGE },
    ratio: {
      read: designedPerCharge.read / MINIMUM_PER_CHARGE.read,
      write: designedPerCharge.write / MINIMUM_PER_CHARGE.write,
    },
    naive: {
      perCharge: naivePerCharge,
      ratio: {
        read: naivePerCharge.read / MINIMUM_PER_CHARGE.read,
        write: naivePerCharge.write / MINIMUM_PER_CHARGE.write,
      },
      split: {
        table: per(
          {
            read: np.reported.single.table.read + np.reported.transactions.table.read,
            write: np.reported.single.table.write + np.reported.transactions.table.write,
          },
          nN,
        ),
        index: per(
          {
            read: np.reported.single.index.read + np.reported.transactions.index.read,
            write: np.reported.single.index.write + np.reported.transactions.index.write,
          },
          nN,
        ),
      },
      byOperation: perOperation(naive),
    },
    designed: {
      reportedWrite: (designed.capacity.meter.write + dp.estimated.write) / dN,
      transactionsPerCharge: dp.transactions.count / dN,
      actionsPerTransaction: dp.transactions.actions / Math.max(1, dp.transactions.count),
      byOperation: perOperation(designed),
    },
    unreported,
  };
}

function perOperation(run: ThroughputResult): Record<string, { read: number; write: number; calls: number }> {
  const n = run.totals.succeeded;
  return Object.fromEntries(
    Object.entries(run.capacity.byOperation).map(([op, v]) => [
      op,
      { read: v.read / n, write: v.write / n, calls: v.calls / n },
    ]),
  );
}

function figures(r: BenchResults): Figure[] {
  const { designed, naive, chargesRatio } = r.throughput;
  const f = (
    id: string,
    figure: string,
    value: number,
    unit: string,
    target = "—",
    met: boolean | null = null,
  ): Figure => ({
    id,
    figure,
    value: round(value, value >= 100 ? 1 : 3),
    unit,
    target,
    met,
  });
  const out: Figure[] = [
    f(
      "designed.requestsPerSecond",
      `designed: provider requests/s (limit ${designed.provider.requestsPerSecond}/s, ${designed.provider.latencyMs} ms)`,
      designed.requestsPerSecond,
      "req/s",
    ),
    f(
      "designed.ratioOfLimit",
      "designed: requests/s ÷ provider limit",
      designed.ratioOfLimit,
      "×",
      "≥ 0.9",
      designed.ratioOfLimit >= 0.9,
    ),
    f("designed.chargesPerSecond", "designed: charges/s", designed.chargesPerSecond, "charges/s"),
    f(
      "designed.requestsPerCharge",
      "provider requests per charge (create + confirm)",
      designed.totals.requestsPerCharge,
      "req",
    ),
    f("naive.chargesPerSecond", "naive (concurrency 1): charges/s", naive.chargesPerSecond, "charges/s"),
    f("naive.requestsPerSecond", "naive: provider requests/s", naive.requestsPerSecond, "req/s"),
    f("throughput.ratio", "designed ÷ naive charges/s", chargesRatio, "×", "≥ 25", chargesRatio >= 25),
    f(
      "failover.median",
      `failover: death → successor's first charge ÷ lease (${r.failover.lease.leaseDurationMs} ms), median`,
      r.failover.medianRatio,
      "×",
      "≤ 1.5",
      r.failover.medianRatio <= 1.5,
    ),
    f(
      "failover.max",
      `failover: same, max of ${r.failover.repetitions.length}`,
      r.failover.maxRatio,
      "×",
      "≤ 1.5",
      r.failover.maxRatio <= 1.5,
    ),
    f(
      "capacity.read",
      `designed: RCU per charge (minimum ${r.capacity.minimum.read})`,
      r.capacity.perCharge.read,
      "RCU",
    ),
    f(
      "capacity.readRatio",
      "designed: RCU per charge ÷ minimum",
      r.capacity.ratio.read,
      "×",
      "≤ 2",
      r.capacity.ratio.read <= 2,
    ),
    f(
      "capacity.write",
      `designed: WCU per charge (minimum ${r.capacity.minimum.write})`,
      r.capacity.perCharge.write,
      "WCU",
    ),
    f(
      "capacity.writeRatio",
      "designed: WCU per charge ÷ minimum",
      r.capacity.ratio.write,
      "×",
      "≤ 2",
      r.capacity.ratio.write <= 2,
    ),
    f("capacity.naive.write", "naive: WCU per charge, as reported", r.capacity.naive.perCharge.write, "WCU"),
    f(
      "capacity.naive.writeRatio",
      "naive: WCU per charge ÷ minimum",
      r.capacity.naive.ratio.write,
      "×",
      "≤ 2",
      r.capacity.naive.ratio.write <= 2,
    ),
  ];
  for (const row of r.leaseLatency) {
    out.push(
      f(`lease.p50.${row.contenders}`, `lease acquire p50, ${row.contenders} contender(s)`, row.p50Ms, "ms"),
    );
    out.push(
      f(`lease.p99.${row.contenders}`, `lease acquire p99, ${row.contenders} contender(s)`, row.p99Ms, "ms"),
    );
  }
  for (const row of r.shards) {
    out.push(
      f(
        `shards.${row.shards}`,
        `${row.shards} shard(s), ${row.contenders} contender process(es): charges/s`,
        row.chargesPerSecond,
        "charges/s",
      ),
    );
  }
  const peak = [...r.shards].sort((a, b) => b.chargesPerSecond - a.chargesPerSecond)[0];
  if (peak) {
    out.push(
      f(
        "shards.peak",
        `shards: the job's peak on this machine (${peak.shards} shard(s))`,
        peak.chargesPerSecond,
        "charges/s",
        "≥ 500",
        peak.chargesPerSecond >= 500,
      ),
      f(
        "shards.itemOperationsPerCharge",
        "shards: DynamoDB item operations per charge",
        peak.dynamo.itemOperationsPerCharge,
        "items",
      ),
      f(
        "shards.dynamoRequestMs",
        `shards: the job's DynamoDB requests, mean (idle DynamoDB Local: ${r.dynamoCeiling.idleRequestMs.toFixed(1)} ms)`,
        peak.dynamo.meanRequestMs,
        "ms",
      ),
      f(
        "dynamo.ceiling",
        "DynamoDB Local saturated: item operations/s",
        r.dynamoCeiling.itemOperationsPerSecond,
        "items/s",
      ),
    );
    if (peak.jobCpuMsPerCharge !== null) {
      out.push(
        f(
          "shards.jobCpuMsPerCharge",
          "shards: the job's own CPU per charge (contender processes)",
          peak.jobCpuMsPerCharge,
          "ms",
        ),
      );
    }
  }
  out.push(...attemptFigures(r.attempts, f));
  out.push(...budgetFigures(r.budget));
  out.push(...drainFigures(r.drain));
  return out;
}

function attemptFigures(
  a: AttemptsResult,
  f: (id: string, figure: string, value: number, unit: string) => Figure,
): Figure[] {
  const floor = a.floor;
  const pct = (share: number) => `${round(share * 100, 1)}%`;
  const b = a.options;
  const withRatio = (id: string, figure: string, value: number) => [
    f(id, figure, value, "req"),
    f(`${id}.ratio`, `  ÷ the floor of ${floor} requests per charge`, value / floor, "×"),
  ];
  return [
    ...withRatio(
      "attempts.perCharge",
      "attempts (a), every card succeeds: provider requests per charge, the sweep included",
      a.perSuccessfulCharge.all,
    ),
    f(
      "attempts.perCharge.own",
      "attempts (a): the charge's own PaymentIntent (create + confirm)",
      a.perSuccessfulCharge.own,
      "req",
    ),
    f(
      "attempts.sweepPerCharge",
      "attempts (a): the sweep's requests per charge (one list per 100 PaymentIntents)",
      a.perSuccessfulCharge.sweep,
      "req",
    ),
    ...withRatio(
      "attempts.perDecline",
      "attempts (b): requests per first-attempt decline (create + confirm + cancel)",
      a.perDecline,
    ),
    f(
      "attempts.perAuthenticationRequired",
      "attempts (b): per authentication-required (create + confirm + cancel)",
      a.perAuthenticationRequired,
      "req",
    ),
    ...withRatio(
      "attempts.mixed.perCharge",
      `attempts (b), ${pct(b.declineShare)} decline, ${pct(b.authenticationShare)} need authentication: requests per successful charge`,
      a.mixedPerSuccessfulCharge,
    ),
    ...withRatio(
      "attempts.perRetry",
      "attempts (c), dunning retry: requests per retry (create + confirm [+ cancel])",
      a.perRetry.all,
    ),
    f(
      "attempts.perRetry.succeeded",
      "attempts (c): per retry that succeeds (new card)",
      a.perRetry.succeeded,
      "req",
    ),
    f(
      "attempts.perRetry.declinedAgain",
      "attempts (c): per retry declined again",
      a.perRetry.declinedAgain,
      "req",
    ),
    f(
      "attempts.sweepPerRetry",
      "attempts (c): the sweep's requests per retry (re-lists (b)'s, its 1-hour overlap)",
      a.perRetry.sweepPerRetry,
      "req",
    ),
  ];
}

function notes(
  designed: ThroughputResult,
  naive: ThroughputResult,
  capacity: BenchResults["capacity"],
  shards: ShardRow[],
): string[] {
  const out: string[] = [`capacity: ${capacity.source}`];
  if (designed.ranOutOfWork)
    out.push("designed: the leader ran out of due subscriptions before the window ended; seed more");
  if (naive.ranOutOfWork)
    out.push("naive: the leader ran out of due subscriptions before the window ended; seed more");
  if (designed.totals.rateLimited > 0) {
    out.push(
      `designed: the emulator answered ${designed.totals.rateLimited} requests with 429 (retried by the gateway)`,
    );
  }
  for (const row of shards) {
    if (row.ranOutOfWork)
      out.push(`shards ${row.shards}: a leader finished its shard before the window ended; seed more`);
    for (const e of row.errors) out.push(`shards ${row.shards}: ${e}`);
  }
  for (const row of shards) out.push(`shards: bottleneck at ${row.shards} shard(s): ${row.bottleneck}`);
  return out;
}

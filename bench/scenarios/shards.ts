/**
 * Where the job itself tops out on this machine: 1, 2, 4 and 8 shards with as many contenders, each
 * contender a child process (as Lambda invocations are separate processes; on 2 cores in-process
 * contenders would share one event loop and hide the cost), against a provider that allows 1000
 * requests/s with low latency. Each contender runs with the job's default settings (32 renewals at once),
 * under one account budget of 95% of the limit, which the leaders share. Charges are counted up to the
 * deadline; then the contenders are abandoned (killed, tables thrown away) rather than drained.
 *
 * To say what the run waited on, the steady window samples CPU time from /proc (DynamoDB Local's JVM,
 * the contender processes, and this process, which hosts the emulator), counts the DynamoDB items the
 * contenders' requests touched and times those requests, beside DynamoDB Local saturated and idle,
 * measured earlier in the same run (bench/dynamo-ceiling.ts). Saturated on purpose, DynamoDB Local's
 * JVM used about one core of two here, so it can be the bottleneck with a core to spare: its requests
 * then queue.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AS_OF, type BenchEnv, type BenchTables } from "../env";
import { CpuWindow } from "../cpu";
import type { DynamoCeiling } from "../dynamo-ceiling";
import { tally, type StripeEmulator } from "../emulator";
import type { DoneMessage, RunMessage } from "../shard-worker";

export interface ShardsOptions {
  readonly shardCounts: readonly number[];
  readonly subscriptions: (shards: number) => number;
  readonly concurrency: number;
  readonly pageSize: number;
  readonly provider: { readonly latencyMs: number; readonly requestsPerSecond: number };
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface CpuShares {
  /** Cores busy on average during the window (1.0 = one core); null where /proc could not be read. */
  readonly dynamodbLocal: number | null;
  readonly contenders: number | null;
  readonly emulatorAndBench: number | null;
  /** The three above. */
  readonly total: number | null;
  /** The whole machine, other people's processes included. */
  readonly machine: number | null;
  readonly cores: number;
}

export interface DynamoLoad {
  /** DynamoDB items the contenders' requests touched per second in the window. */
  readonly itemOperationsPerSecond: number;
  /** Per successful charge in the window (renewals in flight at its ends make this approximate). */
  readonly itemOperationsPerCharge: number;
  /** itemOperationsPerSecond over the ceiling measured in this run; null without a ceiling. */
  readonly shareOfCeiling: number | null;
  /** Mean time the contenders' DynamoDB requests took in the window. */
  readonly meanRequestMs: number;
}

export interface ShardRow {
  readonly shards: number;
  readonly provider: ShardsOptions["provider"];
  readonly contenders: number;
  readonly subscriptions: number;
  readonly chargesPerSecond: number;
  readonly requestsPerSecond: number;
  readonly rateLimited: number;
  readonly otherOutcomes: number;
  readonly cpu: CpuShares;
  readonly dynamo: DynamoLoad;
  /** CPU milliseconds the contender processes spent per successful charge: the job's own cost. */
  readonly jobCpuMsPerCharge: number | null;
  readonly bottleneck: string;
  readonly ranOutOfWork: boolean;
  readonly errors: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

export async function runShards(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: ShardsOptions,
  ceiling: DynamoCeiling | null,
): Promise<ShardRow[]> {
  const pool = await startWorkers(Math.max(...options.shardCounts));
  const rows: ShardRow[] = [];
  try {
    for (const shards of options.shardCounts) {
      rows.push(await runOne(env, emulator, options, ceiling, shards, pool.slice(0, shards)));
    }
  } finally {
    emulator.setFaults({});
    await Promise.all(pool.map(stopWorker));
  }
  return rows;
}

async function runOne(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: ShardsOptions,
  ceiling: DynamoCeiling | null,
  shards: number,
  workers: ChildProcess[],
): Promise<ShardRow> {
  const tables = await env.tables(`shards${shards}`);
  const subscriptions = options.subscriptions(shards);
  emulator.setFaults({});
  await env.seed(tables, subscriptions, shards, `sh${shards}`);
  emulator.setFaults({
    latencyMs: options.provider.latencyMs,
    rateLimit: { requestsPerSecond: options.provider.requestsPerSecond },
  });

  const startAt = Date.now() + 300;
  const windowStart = startAt + options.warmupMs;
  const deadline = windowStart + options.durationMs;
  const runId = `bench-shards${shards}-${randomUUID().slice(0, 8)}`;
  const done = startRun(workers, tables, emulator, {
    runId,
    startAt,
    windowStart,
    deadline,
    concurrency: options.concurrency,
    pageSize: options.pageSize,
    // One budget for the account: the leaders share it (functions/core/billing-run/budget-pacer.ts).
    accountRequestsPerSecond: Math.floor(0.95 * options.provider.requestsPerSecond),
  });

  const pids = workers.map((w) => w.pid!);
  const window = new CpuWindow([...(env.javaPid ? [env.javaPid] : []), process.pid, ...pids]);
  await sleepUntil(windowStart);
  const first = tally(emulator);
  window.begin();
  await sleepUntil(deadline);
  const { byPid: cpu, machine } = window.end();
  const last = tally(emulator);
  const results = await Promise.all(done);
  emulator.setFaults({});

  const seconds = (last.at - first.at) / 1000;
  const charges = results.flatMap((r) => r.chargeTimes).filter((t) => t >= first.at && t < last.at).length;
  const sum = (values: (number | null | undefined)[]) =>
    values.some((v) => v == null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0);
  const shares: CpuShares = {
    dynamodbLocal: env.javaPid ? (cpu.get(env.javaPid) ?? null) : null,
    contenders: sum(pids.map((p) => cpu.get(p))),
    emulatorAndBench: cpu.get(process.pid) ?? null,
    total: null,
    machine,
    cores: availableParallelism(),
  };
  const total = sum([shares.dynamodbLocal, shares.contenders, shares.emulatorAndBench]);
  const withTotal = { ...shares, total };
  const itemOperationsPerSecond =
    results.reduce((n, r) => n + r.itemOperationsInWindow, 0) / ((deadline - windowStart) / 1000);
  const dynamoRequests = results.reduce((n, r) => n + r.dynamoRequestsInWindow, 0);
  const dynamo: DynamoLoad = {
    meanRequestMs:
      dynamoRequests === 0 ? 0 : results.reduce((n, r) => n + r.dynamoRequestMsInWindow, 0) / dynamoRequests,
    itemOperationsPerSecond,
    itemOperationsPerCharge: charges > 0 ? (itemOperationsPerSecond * seconds) / charges : 0,
    shareOfCeiling: ceiling ? itemOperationsPerSecond / ceiling.itemOperationsPerSecond : null,
  };
  return {
    shards,
    provider: options.provider,
    contenders: shards,
    subscriptions,
    chargesPerSecond: charges / seconds,
    requestsPerSecond: (last.total - last.rateLimited - (first.total - first.rateLimited)) / seconds,
    rateLimited: last.rateLimited - first.rateLimited,
    otherOutcomes: results.reduce((n, r) => n + r.otherOutcomes, 0),
    cpu: withTotal,
    dynamo,
    jobCpuMsPerCharge:
      shares.contenders === null || charges === 0 ? null : (shares.contenders * 1000 * seconds) / charges,
    bottleneck: bottleneck(withTotal, dynamo, ceiling),
    ranOutOfWork: results.some((r) => r.completeBeforeDeadline),
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}

/**
 * Names what the run waited on, from three readings of the same window:
 * 1. DynamoDB Local at its saturated state (bench/dynamo-ceiling.ts), within 15%, by either its JVM's CPU
 *    or the items it served per second (the second understates: the job's conditional updates and index
 *    upkeep cost it more per item than the probe's plain puts);
 * 2. the machine's cores busy: the CPU, and who used it most;
 * 3. the job's DynamoDB requests taking at least 3 times as long as on an idle DynamoDB Local, with cores
 *    to spare: they queued at DynamoDB Local.
 * Otherwise nothing local held the job back (the provider's latency and rate limit did).
 */
export function bottleneck(cpu: CpuShares, dynamo?: DynamoLoad, ceiling?: DynamoCeiling | null): string {
  const jvmShare =
    ceiling?.jvmCores && cpu.dynamodbLocal !== null ? cpu.dynamodbLocal / ceiling.jvmCores : null;
  const itemShare = dynamo?.shareOfCeiling ?? null;
  const pct = (x: number | null) => (x === null ? "?" : `${Math.round(100 * x)}%`);
  const dynamoReadings =
    dynamo && ceiling
      ? `${dynamo.itemOperationsPerSecond.toFixed(0)} item operations/s (${dynamo.itemOperationsPerCharge.toFixed(1)} per charge), ${pct(itemShare)} of the ${ceiling.itemOperationsPerSecond.toFixed(0)}/s it served saturated; its JVM at ${cpu.dynamodbLocal?.toFixed(2) ?? "?"} cores, ${pct(jvmShare)} of saturated; requests took ${dynamo.meanRequestMs.toFixed(1)} ms on average, ${ceiling.idleRequestMs.toFixed(1)} ms idle`
      : null;
  if (dynamoReadings && Math.max(jvmShare ?? 0, itemShare ?? 0) >= 0.85) {
    return `DynamoDB Local, saturated: ${dynamoReadings}`;
  }
  if (
    cpu.total === null ||
    cpu.dynamodbLocal === null ||
    cpu.contenders === null ||
    cpu.emulatorAndBench === null
  ) {
    return "unknown (no /proc)";
  }
  const machine = Math.max(cpu.machine ?? cpu.total, cpu.total);
  const parts: [string, number][] = [
    ["DynamoDB Local", cpu.dynamodbLocal],
    ["the job's contenders", cpu.contenders],
    ["the emulator", cpu.emulatorAndBench],
    ["other processes on the machine", machine - cpu.total],
  ];
  const [name, top] = [...parts].sort((a, b) => b[1] - a[1])[0]!;
  const share = Math.round((100 * top) / Math.max(machine, 1e-9));
  const ours = parts
    .slice(0, 3)
    .map(([n, v]) => `${n} ${v.toFixed(2)}`)
    .join(", ");
  if (machine >= 0.85 * cpu.cores) {
    return `CPU: ${machine.toFixed(2)} of ${cpu.cores} cores busy, most by ${name} (${share}%); cores: ${ours}`;
  }
  if (dynamoReadings && dynamo && ceiling && dynamo.meanRequestMs >= 3 * ceiling.idleRequestMs) {
    return `DynamoDB Local, requests queued: ${dynamoReadings}; ${machine.toFixed(2)} of ${cpu.cores} cores busy (${ours})`;
  }
  return `nothing local: ${machine.toFixed(2)} of ${cpu.cores} cores busy (${ours}); the job waited on the provider's latency and rate limit`;
}

/** Contender processes (bench/shard-worker.ts), ready for `run` messages. */
export async function startWorkers(count: number): Promise<ChildProcess[]> {
  const workers = Array.from({ length: count }, () =>
    fork(join(here, "..", "shard-worker.ts"), [], {
      cwd: root,
      execArgv: ["--import", "tsx"],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    }),
  );
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve());
          w.once("exit", (code) =>
            reject(new Error(`shard worker exited before it was ready (code ${code})`)),
          );
        }),
    ),
  );
  return workers;
}

/**
 * Sends every worker the same run as its own shard of `workers.length` and gives their done messages.
 * The shards and budget scenarios start their contenders alike and differ only in these timings and
 * limits, so the message is put together here once.
 */
export function startRun(
  workers: ChildProcess[],
  tables: BenchTables,
  emulator: StripeEmulator,
  run: Omit<RunMessage, "type" | "tables" | "emulatorUrl" | "shardCount" | "index" | "asOf">,
): Promise<DoneMessage>[] {
  return workers.map((worker, index) => {
    const message: RunMessage = {
      type: "run",
      tables: { endpoint: tables.endpoint, names: tables.names },
      emulatorUrl: emulator.url,
      shardCount: workers.length,
      index,
      asOf: AS_OF,
      ...run,
    };
    const result = nextDone(worker);
    worker.send(message);
    return result;
  });
}

/** The worker's next `done` message. */
export function nextDone(worker: ChildProcess): Promise<DoneMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: DoneMessage) => {
      if (message.type !== "done") return;
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`shard worker exited (code ${code})`));
    worker.on("message", onMessage);
    worker.once("exit", onExit);
  });
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.send({ type: "exit" });
  const timer = setTimeout(() => worker.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * One Stripe budget for the account, shared by 1, 2 and 4 leaders (functions/core/billing-run/
 * budget-pacer.ts): each configuration runs one contender process per shard, every one given the same
 * account budget, against the emulator's token bucket at exactly that budget. The emulator's request log
 * says when every request arrived, whoever sent it, 429s included; from it come the figures the issue
 * sets: the leaders' summed request rate in the busiest 5-second window (at most 1.05 × the budget), its
 * average over the measured window (at least 0.9 ×), and the share of requests answered 429 (under 1%).
 *
 * The bucket holds a second's requests (the emulator's default burst; Stripe does not document its own):
 * the busiest-window figure, not the bucket, is what says whether the leaders kept within the budget.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { PacingStats } from "../../functions/core/billing-run/budget-pacer";
import type { BenchEnv } from "../env";
import type { StripeEmulator } from "../emulator";
import { round } from "../stats";
import { startRun, startWorkers, stopWorker } from "./shards";

export interface BudgetOptions {
  readonly shardCounts: readonly number[];
  /** The account's budget (every leader's setting) and the emulator's limit, requests per second. */
  readonly budget: number;
  /** The emulator's bucket: this many seconds of the budget saved up at most. */
  readonly burstSeconds: number;
  readonly latencyMs: number;
  /** Renewals in flight over all the leaders together (each leader gets its part). */
  readonly concurrency: number;
  /** Time allowed for the contender processes to send their first request. */
  readonly startupMs: number;
  /** From the first request to the measured window. */
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface BudgetRow {
  readonly shards: number;
  readonly subscriptions: number;
  /** Requests that reached the emulator in the measured window (429s included) and the 429s among them. */
  readonly requests: number;
  readonly rateLimited: number;
  readonly windowSeconds: number;
  /** The summed rate of the leaders in the busiest 5-second window, and over the whole window. */
  readonly busiest5sPerSecond: number;
  readonly averagePerSecond: number;
  readonly busiest5sRatio: number;
  readonly averageRatio: number;
  readonly rateLimitedShare: number;
  /** Requests (and 429s) per second from the first leader's start, for the chart. */
  readonly timeline: { second: number; requests: number; rateLimited: number }[];
  readonly window: { from: number; to: number };
  /** What each leader's pacer saw: its requests, its 429s, the leaders it counted, its rate at the end. */
  readonly leaders: { shard: number | null; pacing: PacingStats | null }[];
  readonly ranOutOfWork: boolean;
  readonly errors: string[];
}

export interface BudgetResult {
  readonly options: BudgetOptions;
  readonly rows: BudgetRow[];
}

const WINDOW_MS = 5_000;

export async function runBudget(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: BudgetOptions,
  log: (line: string) => void = () => undefined,
): Promise<BudgetResult> {
  const rows: BudgetRow[] = [];
  const workers = await startWorkers(Math.max(...options.shardCounts));
  try {
    for (const shards of options.shardCounts) {
      const row = await runOne(env, emulator, options, shards, workers.slice(0, shards));
      log(
        `    ${shards} leader(s): busiest 5 s ${row.busiest5sPerSecond.toFixed(1)} req/s (${row.busiest5sRatio.toFixed(3)} × budget), average ${row.averagePerSecond.toFixed(1)} (${row.averageRatio.toFixed(3)} ×), 429s ${(100 * row.rateLimitedShare).toFixed(2)}%`,
      );
      rows.push(row);
    }
  } finally {
    emulator.setFaults({});
    await Promise.all(workers.map(stopWorker));
  }
  return { options, rows };
}

async function runOne(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: BudgetOptions,
  shards: number,
  workers: ChildProcess[],
): Promise<BudgetRow> {
  const tables = await env.tables(`budget${shards}`);
  // Enough for the whole run at two requests per charge, and a third more.
  const seconds = (options.startupMs + options.warmupMs + options.durationMs) / 1000;
  const subscriptions = Math.ceil(((options.budget / 2) * seconds * 4) / 3);
  emulator.setFaults({});
  await env.seed(tables, subscriptions, shards, `bu${shards}`);
  const seqBefore = emulator.requestLog().entries.at(-1)?.seq ?? 0;
  emulator.setFaults({
    latencyMs: options.latencyMs,
    rateLimit: {
      requestsPerSecond: options.budget,
      burst: Math.max(1, Math.round(options.budget * options.burstSeconds)),
    },
  });

  const startAt = Date.now() + 300;
  // The contenders bill until the deadline; the window opens a warm-up after the first request arrived
  // (starting a contender process and its first reads take seconds on a busy machine).
  const deadline = startAt + options.startupMs + options.warmupMs + options.durationMs;
  const runId = `bench-budget${shards}-${randomUUID().slice(0, 8)}`;
  const done = startRun(workers, tables, emulator, {
    runId,
    startAt,
    windowStart: startAt,
    deadline,
    concurrency: Math.ceil(options.concurrency / shards),
    pageSize: 1000,
    accountRequestsPerSecond: options.budget,
  });
  const results = await Promise.all(done);
  emulator.setFaults({});
  tables.doc.destroy();

  const entries = emulator.requestLog(seqBefore).entries;
  const sent = entries.map((e) => ({ at: e.sentAt, limited: e.outcome === 429 }));
  const firstAt = Math.min(deadline, ...sent.map((e) => e.at));
  const windowStart = Math.min(firstAt + options.warmupMs, deadline);
  const windowEnd = Math.min(windowStart + options.durationMs, deadline);
  const inWindow = sent.filter((e) => e.at >= windowStart && e.at < windowEnd);
  const requests = inWindow.length;
  const rateLimited = inWindow.filter((e) => e.limited).length;
  const windowSeconds = (windowEnd - windowStart) / 1000;
  // A measured window shorter than 5 s (the smoke test's) is its own busiest window.
  const spanSeconds = Math.min(WINDOW_MS, windowEnd - windowStart) / 1000;
  const busiest =
    busiestWindow(
      inWindow.map((e) => e.at),
      windowStart,
      windowEnd,
    ) / spanSeconds;
  const averagePerSecond = requests / windowSeconds;
  const runSeconds = Math.ceil((deadline - startAt) / 1000);
  const timeline = Array.from({ length: runSeconds }, (_, i) => {
    const from = startAt + i * 1000;
    const bucket = sent.filter((e) => e.at >= from && e.at < from + 1000);
    return {
      second: i + 1,
      requests: bucket.length,
      rateLimited: bucket.filter((e) => e.limited).length,
    };
  });
  return {
    shards,
    subscriptions,
    requests,
    rateLimited,
    windowSeconds,
    busiest5sPerSecond: busiest,
    averagePerSecond,
    busiest5sRatio: busiest / options.budget,
    averageRatio: averagePerSecond / options.budget,
    rateLimitedShare: requests === 0 ? 0 : rateLimited / requests,
    timeline,
    window: { from: (windowStart - startAt) / 1000, to: (windowEnd - startAt) / 1000 },
    leaders: results.map((r) => ({ shard: r.shardsLed[0] ?? null, pacing: r.pacing ?? null })),
    ranOutOfWork: results.some((r) => r.completeBeforeDeadline),
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
  };
}

/**
 * The most requests in any 5 seconds wholly inside [from, to): every window that starts at a request or
 * ends at the bounds is looked at, so none is missed.
 */
export function busiestWindow(times: readonly number[], from: number, to: number): number {
  const sorted = [...times].filter((t) => t >= from && t < to).sort((a, b) => a - b);
  if (to - from <= WINDOW_MS) return sorted.length;
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    const windowStart = Math.min(sorted[start]!, to - WINDOW_MS);
    while (end < sorted.length && sorted[end]! < windowStart + WINDOW_MS) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/** The figures of the scenario, rounded for results.json. */
export function summary(row: BudgetRow): Record<string, number> {
  return {
    busiest5sRatio: round(row.busiest5sRatio, 3),
    averageRatio: round(row.averageRatio, 3),
    rateLimitedShare: round(row.rateLimitedShare, 4),
  };
}

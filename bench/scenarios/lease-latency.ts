/**
 * Lease acquisition latency: in each round, N contenders (each with its own LeaseClient and DynamoDB
 * client, as separate invocations have) call LeaseClient.acquire on the same fresh lease key at once.
 * One wins; the others learn who holds it. Every call's latency counts, the winner's and the losers'.
 */
import { performance } from "node:perf_hooks";
import { DynamoLeaseStore } from "../../functions/aws/dynamo-lease-store";
import { createDocumentClient } from "../../functions/aws/dynamo";
import { systemClock } from "../../functions/core/clock";
import { LeaseClient } from "../../functions/core/lease/lease-client";
import type { BenchEnv } from "../env";
import { percentile } from "../stats";

export interface LeaseLatencyOptions {
  /** Contenders per round → rounds. */
  readonly rounds: Record<number, number>;
}

export interface LeaseLatencyRow {
  readonly contenders: number;
  readonly rounds: number;
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Rounds that did not end with exactly one holder (must be 0), and calls that threw. */
  readonly roundsWithoutOneWinner: number;
  readonly errors: number;
}

export async function runLeaseLatency(
  env: BenchEnv,
  options: LeaseLatencyOptions,
): Promise<LeaseLatencyRow[]> {
  const tables = await env.tables("lease");
  const most = Math.max(...Object.keys(options.rounds).map(Number));
  const clients = Array.from({ length: most }, () => {
    const doc = createDocumentClient({ endpoint: env.endpoint });
    return { doc, lease: new LeaseClient(new DynamoLeaseStore(doc, tables.names.leases), systemClock) };
  });
  const rows: LeaseLatencyRow[] = [];
  try {
    // Warm the connections so the first round does not pay for them.
    await Promise.all(clients.map((c, i) => c.lease.inspect(`bench/warm-${i}`)));
    for (const [n, rounds] of Object.entries(options.rounds).map(([n, r]) => [Number(n), r] as const)) {
      const latencies: number[] = [];
      let roundsWithoutOneWinner = 0;
      let errors = 0;
      for (let round = 0; round < rounds; round++) {
        const key = `bench/acquire-${n}-${round}`;
        const outcomes = await Promise.all(
          clients.slice(0, n).map(async (c, i) => {
            const t0 = performance.now();
            try {
              const result = await c.lease.acquire(key, `contender-${i}`);
              latencies.push(performance.now() - t0);
              return result.kind === "acquired";
            } catch {
              errors += 1;
              return false;
            }
          }),
        );
        if (outcomes.filter(Boolean).length !== 1) roundsWithoutOneWinner += 1;
      }
      rows.push({
        contenders: n,
        rounds,
        calls: latencies.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        roundsWithoutOneWinner,
        errors,
      });
    }
  } finally {
    for (const c of clients) c.doc.destroy();
  }
  return rows;
}

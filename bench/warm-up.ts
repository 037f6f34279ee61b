/**
 * Warms DynamoDB Local's JVM up before anything is measured. A cold JVM serves its first few thousand
 * requests several times slower than a warm one (the JIT compiler at work), and the figures would
 * measure that rather than the design; real DynamoDB has no such phase. So the job itself runs first,
 * without provider latency or limits, on throwaway tables.
 */
import { AS_OF, type BenchEnv } from "./env";
import { runRequest, startContender } from "./contender";
import type { StripeEmulator } from "./emulator";

/** Runs the job until it has made `charges` charges (enough for the JIT), or for at most `maxMs`. */
export async function warmUp(
  env: BenchEnv,
  emulator: StripeEmulator,
  target: { charges: number; maxMs: number },
): Promise<{ charges: number; ms: number }> {
  const began = Date.now();
  const until = began + target.maxMs;
  let charges = 0;
  emulator.setFaults({});
  for (let round = 0; charges < target.charges && Date.now() < until; round++) {
    const tables = await env.tables(`warm${round}`);
    await env.seed(tables, 300, 1, `warm${round}`);
    const contender = startContender(tables, emulator.url, runRequest("warm-up", AS_OF), {
      accountRequestsPerSecond: 1000,
      settings: { concurrency: 32, pageSize: 1000 },
      deadline: () => until,
      firstShard: 0,
    });
    charges += (await contender.report).tally.succeeded;
    contender.job.doc.destroy();
    tables.doc.destroy();
  }
  return { charges, ms: Date.now() - began };
}

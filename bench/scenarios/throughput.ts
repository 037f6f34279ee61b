/**
 * Throughput against a provider with latency and a rate limit: one leader renewing `concurrency`
 * subscriptions at once under its client-side rate limiter, for a fixed time. Figures come from the
 * steady window after a warm-up (the emulator's token bucket starts full, and so does the client's).
 * Requests are counted by the emulator; charges from the job's own "charge" events.
 */
import type { CapacityMeter } from "../../functions/aws/dynamo";
import { AS_OF, type BenchEnv } from "../env";
import { runRequest, startContender } from "../contender";
import { CapacityProbe, largestItems, type CapacityBreakdown } from "../capacity";
import { tally, type FaultPlan, type RequestTally, type StripeEmulator } from "../emulator";
import { perSecond } from "../stats";

export interface ThroughputOptions {
  readonly label: string;
  readonly subscriptions: number;
  readonly concurrency: number;
  readonly pageSize: number;
  /** The job's client-side limiter. */
  readonly accountRequestsPerSecond: number;
  readonly provider: { readonly latencyMs: number; readonly requestsPerSecond: number };
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface TimelinePoint {
  /** Seconds since the leader started. */
  readonly second: number;
  /** Requests the emulator accepted (not 429) in that second. */
  readonly requests: number;
  readonly rateLimited: number;
  readonly charges: number;
}

export interface ThroughputResult {
  readonly label: string;
  readonly concurrency: number;
  readonly clientRequestsPerSecond: number;
  readonly provider: ThroughputOptions["provider"];
  readonly windowSeconds: number;
  /** The steady window, in seconds since the leader started. */
  readonly window: { readonly from: number; readonly to: number };
  /** Accepted provider requests per second in the steady window. */
  readonly requestsPerSecond: number;
  readonly rateLimitedPerSecond: number;
  readonly chargesPerSecond: number;
  /** requestsPerSecond over the provider's limit. */
  readonly ratioOfLimit: number;
  /** Over the whole run, in-flight renewals finished. */
  readonly totals: {
    readonly seconds: number;
    readonly providerRequests: number;
    readonly rateLimited: number;
    readonly byRoute: Record<string, number>;
    readonly succeeded: number;
    readonly otherOutcomes: number;
    readonly requestsPerCharge: number;
  };
  /** True if the leader ran out of due subscriptions before the window ended (seed more). */
  readonly ranOutOfWork: boolean;
  readonly timeline: TimelinePoint[];
  readonly capacity: {
    readonly meter: { read: number; write: number };
    readonly byOperation: Record<string, { read: number; write: number; calls: number }>;
    readonly probe: CapacityBreakdown;
    /** The largest stored item per table after the run (bytes), to price actions by the rules. */
    readonly largestItems: Record<string, number>;
  };
}

const accepted = (s: RequestTally) => s.total - s.rateLimited;

export async function runThroughput(
  env: BenchEnv,
  emulator: StripeEmulator,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const tables = await env.tables(options.label);
  emulator.setFaults({});
  await env.seed(tables, options.subscriptions, 1, options.label);
  const plan: FaultPlan = {
    latencyMs: options.provider.latencyMs,
    rateLimit: { requestsPerSecond: options.provider.requestsPerSecond },
  };
  emulator.setFaults(plan);

  const before = tally(emulator);
  const start = Date.now();
  // The window opens a warm-up after the second in which the provider saw its first request, and the
  // leader's deadline is set then: a start slowed by a busy machine is not measured as throughput (nor
  // does it use up the window). Until then the leader has all the time it needs.
  let windowStart = Number.POSITIVE_INFINITY;
  let deadline = Number.POSITIVE_INFINITY;
  const contender = startContender(tables, emulator.url, runRequest(options.label, AS_OF), {
    accountRequestsPerSecond: options.accountRequestsPerSecond,
    settings: { concurrency: options.concurrency, pageSize: options.pageSize },
    deadline: () => deadline,
    firstShard: 0,
  });
  const probe = new CapacityProbe().attach(contender.job.doc);

  // One tally a second, on the second, until the leader is done.
  const samples: RequestTally[] = [before];
  let finished = false;
  const report = contender.report.finally(() => (finished = true));
  for (let k = 1; !finished; k++) {
    await sleepUntil(start + k * 1000, () => finished);
    if (!finished || Date.now() >= start + k * 1000) samples.push(tally(emulator));
    if (windowStart === Number.POSITIVE_INFINITY && accepted(samples.at(-1)!) > accepted(before)) {
      windowStart = Math.max(start, samples.at(-1)!.at - 1000) + options.warmupMs;
      deadline = windowStart + options.durationMs;
    }
  }
  const led = await report;
  const after = tally(emulator);
  emulator.setFaults({});
  const largest = await largestItems(tables.doc, [
    tables.names.leases,
    tables.names.subscriptions,
    tables.names.charges,
  ]);
  contender.job.doc.destroy();
  tables.doc.destroy();

  const atOrAfter = (t: number) => samples.find((s) => s.at >= t - 50) ?? after;
  const first = atOrAfter(windowStart);
  const last = atOrAfter(deadline);
  const seconds = (last.at - first.at) / 1000;

  const charges = contender.events.filter((e) => e.event.type === "charge");
  const succeededAt = charges
    .filter((e) => e.event.type === "charge" && e.event.outcome === "succeeded")
    .map((e) => e.at);
  const inWindow = succeededAt.filter((t) => t >= first.at && t < last.at).length;

  const runSeconds = Math.ceil((after.at - start) / 1000);
  const chargeBuckets = perSecond(succeededAt, start, runSeconds);
  const timeline: TimelinePoint[] = samples.slice(1).map((s, i) => ({
    second: i + 1,
    requests: accepted(s) - accepted(samples[i]!),
    rateLimited: s.rateLimited - samples[i]!.rateLimited,
    charges: chargeBuckets[i] ?? 0,
  }));

  const byRoute: Record<string, number> = {};
  for (const [route, n] of Object.entries(after.byRoute)) {
    const d = n - (before.byRoute[route] ?? 0);
    if (d > 0) byRoute[route] = d;
  }
  const providerRequests = accepted(after) - accepted(before);
  const requestsPerSecond = (accepted(last) - accepted(first)) / seconds;
  return {
    label: options.label,
    concurrency: options.concurrency,
    clientRequestsPerSecond: options.accountRequestsPerSecond,
    provider: options.provider,
    windowSeconds: seconds,
    window: { from: (first.at - start) / 1000, to: (last.at - start) / 1000 },
    requestsPerSecond,
    rateLimitedPerSecond: (last.rateLimited - first.rateLimited) / seconds,
    chargesPerSecond: inWindow / seconds,
    ratioOfLimit: requestsPerSecond / options.provider.requestsPerSecond,
    totals: {
      seconds: (after.at - start) / 1000,
      providerRequests,
      rateLimited: after.rateLimited - before.rateLimited,
      byRoute,
      succeeded: led.tally.succeeded,
      otherOutcomes: charges.length - succeededAt.length,
      requestsPerCharge: led.tally.succeeded > 0 ? providerRequests / led.tally.succeeded : Number.NaN,
    },
    ranOutOfWork: finishedEarly(contender.events, deadline),
    timeline,
    capacity: {
      meter: contender.job.meter.totals(),
      byOperation: meterByOperation(contender.job.meter),
      probe: probe.breakdown,
      largestItems: largest,
    },
  };
}

/** The leader released with nothing left due before its deadline: the window was not all steady work. */
function finishedEarly(
  events: { at: number; event: { type: string; outcome?: string } }[],
  deadline: number,
): boolean {
  return events.some(
    (e) => e.event.type === "lease-released" && e.event.outcome === "complete" && e.at < deadline,
  );
}

function meterByOperation(
  meter: CapacityMeter,
): Record<string, { read: number; write: number; calls: number }> {
  return Object.fromEntries([...meter.byOperation].map(([k, v]) => [k, { ...v }]));
}

async function sleepUntil(at: number, stop: () => boolean): Promise<void> {
  while (!stop() && Date.now() < at) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, at - Date.now()))));
  }
}

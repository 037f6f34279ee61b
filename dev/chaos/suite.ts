/**
 * Many seeds in a row over one DynamoDB Local (each seed with fresh tables, its own Stripe emulator and
 * fault proxy), and the summary: seeds run, faults injected by kind, charges, double charges, lost
 * renewals, card attempts not made by the leader, stray PaymentIntents, violations, failing seeds.
 */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { startDynamoDbLocal } from "../dynamodb-local";
import { buildContenderBundle, bundledSpawner } from "./bundled-contender";
import { DEFAULT_SEED_SETTINGS, runSeed, type SeedResult, type SeedSettings } from "./run-seed";
import { addFaultCounts, emptyFaultCounts, scenarioFor, type FaultCounts, FAULT_KINDS } from "./scenario";

export interface ChaosSummary {
  readonly seedsRun: number;
  readonly seedsPassed: number;
  readonly failingSeeds: readonly number[];
  readonly faultsInjected: FaultCounts;
  readonly totalFaults: number;
  /** Succeeded PaymentIntents at the provider, over all seeds. */
  readonly charges: number;
  readonly doubleCharges: number;
  readonly lostRenewals: number;
  /** Requests Stripe ran against a card, over all seeds. */
  readonly cardAttempts: number;
  /** Card attempts not sent by the period's shard leader at the time ("attempts fenced"). */
  readonly unfencedAttempts: number;
  /** The job's PaymentIntents left neither the ledger's nor canceled ("no stray PaymentIntents"). */
  readonly strayPaymentIntents: number;
  /** Every violation, of any invariant (double charges, lost renewals and the two above included). */
  readonly violations: number;
  readonly harnessErrors: number;
  readonly followUpInvocations: number;
  /** Continuation links the function invoked over all seeds (served by dev/lambda-invoke). */
  readonly continuationLinks: number;
  readonly handlerFailures: number;
  /** Writes DynamoDB refused on a stale fence (zombies and overtaken leaders), over all seeds. */
  readonly fencedOutWrites: number;
  readonly leaseAcquisitions: number;
  /** Acquisitions reported late (after a later fence's) by a contender whose writes under them all failed. */
  readonly excusedFenceReversals: number;
  readonly reports: readonly string[];
  readonly durationMs: number;
  readonly seeds: readonly SeedResult[];
}

export interface SuiteOptions {
  readonly seeds: readonly number[];
  /** Reuse this DynamoDB Local (the test suite's); otherwise one is started and stopped. */
  readonly dynamoEndpoint?: string;
  readonly settings?: Partial<SeedSettings>;
  readonly onSeed?: (result: SeedResult) => void;
  readonly log?: (text: string) => void;
  /** Checked between seeds: stop early (Ctrl-C). */
  readonly stopRequested?: () => boolean;
  /**
   * How contenders start: "bundle" (default) runs dev/cluster/contender-process.ts bundled once with
   * esbuild; "tsx" runs it through tsx, exactly as `npm start` does (slower to start).
   */
  readonly contenders?: "bundle" | "tsx";
}

export function summarize(results: readonly SeedResult[], durationMs: number): ChaosSummary {
  const faultsInjected = emptyFaultCounts();
  for (const r of results) addFaultCounts(faultsInjected, r.faults);
  const sum = (f: (r: SeedResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    seedsRun: results.length,
    seedsPassed: results.filter((r) => r.ok).length,
    failingSeeds: results.filter((r) => !r.ok).map((r) => r.seed),
    faultsInjected,
    totalFaults: FAULT_KINDS.reduce((n, k) => n + faultsInjected[k], 0),
    charges: sum((r) => r.charges),
    doubleCharges: sum((r) => r.doubleCharges),
    lostRenewals: sum((r) => r.lostRenewals),
    cardAttempts: sum((r) => r.cardAttempts ?? 0),
    unfencedAttempts: sum((r) => r.unfencedAttempts ?? 0),
    strayPaymentIntents: sum((r) => r.strayPaymentIntents ?? 0),
    violations: sum((r) => r.violations.length),
    harnessErrors: sum((r) => r.errors.length),
    followUpInvocations: sum((r) => r.followUps),
    continuationLinks: sum((r) => r.continuationLinks ?? 0),
    handlerFailures: sum((r) => r.handlerFailures),
    fencedOutWrites: sum((r) => r.fencedOutWrites ?? 0),
    leaseAcquisitions: sum((r) => r.acquisitions),
    excusedFenceReversals: sum((r) => r.excusedFenceReversals.length),
    reports: results.flatMap((r) => (r.report ? [r.report] : [])),
    durationMs: Math.round(durationMs),
    seeds: results,
  };
}

export async function runChaos(options: SuiteOptions): Promise<ChaosSummary> {
  const started = performance.now();
  const settings: { -readonly [K in keyof SeedSettings]: SeedSettings[K] } = {
    ...DEFAULT_SEED_SETTINGS,
    ...options.settings,
  };
  let endpoint = options.dynamoEndpoint;
  let stopDynamo: (() => Promise<void>) | null = null;
  if (endpoint === undefined) {
    options.log?.("starting DynamoDB Local...");
    const dynamo = await startDynamoDbLocal();
    endpoint = dynamo.endpoint;
    stopDynamo = () => dynamo.stop();
  }
  const results: SeedResult[] = [];
  let bundle: string | null = null;
  try {
    if ((options.contenders ?? "bundle") === "bundle") {
      bundle = await buildContenderBundle();
      settings.spawner ??= bundledSpawner(bundle);
    }
    for (const seed of options.seeds) {
      if (options.stopRequested?.()) break;
      const result = await runSeed(scenarioFor(seed), endpoint, settings);
      results.push(result);
      options.onSeed?.(result);
    }
  } finally {
    if (bundle) rmSync(dirname(bundle), { recursive: true, force: true });
    await stopDynamo?.();
  }
  return summarize(results, performance.now() - started);
}

/** The per-seed verdict line. */
export function verdictLine(r: SeedResult): string {
  const faults = Object.entries(r.faults)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(" ");
  const verdict = r.ok ? "PASS" : "FAIL";
  const problems = [...r.violations, ...r.errors.map((e) => `harness: ${e.split("\n")[0]}`)];
  return (
    `seed ${r.seed}: ${verdict} faults[${faults || "none"}] charges=${r.charges} ` +
    `fenced-out=${r.fencedOutWrites} follow-ups=${r.followUps} links=${r.continuationLinks} violations=${r.violations.length} (${(r.durationMs / 1000).toFixed(1)} s)` +
    (problems.length ? `\n  ${problems.join("\n  ")}` : "") +
    (r.report ? `\n  report: ${r.report}` : "")
  );
}

/** The closing lines of a human-readable run. */
export function formatSummary(s: ChaosSummary): string {
  const faults = Object.entries(s.faultsInjected)
    .map(([k, n]) => `${k}=${n}`)
    .join(" ");
  const lines = [
    `seeds run: ${s.seedsRun} (${s.seedsPassed} passed${s.failingSeeds.length ? `, failing: ${s.failingSeeds.join(", ")}` : ""})`,
    `faults injected: ${s.totalFaults} (${faults})`,
    `charges: ${s.charges}; double charges: ${s.doubleCharges}; lost renewals: ${s.lostRenewals}; violations: ${s.violations}; harness errors: ${s.harnessErrors}`,
    `card attempts: ${s.cardAttempts} (not the leader's: ${s.unfencedAttempts}); stray PaymentIntents: ${s.strayPaymentIntents}`,
    `lease acquisitions: ${s.leaseAcquisitions}; writes refused on a stale fence: ${s.fencedOutWrites}; ` +
      `follow-up invocations: ${s.followUpInvocations}; continuation links: ${s.continuationLinks}; ` +
      `handler runs that failed under faults: ${s.handlerFailures}`,
    `time: ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  for (const seed of s.failingSeeds) lines.push(`reproduce: npm run chaos -- --seed ${seed}`);
  return `${lines.join("\n")}\n`;
}

/**
 * End to end: the deployed function, invoked three times at once as three EventBridge targets would,
 * bills every due subscription exactly once. Runs the path localstack/fire.sh runs
 * (localstack/billing-path.ts) against each available target (test/e2e/targets.ts): always the
 * synthesized bundle in child processes (self-contained: plain node, no node_modules), and a LocalStack
 * deployment when one answers, billing the Stripe emulator or Stripe's test mode as it was deployed to.
 * Invariants 1, 2, 3, 5 and 7's "no stray PaymentIntents" (docs/design.md#invariants).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  firingNow,
  runBillingPath,
  type BillingTarget,
  type PathReport,
} from "../../localstack/billing-path";
import { leadersByShard, problems } from "../../localstack/path-verdict";
import { localStackTarget, localTarget } from "./targets";

const localstack = await localStackTarget();
const targets: [string, () => Promise<BillingTarget>][] = [
  ["local", localTarget],
  ...("target" in localstack
    ? [["localstack", async () => localstack.target] as [string, () => Promise<BillingTarget>]]
    : []),
];
if ("unavailable" in localstack) console.info(`e2e: LocalStack target not run: ${localstack.unavailable}`);

describe.each(targets)("against the %s target", (_name, makeTarget) => {
  const subscriptions = 40;
  let target: BillingTarget;

  beforeAll(async () => {
    target = await makeTarget(); // synthesis bundles with esbuild: tens of seconds on a busy machine
  }, 240_000);
  afterAll(async () => {
    await target?.close();
  });

  it(
    "three concurrent invocations bill every due subscription exactly once",
    { timeout: 300_000 },
    async () => {
      const report: PathReport = await runBillingPath(target, {
        subscriptions,
        contenders: 3,
        prefix: `e2e${Date.now().toString(36)}`,
        asOf: firingNow(),
      });

      expect(problems(report)).toEqual([]);
      expect(report.invariants.counts.subscriptions).toBe(subscriptions);
      expect(report.invariants.counts.providerSucceeded).toBe(subscriptions);
      // Without faults, one contender leads each shard and the others stand by.
      for (const leaders of leadersByShard(report).values()) expect(leaders).toHaveLength(1);
      expect([...leadersByShard(report).keys()]).toEqual(Array.from({ length: target.shards }, (_, i) => i));
    },
  );

  it(
    "a later run on the same tables and provider is judged on its own subscriptions, and passes",
    { timeout: 300_000 },
    async () => {
      // As fire.sh run twice against one LocalStack: the first run's records are still there.
      const report = await runBillingPath(target, {
        subscriptions: 10,
        contenders: 2,
        prefix: `e2e${Date.now().toString(36)}b`,
        asOf: firingNow(),
      });
      expect(problems(report)).toEqual([]);
      expect(report.invariants.counts.subscriptions).toBe(10);
    },
  );
});

/**
 * End to end: the deployed function, invoked three times at once as three EventBridge targets would,
 * bills every due subscription exactly once. Runs against each available target (test/e2e/targets.ts):
 * always the synthesized bundle in child processes (self-contained: plain node, no node_modules), and a
 * LocalStack deployment when one answers. Invariants 1, 2 and 5 (docs/design.md#invariants).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dueSubscriptions, seedSubscriptions } from "../../dev/seed";
import { checkInvariants } from "../../dev/invariants";
import { localStackTarget, localTarget, type E2eTarget } from "./targets";

const localstack = await localStackTarget();
const targets: [string, () => Promise<E2eTarget>][] = [
  ["local", localTarget],
  ...("target" in localstack
    ? [["localstack", async () => localstack.target] as [string, () => Promise<E2eTarget>]]
    : []),
];
if ("unavailable" in localstack) console.info(`e2e: LocalStack target not run: ${localstack.unavailable}`);

describe.each(targets)("against the %s target", (_name, makeTarget) => {
  const count = 40;
  const asOf = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
  const prefix = `e2e${Date.now().toString(36)}`;
  let target: E2eTarget;

  beforeAll(async () => {
    target = await makeTarget(); // synthesis bundles with esbuild: tens of seconds on a busy machine
    await seedSubscriptions(
      target.doc,
      target.tables,
      target.stripe,
      dueSubscriptions(count, asOf, 1, prefix),
    );
  }, 240_000);
  afterAll(async () => {
    await target?.close();
  });

  it(
    "three concurrent invocations bill every due subscription exactly once",
    { timeout: 180_000 },
    async () => {
      const event = {
        version: "0",
        id: `${prefix}-event`,
        "detail-type": "Scheduled Event",
        source: "aws.events",
        account: "123456789012",
        time: asOf,
        region: "us-east-1",
        resources: [],
        detail: {},
      };
      const results = await Promise.all(["a", "b", "c"].map((id) => target.invoke(event, `${prefix}-${id}`)));

      expect(results.every((r) => r.status === "ok")).toBe(true);
      expect(results.filter((r) => (r.led as unknown[]).length > 0)).toHaveLength(1);
      const provider = await target.providerRecord();
      const ours = {
        paymentIntents: provider.paymentIntents.filter((pi) =>
          pi.metadata.subscription_id?.startsWith(prefix),
        ),
      };
      const invariants = await checkInvariants(target.doc, target.tables, ours, asOf);
      expect(invariants.violations).toEqual([]);
      expect(invariants.counts.providerSucceeded).toBe(count);
    },
  );
});

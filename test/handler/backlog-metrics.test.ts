/**
 * What the handler reports after a run, as CloudWatch receives it (EMF lines on stdout), against DynamoDB
 * Local and the emulator: the backlog (renewals still due, and the age of the oldest, which the
 * BacklogBehind alarm watches) and the Stripe requests against the account's budget (the dashboard's
 * requests graph). The figures are checked against the tables themselves, not against constants.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type SubscriptionSeed } from "../../dev/seed";
import { scanAll } from "../../dev/invariants";
import { METRIC } from "../../functions/observability/metric-names";
import {
  captureOutput,
  handlerEnvironment,
  lambdaContext,
  loadHandler,
  logLines,
  scheduledEvent,
  seedStack,
} from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const HOUR = 3_600_000;
const NOW = Date.now();
let stack: TablesAndEmulator;

/** Six monthly subscriptions over two shards, due 1 to 6 hours ago. */
function book(): SubscriptionSeed[] {
  return Array.from({ length: 6 }, (_, i) => {
    const start = new Date(NOW - (i + 1) * HOUR);
    return {
      subscriptionId: `sub_backlog_${i}`,
      shard: i % 2,
      card: "succeeds",
      amount: 1000,
      currency: "usd",
      interval: "month",
      anchorDay: start.getUTCDate(),
      nextPeriodStart: start.toISOString(),
    };
  });
}

beforeAll(async () => {
  stack = await startTablesAndEmulator("backlog-metrics");
  await seedStack(stack, book());
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await stack?.emulator.stop();
});

/** The value of each metric in the EMF lines of `output` (a metric emitted twice is an array). */
function emitted(output: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const line of logLines(output)) {
    const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
    for (const group of aws?.CloudWatchMetrics ?? []) {
      for (const metric of group.Metrics) values[metric.Name] = line[metric.Name];
    }
  }
  return values;
}

/** The subscriptions the `due` index would list now: active, with a nextAttemptAt that has passed. */
async function stillDue(at: string): Promise<string[]> {
  const subscriptions = await scanAll(stack.tables.doc, stack.tables.names.subscriptions);
  return subscriptions
    .filter((s) => typeof s.dueShard === "string" && String(s.nextAttemptAt) <= at)
    .map((s) => String(s.nextAttemptAt))
    .sort();
}

describe("after a run", () => {
  it("reports the backlog it left and the Stripe requests it sent", async () => {
    const handler = await loadHandler(handlerEnvironment(stack, { SHARD_COUNT: "2" }));
    const { output } = await captureOutput(() =>
      handler({ action: "rerun", subscriptionIds: ["sub_backlog_0", "sub_backlog_1"] }, lambdaContext()),
    );
    const backlog = logLines(output).find((l) => l.message === "backlog") as
      { at: string; due: number; oldestDueAt: string | null; complete: boolean } | undefined;
    expect(backlog, output).toBeDefined();
    const due = await stillDue(backlog!.at);
    expect(due).toHaveLength(4);
    // The two billed were the youngest: the oldest left is the one due six hours ago.
    expect(Date.parse(due[0]!)).toBe(NOW - 6 * HOUR);
    expect(backlog).toMatchObject({ due: 4, complete: true, oldestDueAt: due[0] });

    const metrics = emitted(output);
    expect(metrics[METRIC.dueBacklog]).toBe(4);
    expect(metrics[METRIC.oldestDueAge]).toBe(
      Math.round((Date.parse(backlog!.at) - Date.parse(due[0]!)) / 1000),
    );
    // Two charges, two requests each (create, confirm), no 429s; one leader at a time.
    expect(metrics[METRIC.chargesSucceeded]).toEqual([1, 1]);
    expect(metrics[METRIC.stripeRequests]).toBe(4);
    expect(metrics[METRIC.stripeRateLimited]).toBe(0);
    expect(metrics[METRIC.leadersActive]).toBe(1);
  });

  it("reports an empty backlog, age zero included, once a run billed everything", async () => {
    const handler = await loadHandler(handlerEnvironment(stack, { SHARD_COUNT: "2" }));
    const { output } = await captureOutput(() =>
      handler(scheduledEvent(new Date(Date.now() - 1000).toISOString()), lambdaContext()),
    );
    const metrics = emitted(output);
    expect(metrics[METRIC.dueBacklog]).toBe(0);
    expect(metrics[METRIC.oldestDueAge]).toBe(0);
    // Four charges of two requests each, and the sweep's one list of the job's PaymentIntents.
    expect(metrics[METRIC.chargesSucceeded]).toEqual([1, 1, 1, 1]);
    expect(metrics[METRIC.stripeRequests]).toBe(9);
  });
});

/**
 * The handler's continuation links, against DynamoDB Local, the Stripe emulator and the local invoke
 * server over HTTP (the AWS SDK's LambdaClient, as deployed): an invocation whose leader runs out of time
 * sends exactly one link, labelled and counted; the link it sent goes on with the run; a chain stops at
 * its link limit and after a link without progress; a link goes early, when the leader stops claiming,
 * except a capped rerun's, whose cap is known at the end; a rerun continues as a rerun with what is left
 * of its cap; and an Invoke that fails is logged and counted while the invocation still succeeds.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dueSubscriptions } from "../../dev/seed";
import { checkInvariants, fetchProviderRecord } from "../../dev/invariants";
import { startInvokeServer, type Answer, type InvokeServer } from "../../dev/lambda-invoke";
import {
  budgetContext,
  captureOutput,
  handlerEnvironment,
  loadHandler,
  logLines,
  scheduledEvent,
  seedStack,
} from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const AS_OF = "2026-11-23T12:00:00.000Z";
const RUN_ID = `scheduled:${AS_OF}`;
const FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:lease-billing-test";
/** Invoked through an alias: the link goes to the function itself, unqualified. */
const INVOKED_AS = `${FUNCTION}:live`;
/** Far more work than a leader can do before it stops claiming, one renewal at a time. */
const BOOK = 60;
/** Enough for a few renewals before the stop-claiming margin (1 s here) cuts the leader off. */
const SHORT_BUDGET_MS = 6_000;

let stack: TablesAndEmulator;
let server: InvokeServer;
let answer: Answer;

beforeEach(async () => {
  stack = await startTablesAndEmulator("continuation");
  answer = "accept";
  server = await startInvokeServer({
    functionName: "lease-billing-test",
    onInvoke: () => undefined,
    answer: () => answer,
  });
  await seedStack(stack, dueSubscriptions(BOOK, AS_OF));
  // Each renewal takes a few hundred ms: the book outlasts a short budget.
  stack.emulator.setFaults({ latencyMs: 100 });
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await server?.stop();
  await stack?.emulator.stop();
});

function environment(extra: Record<string, string> = {}) {
  return handlerEnvironment(stack, {
    LAMBDA_ENDPOINT: server.url,
    AWS_REGION: "us-east-1",
    MAX_CONTINUATION_LINKS: "3",
    BILLING_CONCURRENCY: "1",
    ...extra,
  });
}

/** The handler's structured log lines (not its EMF metric documents). */
const logs = (output: string) => logLines(output).filter((l) => !("_aws" in l));
/** The value of `metric` in the handler's EMF output, summed. */
function metric(output: string, name: string): number {
  return logLines(output)
    .filter((l) => "_aws" in l && typeof l[name] === "number")
    .reduce((sum, l) => sum + Number(l[name]), 0);
}

describe("an invocation out of time", () => {
  it("sends one link of its run to the function itself; every line says the run and the link", async () => {
    const handler = await loadHandler(environment());
    const { result, output } = await captureOutput(() =>
      handler(scheduledEvent(AS_OF), budgetContext(SHORT_BUDGET_MS, INVOKED_AS)),
    );
    expect(result).toMatchObject({ status: "ok", continuation: { sent: true, link: 1 } });
    expect(server.invocations.map((i) => [i.functionName, i.payload])).toEqual([
      [FUNCTION, { action: "continue", runId: RUN_ID, link: 1, asOf: AS_OF }],
    ]);
    const lines = logs(output);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatchObject({ runId: RUN_ID, link: 0 });
    // Sent the moment its leader stopped claiming (not when the invocation ended): early.
    expect(lines.find((l) => l.message === "continuation sent")).toMatchObject({
      nextLink: 1,
      early: true,
      level: "INFO",
    });
    const at = (message: string) => lines.findIndex((l) => l.message === message);
    expect(at("budget-exhausted")).toBeGreaterThan(-1);
    expect(at("budget-exhausted")).toBeLessThan(at("continuation sent"));
    expect(metric(output, "ContinuationLinksSent")).toBe(1);
    expect(metric(output, "ContinuationLinksFailed")).toBe(0);
  });

  it("is followed by the link it sent, which goes on with the run to its end", async () => {
    const first = await loadHandler(environment());
    await captureOutput(() => first(scheduledEvent(AS_OF), budgetContext(SHORT_BUDGET_MS)));
    const [sent] = server.invocations;
    expect(sent).toBeDefined();

    const link = await loadHandler(environment());
    const { result, output } = await captureOutput(() => link(sent!.payload, budgetContext(120_000)));
    expect(result).toMatchObject({
      runId: RUN_ID,
      led: [{ outcome: "complete" }],
      continuation: { sent: false, stopped: "nothing left to continue" },
    });
    for (const line of logs(output)) expect(line).toMatchObject({ runId: RUN_ID, link: 1 });
    expect(server.invocations).toHaveLength(1);
    const report = await checkInvariants(
      stack.tables.doc,
      stack.tables.names,
      await fetchProviderRecord(stack.emulator.url),
      AS_OF,
    );
    expect(report.violations).toEqual([]);
    expect(report.counts.providerSucceeded).toBe(BOOK);
  });
});

describe("a chain is bounded", () => {
  it("sends nothing from the run's last link, and says why", async () => {
    const handler = await loadHandler(environment());
    const last = { action: "continue", runId: RUN_ID, link: 3, asOf: AS_OF };
    const { result, output } = await captureOutput(() => handler(last, budgetContext(SHORT_BUDGET_MS)));
    expect(result).toMatchObject({
      led: [{ outcome: "partial", stopReason: "time budget" }],
      continuation: { sent: false, stopped: "link limit reached" },
    });
    expect(server.invocations).toEqual([]);
    expect(logs(output).find((l) => l.level === "WARN" && l.reason === "link limit reached")).toBeDefined();
  });

  it("sends nothing after a link that settled nothing (every renewal left in doubt)", async () => {
    stack.emulator.setFaults({ error500Rate: 1 });
    const handler = await loadHandler(environment({ STRIPE_MAX_NETWORK_RETRIES: "0" }));
    const { result } = await captureOutput(() =>
      handler(scheduledEvent(AS_OF), budgetContext(SHORT_BUDGET_MS)),
    );
    expect(result).toMatchObject({
      led: [{ outcome: "partial" }],
      tally: { succeeded: 0, declined: 0, needs_customer_action: 0, quarantined: 0 },
      continuation: { sent: false, stopped: "no progress" },
    });
    expect(server.invocations).toEqual([]);
  });

  it("continues a rerun as a rerun, with what is left of its cap, known at the invocation's end", async () => {
    const handler = await loadHandler(environment());
    const rerun = { action: "rerun", maxCharges: 30, reason: "ticket 4711" };
    const { result, output } = await captureOutput(() => handler(rerun, budgetContext(SHORT_BUDGET_MS)));
    expect(logs(output).find((l) => l.message === "continuation sent")).toMatchObject({ early: false });
    const claimed = (result as { claimed: number }).claimed;
    expect(claimed).toBeGreaterThan(0);
    expect(claimed).toBeLessThan(30);
    const [sent] = server.invocations;
    expect(sent?.payload).toEqual({
      action: "continue",
      runId: (result as { runId: string }).runId,
      link: 1,
      asOf: (result as { asOf: string }).asOf,
      maxCharges: 30 - claimed,
      reason: "ticket 4711",
    });
    expect((result as { runId: string }).runId).toMatch(/^rerun:/);
  });
});

describe("an Invoke that fails", () => {
  it.each<[Answer, RegExp]>([
    ["error-500", /ServiceException/],
    ["drop", /.+/],
  ])("(%s) is logged and counted; the invocation still succeeds", async (failure, error) => {
    answer = failure;
    const handler = await loadHandler(environment());
    const { result, output } = await captureOutput(() =>
      handler(scheduledEvent(AS_OF), budgetContext(SHORT_BUDGET_MS)),
    );
    expect(result).toMatchObject({ status: "ok", continuation: { sent: false, link: 1, error } });
    expect(server.invocations).toEqual([]);
    // The SDK tried again before giving up; the server failed every attempt.
    const counts = server.counts();
    expect(failure === "drop" ? counts.dropped : counts.failed500).toBeGreaterThan(1);
    const line = logs(output).find((l) => String(l.message).startsWith("continuation failed"));
    expect(line).toMatchObject({ level: "ERROR", nextLink: 1, runId: RUN_ID, link: 0 });
    expect(metric(output, "ContinuationLinksFailed")).toBe(1);
    expect(metric(output, "ContinuationLinksSent")).toBe(0);
  });
});

describe("staggered hand-overs (functions/core/billing-run/stagger.ts)", () => {
  /** Long enough that half the claiming window is still over the stagger's 2 s minimum on a busy machine. */
  const STAGGER_BUDGET_MS = 7_000;
  const twoShards = () => environment({ SHARD_COUNT: "2" });

  beforeEach(async () => {
    // Books that outlast three invocations on each shard: the one seeded above and more on the first
    // shard, one of their own on the second.
    const more = (prefix: string, shard: number) =>
      dueSubscriptions(2 * BOOK, AS_OF, 1, prefix).map((s) => ({ ...s, shard }));
    await seedStack(stack, [...more("more", 0), ...more("second", 1)]);
  });

  /** Two invocations of one event at once, as the schedule fires them: each leads one of the two shards. */
  async function firedTogether(event: unknown) {
    const [a, b] = [await loadHandler(twoShards()), await loadHandler(twoShards())];
    const { result, output } = await captureOutput(() =>
      Promise.all([a(event, budgetContext(STAGGER_BUDGET_MS)), b(event, budgetContext(STAGGER_BUDGET_MS))]),
    );
    const stops = logs(output).filter((l) => l.message === "budget-exhausted");
    const staggered = (shard: number) => stops.find((l) => l.shard === shard)?.staggeredMs;
    return {
      results: result as { led: { shard: number }[]; stoodBy: { reason: string }[] }[],
      stops,
      staggered,
    };
  }

  it("in a run's first invocation, the second shard's leader stops half its window early and leads nothing else", async () => {
    const { results, stops, staggered } = await firedTogether(scheduledEvent(AS_OF));
    expect(stops).toHaveLength(2);
    expect(staggered(0)).toBe(0);
    // Half the window it had at its lease: under half the invocation's budget less the margin (1 s).
    expect(staggered(1)).toBeGreaterThan(0);
    expect(staggered(1)).toBeLessThanOrEqual((STAGGER_BUDGET_MS - 1_000) / 2);
    // Each invocation led one shard, then left the other to its leader: no lease taken after a stop.
    for (const r of results) {
      expect(r.led).toHaveLength(1);
      expect(r.stoodBy).toEqual([
        { shard: expect.any(Number), reason: "time budget spent on another shard" },
      ]);
    }
    expect(server.invocations.map((i) => (i.payload as { link: number }).link)).toEqual([1, 1]);
  });

  it("a continuation link and a capped rerun run their whole window: only an untargeted first invocation staggers", async () => {
    const link = await firedTogether({ action: "continue", runId: RUN_ID, link: 1, asOf: AS_OF });
    expect(link.stops.map((l) => l.staggeredMs)).toEqual([0, 0]);
    const capped = await firedTogether({ action: "rerun", maxCharges: 100, reason: "ticket 4712" });
    expect(capped.stops.map((l) => l.staggeredMs)).toEqual([0, 0]);
  });

  it("a rerun of the second shard alone has no other chain to keep apart from, and runs its whole window", async () => {
    const handler = await loadHandler(twoShards());
    const rerun = { action: "rerun", shards: [1], reason: "ticket 4713" };
    const { result, output } = await captureOutput(() => handler(rerun, budgetContext(STAGGER_BUDGET_MS)));
    expect(result).toMatchObject({ led: [{ shard: 1, stopReason: "time budget" }] });
    expect(logs(output).filter((l) => l.message === "budget-exhausted")).toMatchObject([{ staggeredMs: 0 }]);
  });
});

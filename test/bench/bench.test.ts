/**
 * Smoke test of `npm run bench`: the real command line with the tiny preset (every scenario, its own
 * DynamoDB Local and emulator, numbers too small to mean anything). Checks the shape of results.json,
 * that every figure is a positive number, and that the charts are written. No timing is asserted.
 *
 * Request counts are asserted exactly where the protocol makes them exact (scenario 7, card attempts,
 * counted from the emulator's request log): a successful charge is a create and a confirm, a decline a
 * create, a confirm and a cancel, a dunning retry a new PaymentIntent (no look-up), and the sweep one
 * list per 100 of the account's PaymentIntents. Scenarios 8 and 9 (one account budget, the drain through
 * continuation links) are checked for what does not depend on timing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import type { BenchResults } from "../../bench/run";
import { PRESETS } from "../../bench/presets";
import type { RunCounts } from "../../bench/scenarios/attempts";

const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const positive = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value > 0;

it("runs every scenario and writes results.json and the charts", { timeout: 600_000 }, () => {
  const out = join(dir, "results.json");
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "--tiny", "--out", out], {
    cwd: join(import.meta.dirname, "..", ".."),
    encoding: "utf8",
    timeout: 580_000,
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stdout).toContain("figure");

  const results = JSON.parse(readFileSync(out, "utf8")) as BenchResults;
  expect(results.preset).toBe("tiny");
  expect(results.command).toBe("npm run bench -- --tiny");

  const ids = results.figures.map((f) => f.id);
  for (const id of [
    "designed.requestsPerSecond",
    "designed.ratioOfLimit",
    "designed.chargesPerSecond",
    "designed.requestsPerCharge",
    "naive.chargesPerSecond",
    "throughput.ratio",
    "failover.median",
    "failover.max",
    "capacity.read",
    "capacity.readRatio",
    "capacity.write",
    "capacity.writeRatio",
    "lease.p50.1",
    "lease.p99.1",
    "lease.p50.10",
    "lease.p99.50",
    "shards.1",
    "shards.2",
    "shards.peak",
    "shards.itemOperationsPerCharge",
    "shards.jobCpuMsPerCharge",
    "dynamo.ceiling",
    "shards.dynamoRequestMs",
    "attempts.perCharge",
    "attempts.perCharge.ratio",
    "attempts.perCharge.own",
    "attempts.sweepPerCharge",
    "attempts.perDecline",
    "attempts.perDecline.ratio",
    "attempts.perAuthenticationRequired",
    "attempts.mixed.perCharge",
    "attempts.perRetry",
    "attempts.perRetry.succeeded",
    "attempts.perRetry.declinedAgain",
    "attempts.sweepPerRetry",
    "budget.1.busiest5s",
    "budget.1.average",
    "budget.1.rateLimitedShare",
    "budget.2.busiest5s",
    "budget.2.average",
    "budget.2.rateLimitedShare",
    "drain.2.seconds",
    "drain.2.ofFloor",
    "drain.2.budgetUsed",
  ]) {
    expect(ids).toContain(id);
  }
  for (const f of results.figures) {
    // A share of 429s may well be none.
    if (f.id.endsWith(".rateLimitedShare")) {
      expect(f.value).toBeGreaterThanOrEqual(0);
      continue;
    }
    expect(positive(f.value), `${f.id} = ${f.value}`).toBe(true);
    expect(typeof f.target).toBe("string");
    expect(f.met === null || typeof f.met === "boolean").toBe(true);
  }

  // Two provider requests per charge: create, then confirm.
  expect(results.throughput.designed.totals.byRoute["POST /v1/payment_intents"]).toBeGreaterThan(0);
  expect(results.throughput.designed.totals.byRoute["POST /v1/payment_intents/:id/confirm"]).toBeGreaterThan(
    0,
  );
  expect(results.throughput.designed.timeline.length).toBeGreaterThan(0);
  expect(results.failover.repetitions.length).toBe(1);
  expect(results.leaseLatency.map((r) => r.contenders)).toEqual([1, 10, 50]);
  for (const row of results.leaseLatency) expect(row.roundsWithoutOneWinner).toBe(0);
  expect(results.shards.map((r) => r.shards)).toEqual([1, 2]);
  // A charge reads the subscription and its charge record, then writes the charge record three times,
  // each with the subscription beside it: eight items, whatever the batching, plus the fence checks. The
  // window cuts renewals in flight at both ends, so a short window's figure is within a margin of that.
  for (const row of results.shards) {
    expect(row.dynamo.itemOperationsPerCharge).toBeGreaterThan(6);
    expect(row.dynamo.itemOperationsPerCharge).toBeLessThan(12);
  }
  expect(results.dynamoCeiling.jvmCores).toBeGreaterThan(0);
  expect(results.notes.filter((n) => n.startsWith("shards: bottleneck at"))).toHaveLength(2);
  expect(results.capacity.minimum).toEqual({ read: 2, write: 14 });

  checkAttempts(results);
  checkBudgetAndDrain(results);

  for (const chart of ["throughput-over-time.svg", "shards.svg", "budget.svg", "drain.svg"]) {
    expect(readFileSync(join(dir, chart), "utf8")).toMatch(
      /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
  }
});

/**
 * Scenarios 8 and 9, by what does not depend on timing: every leader counted the others (its share was
 * the budget over them), the requests the emulator logged are the ones the leaders' pacers let through,
 * and the drain went through continuation links to an empty book with every invariant holding.
 */
function checkBudgetAndDrain(results: BenchResults): void {
  const budget = results.budget;
  expect(budget.command).toBe("npm run bench -- --tiny");
  expect(budget.rows.map((r) => r.shards)).toEqual(PRESETS.tiny.budget.shardCounts);
  for (const row of budget.rows) {
    expect(row.errors).toEqual([]);
    expect(row.leaders).toHaveLength(row.shards);
    for (const leader of row.leaders) expect(leader.pacing?.mostLeaders).toBe(row.shards);
    expect(row.requests).toBeGreaterThan(0);
    expect(row.timeline.reduce((n, p) => n + p.requests, 0)).toBeGreaterThanOrEqual(row.requests);
  }
  const drain = results.drain;
  expect(drain.rows.map((r) => r.shards)).toEqual(PRESETS.tiny.drain.shardCounts);
  for (const row of drain.rows) {
    expect(row.errors).toEqual([]);
    expect(row.violations).toEqual([]);
    expect(row.violationCount).toBe(0);
    expect(row.leftDue).toBe(0);
    expect(row.drainSeconds).toBeGreaterThan(0);
    // The tick's invocations could not bill it all: links did the rest, each a process of its own.
    expect(row.linksSent).toBeGreaterThan(0);
    expect(row.invocations).toBeGreaterThan(row.shards);
    expect(row.invocationLog).toHaveLength(row.invocations);
    // Each link took its shard over from the leader that sent it, after that leader released it.
    expect(row.handovers).toBeGreaterThanOrEqual(1);
    expect(row.meanReleaseToLeaseSeconds).toBeGreaterThanOrEqual(0);
    expect(row.meanLeaseToFirstSettleSeconds).toBeGreaterThan(0);
    expect(row.floorSeconds).toBe((2 * row.subscriptions) / PRESETS.tiny.drain.budget);
    // The provider's own log: every charge is a create and a confirm. Its token bucket accepts at most the
    // budget's rate plus one second's burst; the 429s it answered beyond that are counted too.
    const requests = row.timeline.reduce((n, p) => n + p.requests, 0);
    expect(requests).toBeGreaterThanOrEqual(2 * row.charges);
    const allowed = PRESETS.tiny.drain.budget * (row.drainSeconds! + 1) + row.rateLimited;
    expect(row.budgetUsed).toBeGreaterThan(0);
    expect(row.budgetUsed! * PRESETS.tiny.drain.budget * row.drainSeconds!).toBeLessThanOrEqual(allowed);
    expect(row.slowSeconds).toBeLessThanOrEqual(Math.ceil(row.drainSeconds!));
    // Where the CPU went: DynamoDB Local's JVM and this process are part of the machine's busy cores.
    expect(row.cpu.dynamodbLocal).toBeGreaterThan(0);
    expect(row.cpu.emulatorAndBench).toBeGreaterThan(0);
    expect(row.cpu.machine).toBeGreaterThanOrEqual(row.cpu.dynamodbLocal! + row.cpu.emulatorAndBench! - 0.05);
    expect(row.cpu.steal).toBeGreaterThanOrEqual(0);
    expect(row.cpu.steal).toBeLessThanOrEqual(row.cpu.machine!);
  }
}

/** Scenario 7's request counts, exactly: every kind of request, per PaymentIntent and per run. */
function checkAttempts(results: BenchResults): void {
  const a = results.attempts;
  const n = PRESETS.tiny.attempts.subscriptions;
  expect(a.options).toEqual(PRESETS.tiny.attempts);
  const { declines, needsAuthentication, newCard, succeeds } = a.seeded.declines;
  expect(declines).toBeGreaterThan(0);
  expect(needsAuthentication).toBeGreaterThan(0);
  expect(newCard).toBeGreaterThan(0);
  expect(newCard).toBeLessThan(declines);
  expect(succeeds + declines + needsAuthentication).toBe(n);
  // One list request per 100 PaymentIntents (a last page of exactly 100 says there is no more).
  const pages = (paymentIntents: number) => Math.max(1, Math.ceil(paymentIntents / 100));
  const show = (run: RunCounts) => JSON.stringify(run);
  const clean = (run: RunCounts) => {
    expect(run.invocations, show(run)).toBe(1);
    expect(run.replayed, show(run)).toBe(0);
    expect(run.rateLimited, show(run)).toBe(0);
    expect(run.unexpectedStatus, show(run)).toBe(0);
    expect(run.requests.retrieve, show(run)).toBe(0);
    expect(run.requests.other, show(run)).toBe(0);
    expect(run.sweep.runs, show(run)).toBe(1);
    expect(run.sweep.strayPaymentIntentsCanceled, show(run)).toBe(0);
    expect(run.requests.sweepCancel, show(run)).toBe(0);
    expect(run.byClass.other.paymentIntents, show(run)).toBe(0);
  };
  const none = { paymentIntents: 0, requests: 0, shapes: {} };

  // (a) Every card succeeds: exactly create + confirm per charge, and the sweep's lists.
  const ok = a.runs.success;
  clean(ok);
  expect(ok.outcomes).toEqual({ succeeded: n });
  expect(ok.byClass.charge).toEqual({ paymentIntents: n, requests: 2 * n, shapes: { "create+confirm": n } });
  expect(ok.requests).toEqual({
    create: n,
    confirm: n,
    cancel: 0,
    retrieve: 0,
    lookUp: 0,
    sweepList: pages(n),
    sweepCancel: 0,
    other: 0,
    total: 2 * n + pages(n),
  });
  expect(a.perSuccessfulCharge.own).toBe(2);
  expect(a.perSuccessfulCharge.all).toBe((2 * n + pages(n)) / n);

  // (b) First attempts, some refused: a refused one is create + confirm + cancel.
  const first = a.runs.declines;
  clean(first);
  expect(first.outcomes).toEqual({
    succeeded: succeeds,
    declined: declines,
    needs_customer_action: needsAuthentication,
  });
  expect(first.byClass.charge.shapes).toEqual({ "create+confirm": succeeds });
  expect(first.byClass.decline).toEqual({
    paymentIntents: declines,
    requests: 3 * declines,
    shapes: { "create+confirm+cancel": declines },
  });
  expect(first.byClass.authentication).toEqual({
    paymentIntents: needsAuthentication,
    requests: 3 * needsAuthentication,
    shapes: { "create+confirm+cancel": needsAuthentication },
  });
  expect(first.requests).toMatchObject({
    create: n,
    confirm: n,
    cancel: declines + needsAuthentication,
    lookUp: 0,
    sweepList: pages(n),
    total: 2 * n + declines + needsAuthentication + pages(n),
  });
  expect(a.perDecline).toBe(3);
  expect(a.perAuthenticationRequired).toBe(3);

  // (c) The dunning retry: a new PaymentIntent at once (canceled if declined again), no look-up;
  // the sweep lists (b)'s PaymentIntents again (its overlap) and the retries'.
  const retry = a.runs.retry;
  clean(retry);
  const again = declines - newCard;
  expect(retry.outcomes).toEqual({ succeeded: newCard, declined: again });
  expect(retry.byClass.charge).toEqual(none);
  expect(retry.byClass.decline).toEqual(none);
  expect(retry.byClass["retry-succeeded"]).toEqual({
    paymentIntents: newCard,
    requests: 2 * newCard,
    shapes: { "create+confirm": newCard },
  });
  expect(retry.byClass["retry-declined"]).toEqual({
    paymentIntents: again,
    requests: 3 * again,
    shapes: { "create+confirm+cancel": again },
  });
  expect(retry.sweep.paymentIntentsInAccount).toBe(n + declines);
  expect(retry.requests).toEqual({
    create: declines,
    confirm: declines,
    cancel: again,
    retrieve: 0,
    lookUp: 0,
    sweepList: pages(n + declines),
    sweepCancel: 0,
    other: 0,
    total: 2 * declines + again + pages(n + declines),
  });
  expect(a.perRetry.lookUpsPerRetry).toBe(0);
  expect(a.perRetry.succeeded).toBe(2);
  expect(a.perRetry.declinedAgain).toBe(3);
}

/**
 * Smoke test of `npm run bench`: the real command line with the tiny preset (every scenario, its own
 * DynamoDB Local and emulator, numbers too small to mean anything). Checks the shape of results.json,
 * that every figure is a positive number, and that the charts are written. No timing is asserted.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import type { BenchResults } from "../../bench/run";

const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const positive = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value > 0;

it("runs every scenario and writes results.json and the charts", { timeout: 300_000 }, () => {
  const out = join(dir, "results.json");
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/main.ts", "--tiny", "--out", out], {
    cwd: join(import.meta.dirname, "..", ".."),
    encoding: "utf8",
    timeout: 280_000,
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
  ]) {
    expect(ids).toContain(id);
  }
  for (const f of results.figures) {
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

  for (const chart of ["throughput-over-time.svg", "shards.svg"]) {
    expect(readFileSync(join(dir, chart), "utf8")).toMatch(
      /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
  }
});

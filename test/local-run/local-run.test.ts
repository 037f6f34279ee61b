/**
 * `npm start` end to end, as a user runs it: a child process that starts its own DynamoDB Local and Stripe
 * emulator, seeds, fires contender processes running the real handler, checks the invariants and exits.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LocalRunSummary } from "../../dev/local-run/summary";
import { alive, portClosed, startRunner, twoContenderArgs } from "./runner";

describe("npm start", () => {
  it("lists its options with defaults, and refuses a bad value naming the option (exit 2)", async () => {
    const help = await startRunner(["--help"]).done;
    expect(help.code).toBe(0);
    for (const option of [
      "--subscriptions N",
      "--contenders N",
      "--kill-leader-after N",
      "--pause-leader DURATION",
      "--json",
    ]) {
      expect(help.stdout).toContain(option);
    }
    expect(help.stdout).toMatch(/--subscriptions N\s+.*\(default: 300\)/);

    const bad = await startRunner(["--contenders", "zero"]).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--contenders");
    expect(bad.stdout).toBe("");
  });

  it("bills a small data set with several contender processes and passes every invariant (--json)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-run-"));
    const report = join(dir, "plain.html");
    const out = await startRunner(twoContenderArgs(24, report)).done;
    expect(out.code, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout) as LocalRunSummary; // stdout holds the summary and nothing else

    expect(summary.ok).toBe(true);
    expect(summary.exitCode).toBe(0);
    expect(summary.invariants.ok).toBe(true);
    expect(summary.invariants.violations).toEqual([]);
    expect(summary.invariants.checks.map((c) => c.ok)).toEqual([true, true, true, true]);
    // The data set: some due, some not, three invalid records quarantined; nothing due left.
    expect(summary.seeded.subscriptions).toBe(24);
    expect(summary.seeded.notDue).toBeGreaterThan(0);
    expect(summary.charges.succeeded).toBeGreaterThan(10);
    expect(summary.charges.quarantined).toBe(3);
    expect(summary.dueLeft).toBe(0);
    // Two separate processes raced; one led shard 0 with a fence, the ledger matches the provider.
    expect(summary.contenders).toHaveLength(2);
    expect(new Set(summary.contenders.map((c) => c.pid)).size).toBe(2);
    expect(summary.contenders.every((c) => c.exit?.code === 0)).toBe(true);
    expect(summary.leases.length).toBeGreaterThanOrEqual(1);
    expect(summary.leases[0]!.fence).toBeGreaterThanOrEqual(1);
    expect(summary.stripe.paymentIntents.byStatus.succeeded).toBe(summary.charges.succeeded);
    expect(existsSync(report)).toBe(true);

    // Clean shutdown: no contender left, DynamoDB Local and the emulator gone, their ports free.
    for (const c of summary.contenders) expect(alive(c.pid)).toBe(false);
    expect(await portClosed(summary.infrastructure.dynamoEndpoint)).toBe(true);
    expect(await portClosed(summary.infrastructure.stripeUrl)).toBe(true);
  });

  it("exits 1 and names the broken invariant when work is left: a killed leader, no standby, no follow-up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-run-"));
    const out = await startRunner([
      "--subscriptions",
      "30",
      "--contenders",
      "1",
      "--kill-leader-after",
      "5",
      "--max-rounds",
      "1",
      "--json",
      "--report",
      join(dir, "left.html"),
    ]).done;
    expect(out.code, out.stderr).toBe(1);
    const summary = JSON.parse(out.stdout) as LocalRunSummary;
    expect(summary.ok).toBe(false);
    expect(summary.exitCode).toBe(1);
    expect(summary.rounds).toBe(1);
    expect(summary.dueLeft).toBeGreaterThan(0);
    expect(summary.invariants.checks.find((c) => c.id === "2")?.ok).toBe(false);
    expect(summary.invariants.violations.some((v) => v.startsWith("invariant 2:"))).toBe(true);
    expect(out.stderr).toContain("work left after the last round (1)");
  });

  it("shuts down cleanly on Ctrl-C (SIGINT) mid-run: exit 130, no contender or port left behind", async () => {
    // --json: the progress lines go to stderr, where this test reads them.
    const runner = startRunner([
      "--subscriptions",
      "60",
      "--contenders",
      "2",
      "--stripe-latency-ms",
      "300",
      "--json",
    ]);
    const infra = await runner.waitForStderr(
      /DynamoDB Local on (http:\/\/[^,\s]+), Stripe emulator on (http:\/\/\S+)/,
    );
    const round = await runner.waitForStderr(/round 1: .* \(pids (\d+), (\d+)\)/);
    const pids = [Number(round[1]), Number(round[2])];
    runner.child.kill("SIGINT");
    const out = await runner.done;
    expect(out.code).toBe(130);
    expect(out.stderr).toContain("SIGINT: stopping");
    expect(out.stdout).toBe("");
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(await portClosed(infra[1]!)).toBe(true);
    expect(await portClosed(infra[2]!)).toBe(true);
  });
});

/**
 * CI's bounded share of `npm run chaos`: a few seeds, end to end (contender processes running the real
 * handler, the DynamoDB fault proxy, the Stripe emulator's faults, SIGKILL, SIGSTOP past the lease, clock
 * skew, reruns, zombie leaders whose Stripe requests arrive after the key window), then dev/invariants.ts,
 * the fence order and dev/chaos/attempts.ts. It protects every invariant at once: 1 (no double charge),
 * 2 (nothing due lost), 3 (fences only rise), 4 (a stale fence's writes refused: the zombies' writes must
 * not show up as a second charge or a lost renewal), 5 (ledger and provider agree), "attempts fenced"
 * (every card attempt is the current leader's), "no stray PaymentIntents" and "backlog drained" (what the
 * faults left due, the follow-up ticks and their continuation links bill). It also fails if injection
 * silently stops: the faults must actually have struck, of several kinds, zombies and continuation
 * faults included.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { FAULT_KINDS } from "../../dev/chaos/scenario";
import { runChaos, verdictLine } from "../../dev/chaos/suite";

/**
 * Chosen for their spread: every fault family among them (13: a held zombie; 4: continuation links whose
 * Invoke fails, delivered twice and late), a few seconds to a minute each.
 */
const CI_SEEDS = [2, 4, 5, 7, 9, 13];

describe("npm run chaos, a bounded set of seeds", () => {
  it(`holds every invariant over seeds ${CI_SEEDS.join(", ")}, with faults of several kinds injected`, async () => {
    const outDir = mkdtempSync(join(tmpdir(), "chaos-ci-"));
    const summary = await runChaos({
      seeds: CI_SEEDS,
      dynamoEndpoint: inject("dynamoEndpoint"),
      settings: { outDir },
    });
    const lines = summary.seeds.map(verdictLine).join("\n");
    expect(summary.seedsRun, lines).toBe(CI_SEEDS.length);
    expect(summary.failingSeeds, lines).toEqual([]);
    expect(summary.violations, lines).toBe(0);
    expect(summary.doubleCharges, lines).toBe(0);
    expect(summary.lostRenewals, lines).toBe(0);
    expect(summary.unfencedAttempts, lines).toBe(0);
    expect(summary.strayPaymentIntents, lines).toBe(0);
    expect(summary.cardAttempts, lines).toBeGreaterThanOrEqual(summary.charges);
    expect(summary.harnessErrors, lines).toBe(0);
    expect(summary.charges, lines).toBeGreaterThan(0);

    // Injection did happen, of several kinds, from each family.
    const struck = FAULT_KINDS.filter((k) => summary.faultsInjected[k] > 0);
    expect(struck.length, lines).toBeGreaterThanOrEqual(6);
    expect(summary.faultsInjected.sigkill + summary.faultsInjected.sigstop, lines).toBeGreaterThan(0);
    expect(
      struck.some((k) => k.startsWith("dynamo-")),
      lines,
    ).toBe(true);
    expect(
      struck.some((k) => k.startsWith("stripe-")),
      lines,
    ).toBe(true);
    expect(summary.faultsInjected["clock-offset"], lines).toBeGreaterThan(0);
    expect(
      summary.faultsInjected["zombie-held-request"] + summary.faultsInjected["zombie-sdk-retry"],
      lines,
    ).toBeGreaterThan(0);
    // Runs went on in continuation links, and some of those links were struck ("backlog drained" held).
    expect(summary.continuationLinks, lines).toBeGreaterThan(0);
    expect(
      struck.some((k) => k.startsWith("link-")),
      lines,
    ).toBe(true);
  }, 480_000);
});

/**
 * The chaos suite's scenarios are decided by their seed alone (so a failing seed can be replayed), stay
 * within the scenario's bounds, and over a range of seeds plan every kind of fault; and its options.
 */
import { describe, expect, it } from "vitest";
import { helpText, OptionError, parseOptions } from "../../dev/chaos/options";
import { scenarioFor, type Scenario } from "../../dev/chaos/scenario";

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

describe("scenarioFor", () => {
  it("gives the same scenario for the same seed, and different ones for different seeds", () => {
    expect(scenarioFor(7)).toEqual(scenarioFor(7));
    expect(JSON.stringify(scenarioFor(1234567))).toBe(JSON.stringify(scenarioFor(1234567)));
    const distinct = new Set(SEEDS.map((s) => JSON.stringify({ ...scenarioFor(s), seed: 0 })));
    expect(distinct.size).toBe(SEEDS.length);
  });

  it("keeps every scenario within bounds: 2-4 contenders, 1-3 shards, pauses longer than the lease, skews of a few leases", () => {
    for (const seed of SEEDS) {
      const s: Scenario = scenarioFor(seed);
      expect(s.contenders).toBeGreaterThanOrEqual(2);
      expect(s.contenders).toBeLessThanOrEqual(4);
      expect(s.shards).toBeGreaterThanOrEqual(1);
      expect(s.shards).toBeLessThanOrEqual(3);
      expect(s.subscriptions).toBeGreaterThanOrEqual(20);
      expect(s.clockOffsetsMs).toHaveLength(s.contenders);
      for (const offset of s.clockOffsetsMs)
        expect(Math.abs(offset)).toBeLessThanOrEqual(3.5 * s.lease.leaseMs);
      expect(s.lease.renewMs).toBeLessThan(s.lease.leaseMs);
      for (const a of s.actions) {
        if (a.kind === "pause" || a.kind === "zombie") expect(a.durationMs).toBeGreaterThan(s.lease.leaseMs);
        if (a.kind === "stripe-clock-jump" || a.kind === "zombie")
          expect(a.advanceMs).toBeGreaterThan(24 * 3_600_000);
        if (a.kind === "zombie") expect(a.requests).toBeGreaterThanOrEqual(1);
        if ("afterMs" in a.trigger) expect(a.trigger.afterMs).toBeLessThanOrEqual(s.faultWindowMs);
      }
      const d = s.dynamo;
      expect(d.throttleRate + d.error500Rate + d.dropResponseRate).toBeLessThan(1);
      // Continuation faults: budgets well past the suite's 2 s stop-claiming margin, links 1 to 3, pauses
      // past the lease, each kind at most once.
      const c = s.continuations;
      if (c === null) continue;
      expect(c.budgetMs).toBeGreaterThanOrEqual(6_000);
      expect(c.subscriptions).toBeGreaterThanOrEqual(s.subscriptions);
      expect(new Set(c.faults.map((f) => f.kind)).size).toBe(c.faults.length);
      for (const f of c.faults) {
        expect(f.link).toBeGreaterThanOrEqual(1);
        expect(f.link).toBeLessThanOrEqual(3);
        if (f.kind === "link-pause") expect(f.durationMs).toBeGreaterThan(s.lease.leaseMs);
      }
    }
  });

  it("draws continuation faults from their own generator: a seed's other draws are as they were", () => {
    // Seed 13's shape and actions, as drawn before continuation faults existed.
    const s = scenarioFor(13);
    expect([s.contenders, s.shards, s.subscriptions, s.lease.leaseMs]).toEqual([3, 1, 22, 2000]);
    expect(s.actions.map((a) => a.kind)).toEqual([
      "kill",
      "kill",
      "pause",
      "pause",
      "stripe-clock-jump",
      "zombie",
    ]);
    expect(s.continuations).not.toBeNull();
  });

  it("plans every kind of fault somewhere in a few hundred seeds, and clock skew in both directions", () => {
    const planned = new Set<string>();
    const offsets: number[] = [];
    for (const seed of SEEDS) {
      const s = scenarioFor(seed);
      for (const a of s.actions) planned.add(a.kind === "zombie" ? `zombie-${a.resend}` : a.kind);
      offsets.push(...s.clockOffsetsMs);
      for (const f of s.continuations?.faults ?? [])
        planned.add(f.kind === "link-fail" ? `link-fail-${f.how}` : f.kind);
      if (s.dynamo.throttleRate > 0) planned.add("dynamo-throttle");
      if (s.dynamo.error500Rate > 0) planned.add("dynamo-500");
      if (s.dynamo.dropResponseRate > 0) planned.add("dynamo-drop-response");
      for (const [k, v] of Object.entries(s.stripe)) if ((v ?? 0) > 0) planned.add(`stripe.${k}`);
    }
    expect([...planned].sort()).toEqual(
      [
        "dynamo-500",
        "dynamo-drop-response",
        "dynamo-throttle",
        "kill",
        "link-fail-drop",
        "link-fail-error-500",
        "link-kill",
        "link-late",
        "link-pause",
        "link-twice",
        "pause",
        "rerun",
        "stripe-clock-jump",
        "stripe-latency-spike",
        "stripe.dropAfterChargeRate",
        "stripe.error500Rate",
        "stripe.rateLimit429Rate",
        "stripe.timeoutRate",
        "zombie-held",
        "zombie-sdk-retry",
      ].sort(),
    );
    expect(offsets.some((o) => o > 0)).toBe(true);
    expect(offsets.some((o) => o < 0)).toBe(true);
  });

  it("refuses a seed that is not a 32-bit whole number", () => {
    expect(() => scenarioFor(-1)).toThrow(/seed/);
    expect(() => scenarioFor(1.5)).toThrow(/seed/);
  });
});

describe("npm run chaos options", () => {
  it("runs seed 1 by default, N seeds from S with --seeds N --seed S, and exactly S with --seed S", () => {
    expect(parseOptions([]).seeds).toEqual([1]);
    expect(parseOptions(["--seeds", "3"]).seeds).toEqual([1, 2, 3]);
    expect(parseOptions(["--seeds", "3", "--seed", "40"]).seeds).toEqual([40, 41, 42]);
    expect(parseOptions(["--seed=17"]).seeds).toEqual([17]);
    const o = parseOptions(["--json", "--out", "/tmp/x", "--report-all"]);
    expect([o.json, o.outDir, o.reportAlways]).toEqual([true, "/tmp/x", true]);
  });

  it("refuses bad values, naming the flag", () => {
    expect(() => parseOptions(["--seeds", "0"])).toThrow(OptionError);
    expect(() => parseOptions(["--seeds", "x"])).toThrow(/--seeds/);
    expect(() => parseOptions(["--seed"])).toThrow(/--seed needs a value/);
    expect(() => parseOptions(["--out"])).toThrow(/--out/);
    expect(() => parseOptions(["--frobnicate"])).toThrow(/unknown option --frobnicate/);
    expect(() => parseOptions(["--out", "--json"])).toThrow(/^--out needs a directory$/);
    expect(() => parseOptions(["--seeds", "1e3"])).toThrow(
      '--seeds must be a whole number from 1 to 1000000, got "1e3"',
    );
    expect(() => parseOptions(["stray"])).toThrow(/^unknown option stray$/);
    expect(() => parseOptions(["--seed", "4294967295", "--seeds", "2"])).toThrow(
      /goes past the largest seed/,
    );
  });

  it("takes each flag as the help text lists it, -h included", () => {
    const o = parseOptions(["--verbose", "--tsx", "-h"]);
    expect([o.verbose, o.tsx, o.help]).toEqual([true, true, true]);
    for (const flag of [
      "--seeds",
      "--seed",
      "--json",
      "--out",
      "--report-all",
      "--verbose",
      "--tsx",
      "--help",
    ]) {
      expect(helpText()).toContain(`  ${flag} `);
    }
  });
});

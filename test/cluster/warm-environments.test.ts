/**
 * Warm environments (dev/cluster's reuseEnvironments), as Lambda may reuse an execution environment: an
 * invocation runs in a process whose last invocation is over, without Init, and bills like a new one;
 * an invocation that finds none idle gets a process of its own; stopping the cluster ends idle ones.
 * The billing invariants hold across both invocations (dev/invariants.ts).
 */
import { describe, expect, it } from "vitest";
import { Cluster } from "../../dev/cluster/cluster";
import { buildContenderBundle } from "../../dev/chaos/bundled-contender";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { alive } from "../local-run/runner";

describe("a cluster that reuses environments", () => {
  it("runs the next invocation in the idle process, without Init, and a new process when none is idle", async () => {
    const cluster = await Cluster.start({
      shardCount: 1,
      lease: { leaseMs: 5_000, renewMs: 1_500, marginMs: 1_500 },
      nodeArgs: [await buildContenderBundle()],
      tablePrefix: "warm-",
      functionSettings: { stripeTimeoutMs: 1_500, stopClaimingMarginMs: 2_500 },
      reuseEnvironments: true,
    });
    try {
      const { infra } = cluster;
      const asOf = new Date(Date.now() - 1000).toISOString();
      const stripe = stripeClient(infra.stripeKey, infra.stripe.url);
      await seedSubscriptions(infra.doc, infra.tables, stripe, dueSubscriptions(4, asOf, 1, "first"));
      const initMs = new Map<string, number>();
      const charges: string[] = [];
      cluster.onLine((p, line) => {
        if (line.kind === "contender" && line.phase === "started") {
          initMs.set(p.label, (line.data as { initMs?: number }).initMs ?? -1);
        }
        if (line.kind === "run-event" && line.event.type === "charge") {
          charges.push(`${p.label} ${line.event.subscriptionId} ${line.event.outcome}`);
        }
      });

      const first = cluster.fireRound({ contenders: 1, budgetMs: 20_000, asOf, labels: ["cold"] });
      expect((await first.settled).map((e) => e.code)).toEqual([0]);
      const [cold] = first.processes;
      // Its invocation is over, its process is not.
      expect(alive(cold!.pid)).toBe(true);

      // Renewals due later in the same book: the second tick's invocations bill them.
      const later = new Date(Date.now() + 1000).toISOString();
      await seedSubscriptions(infra.doc, infra.tables, stripe, dueSubscriptions(3, later, 1, "second"));
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const second = cluster.fireRound({
        contenders: 2,
        budgetMs: 20_000,
        asOf: later,
        labels: ["warm", "new"],
      });
      expect((await second.settled).map((e) => e.code)).toEqual([0, 0]);
      const [warm, fresh] = second.processes;
      expect(warm!.pid).toBe(cold!.pid);
      expect(fresh!.pid).not.toBe(cold!.pid);
      expect(cluster.warmStarts).toBe(1);
      expect(initMs.get("warm")).toBe(0);
      expect(initMs.get("new")).toBeGreaterThan(0);

      // The first four in the cold invocation, the other three in the second tick, once each.
      const report = await cluster.checkInvariants(later);
      expect(report.violations).toEqual([]);
      expect(charges.filter((c) => c.startsWith("cold ")).sort()).toEqual(
        [0, 1, 2, 3].map((i) => `cold first_0000${i} succeeded`),
      );
      expect(
        charges
          .filter((c) => !c.startsWith("cold "))
          .map((c) => c.split(" ").slice(1).join(" "))
          .sort(),
      ).toEqual([0, 1, 2].map((i) => `second_0000${i} succeeded`));
      expect(await cluster.dueLeft(later)).toBe(0);
    } finally {
      await cluster.stop();
    }
    for (const p of cluster.processes) {
      for (let i = 0; i < 20 && alive(p.pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(p.pid), `${p.label} (${p.pid}) outlived the cluster`).toBe(false);
    }
  });
});

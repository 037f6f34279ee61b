/**
 * `npm start` with a book that outlasts one invocation: the invocation out of time invokes the next
 * continuation link through the local invoke server (dev/lambda-invoke), each link its own process and
 * its own lane on the timeline, and the book drains within the one scheduled firing with every invariant
 * checked (invariants 1, 2, 3 and 5 of docs/design.md).
 */
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { LocalRunSummary } from "../../dev/local-run/summary";
import { alive, startRunner } from "./runner";

describe("npm start, a book bigger than one invocation", () => {
  it("drains in one scheduled firing through continuation links, each a process and a lane", async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-run-links-"));
    const report = join(dir, "links.html");
    // 60 subscriptions need about 120 Stripe requests; at 8 per second, a 12 s invocation that stops
    // claiming 2 s before its end can send at most 80: the run must go on in at least one link.
    const out = await startRunner([
      "--subscriptions",
      "60",
      "--contenders",
      "2",
      "--budget-ms",
      "12000",
      "--stripe-rate-limit",
      "8",
      "--max-rounds",
      "1",
      "--json",
      "--report",
      report,
    ]).done;
    expect(out.code, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout) as LocalRunSummary;

    expect(summary.invariants.ok).toBe(true);
    expect(summary.invariants.violations).toEqual([]);
    expect(summary.rounds).toBe(1);
    expect(summary.dueLeft).toBe(0);
    const links = summary.contenders.filter((c) => /^link\d+$/.test(c.contender));
    expect(links.length).toBeGreaterThanOrEqual(1);
    expect(summary.continuationLinks).toEqual({ sent: links.length, failed: 0 });
    // Each link is a process of its own, in the firing's round, and led the shard after the one before.
    expect(new Set(summary.contenders.map((c) => c.pid)).size).toBe(summary.contenders.length);
    expect(links.every((c) => c.round === 1 && c.exit?.code === 0)).toBe(true);
    expect(links.some((c) => c.led.length > 0)).toBe(true);
    const fences = summary.leases.map((l) => l.fence);
    expect(fences).toEqual([...fences].sort((a, b) => a - b));
    for (const c of summary.contenders) expect(alive(c.pid)).toBe(false);

    // The report draws a lane per link and marks where each was invoked.
    const html = readFileSync(report, "utf8");
    for (const link of links) {
      expect(html).toContain(`class="lane" data-contender="${link.contender}"`);
    }
    expect(html).toMatch(/class="continuation" data-contender="[^"]+" data-link="1" data-sent="true"/);
  });
});

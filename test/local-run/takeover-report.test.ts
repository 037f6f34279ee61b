/**
 * `npm start -- --kill-leader-after N`: the leader process is SIGKILLed mid-run, a standby takes over with
 * a larger fence once the lease expires, every invariant still holds; and the HTML report, loaded in
 * headless Chromium, draws the contenders, both tenures and the takeover.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRunSummary } from "../../dev/local-run/summary";
import { startRunner, twoContenderArgs } from "./runner";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("npm start -- --kill-leader-after", () => {
  const report = join(mkdtempSync(join(tmpdir(), "local-run-")), "takeover.html");
  let summary: LocalRunSummary;
  let exitCode: number | null;
  let stderr: string;

  beforeAll(async () => {
    // The takeover is the standby's, as before continuation links: none are sent here.
    const out = await startRunner(twoContenderArgs(40, report, ["--kill-leader-after", "6"])).done;
    exitCode = out.code;
    stderr = out.stderr;
    summary = JSON.parse(out.stdout) as LocalRunSummary;
  }, 120_000);

  it("kills the leader, shows a takeover with a larger fence, and still passes every invariant", () => {
    expect(exitCode, stderr).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.invariants.violations).toEqual([]);

    const kill = summary.chaos.find((c) => c.kind === "kill");
    expect(kill, "the leader was killed").toBeDefined();
    expect(kill!.afterCharges).toBeGreaterThanOrEqual(6);
    const killedFence = kill!.holding["0"]!;
    const victim = summary.contenders.find((c) => c.contender === kill!.contender)!;
    expect(victim.exit?.signal).toBe("SIGKILL");

    expect(summary.takeovers.length).toBeGreaterThanOrEqual(1);
    const takeover = summary.takeovers[0]!;
    expect(takeover.from).toBe(kill!.contender);
    expect(takeover.to).not.toBe(kill!.contender);
    expect(takeover.fromFence).toBe(killedFence);
    expect(takeover.toFence).toBeGreaterThan(killedFence);
    // The successor finished the run: nothing due is left, the dead leader's tenure ends "killed".
    expect(summary.dueLeft).toBe(0);
    expect(summary.leases.find((l) => l.contender === kill!.contender)?.end).toBe("killed");
    expect(summary.leases.find((l) => l.fence === takeover.toFence)?.end).toBe("released-complete");
  });

  describe("its HTML report in headless Chromium", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    it("renders the timeline with every contender, both fences, the crash and the takeover", async () => {
      expect(existsSync(report)).toBe(true);
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(pathToFileURL(report).href);
      await page.waitForSelector("svg#timeline[data-rendered='true']", { timeout: 10_000 });

      const lanes = await page.$$eval("svg#timeline g.lane", (els) =>
        els.map((e) => e.getAttribute("data-contender")),
      );
      expect(lanes.sort()).toEqual(summary.contenders.map((c) => c.contender).sort());

      const fences = await page.$$eval("svg#timeline rect.lease", (els) =>
        els.map((e) => ({
          contender: e.getAttribute("data-contender"),
          fence: Number(e.getAttribute("data-fence")),
        })),
      );
      const takeover = summary.takeovers[0]!;
      expect(fences).toContainEqual({ contender: takeover.from, fence: takeover.fromFence });
      expect(fences).toContainEqual({ contender: takeover.to, fence: takeover.toFence });

      const marker = page.locator(`svg#timeline g.takeover[data-contender="${takeover.to}"]`);
      await expect.poll(() => marker.count()).toBe(1);
      expect(await marker.getAttribute("data-from-contender")).toBe(takeover.from);
      expect(Number(await marker.getAttribute("data-fence"))).toBe(takeover.toFence);
      expect(Number(await marker.getAttribute("data-from-fence"))).toBe(takeover.fromFence);
      expect(await page.locator(`svg#timeline g.crash[data-contender="${takeover.from}"]`).count()).toBe(1);
      // The marker is drawn and visible (has a box), and its tooltip names the fences.
      const box = await marker.boundingBox();
      expect(box && box.width > 0 && box.height > 0).toBe(true);
      await marker.locator("path").hover();
      await expect
        .poll(() => page.locator("#tip").textContent())
        .toContain(`fence ${takeover.fromFence} → ${takeover.toFence}`);

      expect(await page.locator("#verdict").getAttribute("data-ok")).toBe("true");
      expect(errors).toEqual([]);
      // Self-contained: nothing but the file itself was requested.
      expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
      await page.close();
    });
  });
});

/**
 * `npm run chaos` cut short with Ctrl-C, as a long run split over ranges is: it stops after the seeds it
 * finished and leaves their whole summary (a run stopped this way once left summary.json empty, its exit
 * racing the write).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCommand } from "../support/command";

interface Summary {
  readonly seedsRun: number;
  readonly seeds: readonly { readonly seed: number }[];
  readonly interrupted?: boolean;
  readonly partial?: boolean;
}

describe("npm run chaos, interrupted", () => {
  it("exits 130 on SIGINT and leaves the whole summary of the seeds it finished", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "chaos-interrupted-"));
    const run = startCommand("dev/chaos/main.ts", ["--seed", "2", "--seeds", "3", "--json", "--out", outDir]);
    await run.waitForStderr(/seed 2: (PASS|FAIL)/);
    run.child.kill("SIGINT");
    const out = await run.done;

    expect(out.code, out.stderr).toBe(130);
    expect(out.stderr).toContain("SIGINT: stopping");
    const printed = JSON.parse(out.stdout) as Summary;
    const saved = JSON.parse(readFileSync(join(outDir, "summary.json"), "utf8")) as Summary;
    expect(printed.interrupted).toBe(true);
    expect(saved.partial).toBeUndefined();
    expect(saved.seedsRun).toBe(printed.seedsRun);
    expect(saved.seeds.map((s) => s.seed)).toEqual(printed.seeds.map((s) => s.seed));
    expect(saved.seeds[0]?.seed).toBe(2);
  });
});

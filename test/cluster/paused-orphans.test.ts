/**
 * No contender outlives the process that started it, not even a paused one. A contender ends itself when
 * its parent's end closes its stdin, but a SIGSTOPped one cannot run that code: an interrupted chaos range
 * once left such a process stopped for 40 minutes. Now the parent SIGKILLs every live contender on exit.
 */
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, startCommand } from "../support/command";

/** A parent that starts one contender, pauses it, prints its pid and exits. */
const PARENT = `
import { spawnContender } from ${JSON.stringify(join(REPO, "dev/cluster/contenders.ts"))};
const child = spawnContender(
  {
    dynamoEndpoint: "http://127.0.0.1:9",
    tables: { leases: "l", subscriptions: "s", charges: "c" },
    stripeUrl: "http://127.0.0.1:9",
    stripeKey: "sk_test_orphan",
    shardCount: 1,
    lease: { leaseMs: 5000, renewMs: 1500, marginMs: 1500 },
  },
  { label: "c1", round: 1, event: {}, budgetMs: 60_000 },
);
child.signal("SIGSTOP");
process.stderr.write("paused " + child.pid + "\\n");
setTimeout(() => process.exit(0), 200);
`;

/** The process's state letter (T: stopped, Z: exited, not yet reaped), or null once it is gone. */
function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

describe("contender processes", () => {
  it("a paused contender dies with the process that started it", async () => {
    const script = join(mkdtempSync(join(tmpdir(), "orphan-")), "parent.ts");
    writeFileSync(script, PARENT);
    const run = startCommand(script, []);
    const [, pid] = await run.waitForStderr(/paused (\d+)/);
    const out = await run.done;
    expect(out.code, out.stderr).toBe(0);
    // SIGKILL is delivered to a stopped process at once; give the kernel a moment to tear it down.
    let s = state(Number(pid));
    for (let i = 0; i < 20 && s !== null && s !== "Z"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      s = state(Number(pid));
    }
    expect(s === null || s === "Z", `contender ${pid} is in state ${s}`).toBe(true);
  });
});

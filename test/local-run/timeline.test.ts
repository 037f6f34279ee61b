/** The timeline recorder's derived views and the report renderer, on a hand-written history. */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../functions/core/billing-run/events";
import { Timeline } from "../../dev/cluster/timeline";
import { renderReport } from "../../dev/cluster/report-html";
import { parseLine } from "../../dev/cluster/log-lines";
import { parseDuration, parseOptions } from "../../dev/local-run/options";

function history(): Timeline {
  const t = new Timeline();
  const spawn = (contender: string, at: number) =>
    t.record({
      at,
      kind: "spawn",
      contender,
      round: 1,
      pid: 100 + at,
      requestId: `${contender}-req`,
      clockOffsetMs: 0,
    });
  spawn("c1", 0);
  spawn("c2", 1);
  spawn("c3", 2);
  for (const c of ["c1", "c2", "c3"]) t.nameOwner(`${c}-req/abcd`, c);
  const ev = (at: number, contender: string, event: RunEvent) =>
    t.record({ at, kind: "event", contender, event });
  ev(100, "c1", { type: "lease-acquired", shard: 0, fence: 1, tookOverFrom: null });
  ev(200, "c1", {
    type: "charge",
    shard: 0,
    fence: 1,
    subscriptionId: "s1",
    periodStart: "2026-01-01T00:00:00.000Z",
    outcome: "succeeded",
    amount: 500,
    currency: "usd",
    paymentIntentId: "pi_1",
  });
  ev(250, "c1", { type: "lease-renewed", shard: 0, fence: 1, expiresAt: t.startedAtEpochMs + 800 });
  t.record({ at: 300, kind: "signal", contender: "c1", signal: "SIGSTOP", reason: "pause" });
  ev(900, "c2", { type: "lease-acquired", shard: 0, fence: 2, tookOverFrom: "c1-req/abcd" });
  t.record({ at: 1500, kind: "signal", contender: "c1", signal: "SIGCONT", reason: "resume" });
  ev(1510, "c1", { type: "fenced-out", shard: 0, fence: 1, step: "settle-succeeded", subscriptionId: "s2" });
  ev(1520, "c1", { type: "lease-lost", shard: 0, fence: 1, during: "renew" });
  t.record({ at: 1600, kind: "exit", contender: "c1", code: 0, signal: null, timedOut: false });
  ev(2000, "c2", { type: "lease-released", shard: 0, fence: 2, outcome: "complete" });
  // A benign race: c3 read the lease while c2 still held it, and acquired just after c2 released.
  ev(2010, "c3", { type: "lease-acquired", shard: 0, fence: 3, tookOverFrom: "c2-req/abcd" });
  t.record({ at: 2100, kind: "signal", contender: "c3", signal: "SIGKILL", reason: "kill" });
  t.record({ at: 2110, kind: "exit", contender: "c3", code: null, signal: "SIGKILL", timedOut: false });
  t.record({ at: 2200, kind: "exit", contender: "c2", code: 0, signal: null, timedOut: false });
  return t;
}

describe("Timeline", () => {
  it("derives tenures with how each ended, and takeovers only from holders that did not release", () => {
    const t = history();
    expect(
      t.leaseIntervals().map((i) => [i.contender, i.fence, i.from, i.to, i.end, i.tookOverFrom]),
    ).toEqual([
      ["c1", 1, 100, 1520, "lost", null],
      ["c2", 2, 900, 2000, "released-complete", "c1"],
      ["c3", 3, 2010, 2110, "killed", null],
    ]);
    // c1's last renewal ran to 800 ms: from there to its lease-lost at 1520 it only believed it led.
    expect(t.leaseIntervals()[0]!.expiredAt).toBe(800);
    expect(t.takeovers()).toEqual([{ at: 900, shard: 0, from: "c1", fromFence: 1, to: "c2", toFence: 2 }]);
    expect(t.pauses()).toEqual([{ contender: "c1", from: 300, to: 1500 }]);
    expect(t.charges()).toHaveLength(1);
  });

  it("renders a self-contained report whose SVG names contenders, fences, the takeover, pause and crash", () => {
    const html = renderReport({
      title: "t",
      timeline: history(),
      verdict: { ok: true, headline: "PASS" },
      facts: [],
      leaseMs: 500,
    });
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/);
    expect(html.match(/<g class="lane"/g)).toHaveLength(3);
    expect(html).toMatch(/<rect class="lease[^"]*" data-contender="c2" data-shard="0" data-fence="2"/);
    expect(html).toMatch(
      /<g class="takeover" data-contender="c2" data-shard="0" data-fence="2" data-from-contender="c1" data-from-fence="1"/,
    );
    expect(html.match(/<g class="takeover"/g)).toHaveLength(1);
    expect(html).toMatch(/<rect class="pause" data-contender="c1"/);
    expect(html).toMatch(/<g class="crash" data-contender="c3" data-signal="SIGKILL"/);
    expect(html).toMatch(
      /<circle class="fenced-out" data-contender="c1" data-fence="1" data-step="settle-succeeded"/,
    );
    expect(html).toMatch(/<rect class="orphaned" data-contender="c3"/);
    expect(html).toMatch(/<rect class="stale" data-contender="c1" data-shard="0" data-fence="1"/);
  });
});

describe("log lines", () => {
  it("turns a Powertools line into the run event, without the logger's keys", () => {
    const parsed = parseLine(
      JSON.stringify({
        level: "INFO",
        message: "took over the lease",
        timestamp: "2026-01-01T00:00:00.000Z",
        service: "lease-billing",
        runId: "r",
        owner: "c2-req/abcd",
        asOf: "x",
        kind: "scheduled",
        type: "lease-acquired",
        shard: 0,
        fence: 2,
        tookOverFrom: "c1-req/1",
      }),
    );
    expect(parsed.kind).toBe("run-event");
    expect(parsed.kind === "run-event" && parsed.event).toEqual({
      type: "lease-acquired",
      shard: 0,
      fence: 2,
      tookOverFrom: "c1-req/1",
    });
    expect(parseLine("Warning: something").kind).toBe("text");
    expect(parseLine('{"_aws":{},"ChargesSucceeded":1}').kind).toBe("metrics");
  });
});

describe("options", () => {
  it("has defaults that finish quickly, and names the option at fault", () => {
    const o = parseOptions([]);
    expect([o.subscriptions, o.contenders, o.shards, o.leaseMs, o.json]).toEqual([300, 3, 1, 5000, false]);
    expect(parseOptions(["--pause-leader", "20s"]).pauseLeaderMs).toBe(20_000);
    expect(parseDuration("pause-leader", "1500ms")).toBe(1500);
    expect(() => parseOptions(["--pause-leader", "20"])).toThrow(/--pause-leader: must be a duration/);
    expect(() => parseOptions(["--shards", "0"])).toThrow(/--shards: must be from 1/);
    expect(() => parseOptions(["--lease-ms", "70000"])).toThrow(
      /--lease-ms: must be shorter than --budget-ms/,
    );
    expect(() => parseOptions(["--bogus"])).toThrow(/--bogus/);
  });
});

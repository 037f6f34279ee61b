/** The printed table and the charts of a run's results. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { columns } from "../cli/format";
import { barsWithStack, lineChart } from "./charts";
import type { BenchResults, BudgetSection, DrainSection } from "./run";

export function table(results: BenchResults): string {
  const rows = results.figures.map((f) => [
    f.figure,
    `${formatValue(f.value)} ${f.unit}`,
    f.target,
    f.met === null ? "" : f.met ? "met" : "MISSED",
  ]);
  const header = ["figure", "value", "target", ""];
  return columns([header, ...rows], { right: [false, true], rule: true }).join("\n");
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The mean of each point and the `n - 1` before it (charges land in bursts: group commits settle together). */
function movingMean(points: { x: number; y: number }[], n: number): { x: number; y: number }[] {
  return points
    .slice(n - 1)
    .map((p, i) => ({ x: p.x, y: points.slice(i, i + n).reduce((a, q) => a + q.y, 0) / n }));
}

export async function writeCharts(results: BenchResults, dir: string): Promise<string[]> {
  const { designed, naive } = results.throughput;
  const throughput = lineChart({
    title: "Provider requests and charges per second",
    subtitle: `provider limit ${designed.provider.requestsPerSecond} req/s at ${designed.provider.latencyMs} ms; designed: concurrency ${designed.concurrency}, client limiter ${designed.clientRequestsPerSecond} req/s; naive: concurrency 1 (${results.preset} run)`,
    xLabel: "seconds since the leader started (each point: the second ending there)",
    yLabel: "per second",
    series: [
      {
        name: "designed: requests/s",
        color: "#1f5fb4",
        points: designed.timeline.map((p) => ({ x: p.second, y: p.requests })),
      },
      {
        name: "designed: charges/s",
        color: "#a8d8b4",
        points: designed.timeline.map((p) => ({ x: p.second, y: p.charges })),
      },
      {
        name: "designed: charges/s, 5 s mean",
        color: "#2e9b4e",
        points: movingMean(
          designed.timeline.map((p) => ({ x: p.second, y: p.charges })),
          5,
        ),
      },
      {
        name: "naive: requests/s",
        color: "#8a63d2",
        dashed: true,
        points: naive.timeline.map((p) => ({ x: p.second, y: p.requests })),
      },
      {
        name: "naive: charges/s",
        color: "#d08a1c",
        dashed: true,
        points: naive.timeline.map((p) => ({ x: p.second, y: p.charges })),
      },
    ],
    rules: [{ y: designed.provider.requestsPerSecond, label: "provider limit", color: "#c0392b" }],
    bands: [
      {
        from: designed.window.from,
        to: designed.window.to,
        label: "designed: measured window",
        color: "#1f5fb4",
      },
    ],
  });
  const cores = results.machine.cores;
  const shards = barsWithStack({
    title: "Throughput by shard count (one contender process per shard)",
    subtitle: `provider allows ${results.shards[0]?.provider.requestsPerSecond ?? "?"} req/s at ${results.shards[0]?.provider.latencyMs ?? "?"} ms; ${cores} cores; ${results.preset} run`,
    valueLabel: "charges/s",
    stackLabel: "cores busy",
    stackNames: ["DynamoDB Local (JVM)", "contenders (job)", "emulator + bench", "other processes"],
    stackColors: ["#d08a1c", "#1f5fb4", "#8a8a8a", "#d9d9d9"],
    stackCeiling: { value: cores, label: `${cores} cores` },
    groups: results.shards.map((row) => ({
      label: `${row.shards} shard${row.shards === 1 ? "" : "s"}`,
      value: row.chargesPerSecond,
      stack: [
        row.cpu.dynamodbLocal ?? 0,
        row.cpu.contenders ?? 0,
        row.cpu.emulatorAndBench ?? 0,
        Math.max(0, (row.cpu.machine ?? 0) - (row.cpu.total ?? 0)),
      ],
      ...(row.ranOutOfWork && { note: "ran out of work" }),
    })),
  });
  const files = [join(dir, "throughput-over-time.svg"), join(dir, "shards.svg")];
  await writeFile(files[0]!, throughput);
  await writeFile(files[1]!, shards);
  // Results from before these scenarios existed have no section for them.
  if (results.budget) {
    files.push(join(dir, "budget.svg"));
    await writeFile(files.at(-1)!, budgetChart(results.budget));
  }
  if (results.drain) {
    files.push(join(dir, "drain.svg"));
    await writeFile(files.at(-1)!, drainChart(results.drain));
  }
  return files;
}

/** Renewals left due over time, per shard count, beside the floor the provider's limit sets. */
function drainChart(drain: DrainSection): string {
  const o = drain.options;
  const floor = drain.rows[0]?.floorSeconds ?? 0;
  const target = drain.rows[0]?.targetSeconds ?? 0;
  return lineChart({
    title: `Draining ${o.subscriptions} due renewals through continuation links, one schedule tick`,
    subtitle: `budget ${o.budget} req/s = the provider's limit, ${o.latencyMs} ms; invocations of ${o.invocationBudgetMs / 1000} s, lease ${o.lease.leaseMs / 1000} s; ${drain.command}`,
    xLabel: "seconds since the tick",
    yLabel: "renewals left due",
    series: [
      ...drain.rows.map((row, i) => ({
        name: `${row.shards} shard${row.shards === 1 ? "" : "s"}: ${row.drainSeconds === null ? "did not drain" : `${row.drainSeconds.toFixed(1)} s`}`,
        color: LEADER_COLORS[i % LEADER_COLORS.length]!,
        points: row.timeline.map((p) => ({ x: p.second, y: p.left })),
      })),
      {
        name: `floor 2N/L: ${floor} s`,
        color: "#c0392b",
        dashed: true,
        points: [
          { x: 0, y: o.subscriptions },
          { x: floor, y: 0 },
        ],
      },
    ],
    bands: [{ from: 0, to: target, label: `target: ≤ ${target.toFixed(1)} s`, color: "#2e9b4e" }],
  });
}

const LEADER_COLORS = ["#1f5fb4", "#2e9b4e", "#d08a1c", "#8a63d2"];

/** The leaders' summed requests per second under one budget, per configuration, with the budget drawn. */
function budgetChart(budget: BudgetSection): string {
  const o = budget.options;
  return lineChart({
    title: "One Stripe budget for the account: the leaders' summed requests per second",
    subtitle: `budget ${o.budget} req/s = the emulator's limit, ${o.latencyMs} ms; requests as they arrived, 429s included; ${budget.command}`,
    xLabel: "seconds since the leaders started (each point: the second ending there)",
    yLabel: "requests per second, all leaders",
    series: budget.rows.flatMap((row, i) => {
      const color = LEADER_COLORS[i % LEADER_COLORS.length]!;
      const name = `${row.shards} leader${row.shards === 1 ? "" : "s"}`;
      return [
        {
          name: `${name}: requests/s`,
          color,
          points: row.timeline.map((p) => ({ x: p.second, y: p.requests })),
        },
        {
          name: `${name}: 429s/s`,
          color,
          dashed: true,
          points: row.timeline.map((p) => ({ x: p.second, y: p.rateLimited })),
        },
      ];
    }),
    rules: [{ y: o.budget, label: "account budget", color: "#c0392b" }],
    bands: budget.rows.slice(0, 1).map((row) => ({
      from: row.window.from,
      to: row.window.to,
      label: "measured window",
      color: "#1f5fb4",
    })),
  });
}

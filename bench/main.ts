/**
 * `npm run bench`: the billing job's benchmark. Starts its own DynamoDB Local and Stripe emulator, prints
 * each figure beside its target, and writes bench/results.json and the charts beside it.
 *
 *   npm run bench                 # the full run, about three minutes here
 *   npm run bench -- --quick      # smaller numbers, under a minute
 *   npm run bench -- --out /tmp/results.json
 *   npm run bench -- --quick --scenario budget   # only scenario 8, merged into the existing results.json
 *   npm run bench -- --scenario drain            # only scenario 9, likewise
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PRESETS } from "./presets";
import { budgetFigures, drainFigures, measureDrain, runBench, runBudgetOnly, type BenchResults } from "./run";
import { table, writeCharts } from "./report";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    // The smoke test's sizes (test/bench): every scenario, figures meaningless.
    tiny: { type: "boolean", default: false },
    out: { type: "string", default: "bench/results.json" },
    // Redraw the charts from an existing results file, without running anything.
    "charts-from": { type: "string" },
    // One scenario alone, its section and figures replaced in the results file (which must exist).
    scenario: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: npm run bench [-- --quick] [-- --out bench/results.json] [-- --charts-from bench/results.json] [-- --scenario budget|drain]",
  );
  process.exit(0);
}

if (values["charts-from"]) {
  const from = resolve(values["charts-from"]);
  const results = JSON.parse(await readFile(from, "utf8")) as BenchResults;
  const charts = await writeCharts(results, dirname(from));
  console.log(`wrote ${charts.map((p) => relative(process.cwd(), p)).join(", ")}`);
  process.exit(0);
}

const preset = PRESETS[values.tiny ? "tiny" : values.quick ? "quick" : "full"];
const scenario = values.scenario;
const command = `npm run bench${[
  ...(preset.name === "full" ? [] : [`--${preset.name}`]),
  ...(scenario === undefined ? [] : [`--scenario ${scenario}`]),
]
  .map((arg, i) => (i === 0 ? ` -- ${arg}` : ` ${arg}`))
  .join("")}`;
const out = resolve(values.out);

/** The scenarios that run alone, each merged into the results file under its own key and figures. */
const ALONE = {
  budget: {
    run: () => runBudgetOnly(preset, command, (line) => console.log(line)),
    figures: (results: BenchResults) => budgetFigures(results.budget),
  },
  drain: {
    run: () => measureDrain(preset, command, (line) => console.log(line)),
    figures: (results: BenchResults) => drainFigures(results.drain),
  },
} as const;

if (scenario !== undefined) {
  if (scenario !== "budget" && scenario !== "drain") {
    console.error(`--scenario: the scenarios that run alone are "budget" and "drain", got "${scenario}"`);
    process.exit(2);
  }
  let results: BenchResults;
  try {
    results = JSON.parse(await readFile(out, "utf8")) as BenchResults;
  } catch (error) {
    console.error(
      `--scenario merges into an existing results file, and ${values.out} cannot be read: ${String(error)}`,
    );
    process.exit(2);
  }
  try {
    const alone = ALONE[scenario];
    const merged = { ...results, [scenario]: await alone.run() } as BenchResults;
    const figures = alone.figures(merged);
    const withFigures: BenchResults = {
      ...merged,
      figures: [...merged.figures.filter((f) => !f.id.startsWith(`${scenario}.`)), ...figures],
    };
    await writeFile(out, `${JSON.stringify(withFigures, null, 2)}\n`);
    const charts = await writeCharts(withFigures, dirname(out));
    console.log("");
    console.log(table({ ...withFigures, figures }));
    console.log(`\nwrote ${[out, ...charts].map((p) => relative(process.cwd(), p)).join(", ")}`);
    process.exit(0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}

try {
  const results = await runBench(preset, command, (line) => console.log(line));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  const charts = await writeCharts(results, dirname(out));
  console.log("");
  console.log(table(results));
  console.log("");
  for (const note of results.notes) console.log(`note: ${note}`);
  const load = results.machine.loadAverage;
  console.log(
    `load average (1 min) at start ${load.atStart}, at end ${load.atEnd}, on ${results.machine.cores} cores`,
  );
  console.log(
    `\n${results.durationSeconds} s; wrote ${[out, ...charts].map((p) => relative(process.cwd(), p)).join(", ")}`,
  );
  // Killed leaders in the failover scenario hang forever by design; do not wait for them.
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}

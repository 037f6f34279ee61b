/**
 * `npm run chaos`: randomized fault injection with invariant checks, one reproducible scenario per seed.
 * See README "Reliability" and `npm run chaos -- --help`.
 *
 * Exit codes: 0 every seed held every invariant; 1 a seed failed (or the suite broke); 2 bad options;
 * 130 interrupted (contender processes and DynamoDB Local go down with us: they watch our pipes).
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readOptions } from "../command-line";
import { helpText, OptionError, parseOptions } from "./options";
import type { SeedResult } from "./run-seed";
import { formatSummary, runChaos, summarize, verdictLine } from "./suite";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function main(argv: readonly string[]): Promise<number> {
  const options = readOptions(argv, parseOptions, helpText, OptionError);
  if (typeof options === "number") return options;
  // With --json, stdout carries the summary only; people read stderr.
  const human = options.json ? process.stderr : process.stdout;
  const outDir = resolve(options.outDir);
  const started = performance.now();
  const done: SeedResult[] = [];

  const path = join(outDir, "summary.json");
  // One write at a time, each whole (a temporary file renamed over the last): the partial summaries that
  // follow each seed and the final one never interleave, and a run cut short never leaves half a file.
  let writing: Promise<void> = Promise.resolve();
  const saveSummary = (value: unknown): Promise<void> => {
    const attempt = writing.then(async () => {
      await mkdir(outDir, { recursive: true });
      await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
      await rename(`${path}.tmp`, path);
    });
    writing = attempt.catch(() => undefined);
    return attempt;
  };

  const finish = async (interrupted: boolean) => {
    const summary = summarize(done, performance.now() - started);
    await saveSummary(summary);
    if (options.json) {
      const { seeds, ...totals } = summary;
      process.stdout.write(`${JSON.stringify({ ...totals, interrupted, seeds }, null, 2)}\n`);
    }
    human.write(formatSummary(summary));
    human.write(`summary: ${path}\n`);
    return summary;
  };

  let interrupted = false;
  let finishing: Promise<unknown> = Promise.resolve();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    human.write(`\n${signal}: stopping after ${done.length} seed(s); contenders die with this process\n`);
    finishing = finish(true).finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  human.write(
    `chaos: ${options.seeds.length} seed(s) from ${options.seeds[0]}; reports of failing seeds in ${outDir}\n`,
  );
  await runChaos({
    seeds: options.seeds,
    contenders: options.tsx ? "tsx" : "bundle",
    settings: {
      outDir,
      reportAlways: options.reportAlways,
      ...(options.verbose && { log: (text: string) => human.write(`${text}\n`) }),
    },
    log: (text) => human.write(`${text}\n`),
    onSeed: (result) => {
      done.push(result);
      human.write(`${verdictLine(result)}\n`);
      // Kept up to date, so a long run that is cut short still leaves its figures.
      // Once interrupted, the final summary is being written: no partial one may land after it.
      if (!interrupted) {
        saveSummary({ ...summarize(done, performance.now() - started), partial: true }).catch(
          () => undefined,
        );
      }
    },
    stopRequested: () => interrupted,
  });
  // The summary of a run cut short is being written: exiting now would leave it empty.
  if (interrupted) {
    await finishing;
    return 130;
  }
  const summary = await finish(false);
  return summary.failingSeeds.length === 0 && summary.seedsRun === options.seeds.length ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

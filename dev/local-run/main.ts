/**
 * `npm start`: the whole billing job on this machine. See README "Running it locally (`npm start`)" and
 * `npm start -- --help`.
 *
 * Exit codes: 0 every invariant holds; 1 a check failed or the run broke; 2 bad options;
 * 130/143 interrupted (Ctrl-C / SIGTERM), after a clean shutdown.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Shutdown } from "../cluster/shutdown";
import { readOptions } from "../command-line";
import { helpText, OptionError, parseOptions } from "./options";
import type { RunResult } from "./run";
import type { View } from "./view";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

async function main(argv: readonly string[], shutdown: Shutdown): Promise<number> {
  const options = readOptions(argv, parseOptions, helpText, OptionError);
  if (typeof options === "number") return options;

  const started = performance.now();
  // Loaded only now, so that --help and a bad option answer at once.
  const [
    { localRun },
    { formatSummary, reportInput, summarize },
    { renderReport, writeReport },
    { createView },
  ] = await Promise.all([
    import("./run"),
    import("./summary"),
    import("../cluster/report-html"),
    import("./view"),
  ]);
  // With --json, stdout carries the summary only; people read stderr.
  const human = options.json ? process.stderr : process.stdout;
  const tty = Boolean(human.isTTY) && process.env.TERM !== "dumb";
  let view: View | undefined;
  const onCleanupError = (name: string, e: unknown) => human.write(`clean-up ${name}: ${String(e)}\n`);
  shutdown.exitOnSignals((signal) => {
    view?.stop();
    human.write(`\n${signal}: stopping contenders, DynamoDB Local and the Stripe emulator...\n`);
  });

  let result: RunResult;
  try {
    human.write("starting DynamoDB Local and the Stripe emulator...\n");
    result = await localRun(options, {
      shutdown,
      log: (text) => human.write(`${text}\n`),
      createView: (state) => (view = createView(state, human, { tty })),
    });
  } catch (error) {
    view?.stop();
    if (shutdown.signalExitCode !== null) {
      // Interrupted: what failed is the run being taken down under it. Finish the clean-up, then exit.
      await shutdown.run(onCleanupError);
      return shutdown.signalExitCode;
    }
    // A missing prerequisite says what to install; anything else shows where it broke.
    const { JavaMissingError } = await import("../dynamodb-local");
    const text =
      error instanceof Error
        ? error instanceof JavaMissingError
          ? error.message
          : (error.stack ?? error.message)
        : String(error);
    human.write(`\nthe run failed: ${text}\n`);
    await shutdown.run(onCleanupError);
    return 1;
  }

  try {
    const timestamp = new Date().toISOString().replace(/[:.]/g, "-");
    const reportPath = options.report
      ? resolve(options.report)
      : join(REPO_ROOT, "reports", `local-run-${timestamp}.html`);
    const summary = summarize(options, result, performance.now() - started, reportPath);
    const html = renderReport(reportInput(summary, result));
    await writeReport(reportPath, html);
    if (!options.report) await writeReport(join(REPO_ROOT, "reports", "latest.html"), html);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      process.stdout.write(formatSummary(summary, { color: tty }));
      process.stdout.write(`report: ${reportPath}\n`);
    }
    return summary.exitCode;
  } finally {
    await shutdown.run(onCleanupError);
  }
}

const shutdown = new Shutdown();
main(process.argv.slice(2), shutdown).then(
  (code) => process.exit(shutdown.signalExitCode ?? code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/** `npm run chaos` options, parsed with node:util parseArgs like the other tools' (npm start, the ops CLI). */
import { parseArgs } from "node:util";
import { readWholeNumber } from "../../functions/core/whole-number";
import { BillingJobError } from "../../functions/core/errors";

export interface ChaosOptions {
  readonly seeds: readonly number[];
  readonly json: boolean;
  readonly outDir: string;
  readonly reportAlways: boolean;
  readonly verbose: boolean;
  /** Start contenders through tsx as `npm start` does, instead of the esbuild bundle of the same entry. */
  readonly tsx: boolean;
  readonly help: boolean;
}

export class OptionError extends BillingJobError {
  override readonly name: string = "OptionError";
}

export const DEFAULT_OUT_DIR = "reports/chaos";

export function helpText(): string {
  return `npm run chaos -- [options]

Randomized fault injection against the real handler: contender processes race for the shards' leases
while they are SIGKILLed, SIGSTOPped past the lease, run with skewed clocks, and see DynamoDB throttle,
fail and drop responses and Stripe answer 429 and 500, time out, drop connections after charging, slow
down and jump its clock past the 24-hour idempotency window; reruns fire mid-run. Then faults go off,
follow-up invocations finish the work, and every invariant is checked.

Options:
  --seeds N      run N seeds (default 1): S, S+1, ..., S+N-1
  --seed S       the first seed (default 1); alone, runs exactly seed S (reproduce a failure)
  --json         print the JSON summary on stdout (per-seed lines go to stderr)
  --out DIR      where HTML reports of failing seeds and summary.json go (default ${DEFAULT_OUT_DIR})
  --report-all   write the HTML report of every seed, passing ones too
  --verbose      print each scenario before it runs
  --tsx          start contenders as npm start does (node --import tsx dev/cluster/contender-process.ts)
                 instead of that same entry bundled once with esbuild (the default: 5x less start-up CPU)
  --help         this text

Exit status: 0 every seed held every invariant; 1 a seed failed; 2 bad options.`;
}

function whole(name: string, raw: string, min: number, max: number): number {
  const read = readWholeNumber(raw, min, max);
  if (!read.ok) throw new OptionError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return read.value;
}

const OPTIONS = {
  seeds: { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  out: { type: "string" },
  "report-all": { type: "boolean" },
  verbose: { type: "boolean" },
  tsx: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** parseArgs's refusals, in this tool's words (the ones its users and tests know). */
function refusal(error: unknown): OptionError {
  const { code, message } = error as { code?: string; message: string };
  const quoted = /'([^' ]+)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/does not take an argument/.test(message)) return new OptionError(`${quoted} takes no value`);
    return new OptionError(quoted === "--out" ? "--out needs a directory" : `${quoted} needs a value`);
  }
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" || code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return new OptionError(`unknown option ${quoted}`);
  }
  return new OptionError(message);
}

export function parseOptions(argv: readonly string[]): ChaosOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw refusal(error);
  }
  if (values.out === "") throw new OptionError("--out needs a directory");
  const start = values.seed === undefined ? 1 : whole("--seed", values.seed, 0, 0xffffffff);
  const n = values.seeds === undefined ? 1 : whole("--seeds", values.seeds, 1, 1_000_000);
  if (start + n - 1 > 0xffffffff) throw new OptionError("--seed plus --seeds goes past the largest seed");
  return {
    seeds: Array.from({ length: n }, (_, i) => start + i),
    json: values.json ?? false,
    outDir: values.out ?? DEFAULT_OUT_DIR,
    reportAlways: values["report-all"] ?? false,
    verbose: values.verbose ?? false,
    tsx: values.tsx ?? false,
    help: values.help ?? false,
  };
}

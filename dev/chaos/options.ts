/** `npm run chaos` options. */

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

export class OptionError extends Error {}

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

function whole(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || raw.startsWith("--")) throw new OptionError(`${name} needs a value`);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new OptionError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function parseOptions(argv: readonly string[]): ChaosOptions {
  let count: number | null = null;
  let first: number | null = null;
  let json = false;
  let outDir = DEFAULT_OUT_DIR;
  let reportAlways = false;
  let verbose = false;
  let tsx = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--seeds":
        count = whole("--seeds", value(), 1, 1_000_000);
        break;
      case "--seed":
        first = whole("--seed", value(), 0, 0xffffffff);
        break;
      case "--json":
        json = true;
        break;
      case "--out": {
        const dir = value();
        if (dir === undefined || dir === "" || dir.startsWith("--"))
          throw new OptionError("--out needs a directory");
        outDir = dir;
        break;
      }
      case "--report-all":
        reportAlways = true;
        break;
      case "--verbose":
        verbose = true;
        break;
      case "--tsx":
        tsx = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      default:
        throw new OptionError(`unknown option ${arg}`);
    }
  }
  const start = first ?? 1;
  const n = count ?? 1;
  if (start + n - 1 > 0xffffffff) throw new OptionError("--seed plus --seeds goes past the largest seed");
  return {
    seeds: Array.from({ length: n }, (_, i) => start + i),
    json,
    outDir,
    reportAlways,
    verbose,
    tsx,
    help,
  };
}

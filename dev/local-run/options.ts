/**
 * `npm start` options: parsed with node:util parseArgs, validated, with defaults that finish in well
 * under a minute on a two-core laptop. A bad value exits 2 with a message naming the option.
 */
import { readWholeNumber } from "../../functions/core/whole-number";
import { parseStrictArgs } from "../../cli/args";
import { BillingJobError } from "../../functions/core/errors";

export interface RunOptions {
  readonly subscriptions: number;
  readonly contenders: number;
  readonly shards: number;
  readonly stripeLatencyMs: number;
  /** Requests per second the emulator allows (429 beyond); null: no limit. */
  readonly stripeRateLimit: number | null;
  readonly seed: number;
  readonly killLeaderAfter: number | null;
  readonly pauseLeaderMs: number | null;
  readonly pauseLeaderAfter: number;
  readonly leaseMs: number;
  readonly budgetMs: number;
  readonly maxRounds: number;
  /** Continuation links per run (MAX_CONTINUATION_LINKS); 0: every run waits for the next tick. */
  readonly maxLinks: number;
  readonly json: boolean;
  readonly report: string | null;
  readonly help: boolean;
}

export class OptionError extends BillingJobError {
  override readonly name: string = "OptionError";
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`--${option}: ${message}`);
  }
}

interface OptionDoc {
  readonly name: string;
  readonly value?: string;
  readonly default: string;
  readonly text: string;
}

export const OPTION_DOCS: readonly OptionDoc[] = [
  {
    name: "subscriptions",
    value: "N",
    default: "300",
    text: "subscriptions to seed (due, not due, failing cards, a few invalid)",
  },
  {
    name: "contenders",
    value: "N",
    default: "3",
    text: "concurrent invocations per schedule tick, each its own process",
  },
  {
    name: "shards",
    value: "N",
    default: "1",
    text: "lease shards (one lease each); with more, several contenders lead at once",
  },
  {
    name: "stripe-latency-ms",
    value: "N",
    default: "25",
    text: "latency the Stripe emulator adds to every request",
  },
  {
    name: "stripe-rate-limit",
    value: "RPS",
    default: "none",
    text: "emulator rate limit (429 beyond); the function's own limiter is set to it",
  },
  { name: "seed", value: "S", default: "1", text: "seed of the data set and of the emulator's randomness" },
  {
    name: "kill-leader-after",
    value: "N",
    default: "off",
    text: "SIGKILL the leader after it settled N charges; a standby takes over",
  },
  {
    name: "pause-leader",
    value: "DURATION",
    default: "off",
    text: "SIGSTOP the leader for DURATION (e.g. 20s, longer than the lease), then SIGCONT",
  },
  {
    name: "pause-leader-after",
    value: "N",
    default: "20",
    text: "with --pause-leader: pause once the leader settled N charges",
  },
  {
    name: "lease-ms",
    value: "N",
    default: "5000",
    text: "lease duration; renewal every 30% of it, safety margin 30%",
  },
  {
    name: "budget-ms",
    value: "N",
    default: "60000",
    text: "each invocation's time budget (its Lambda timeout)",
  },
  {
    name: "max-rounds",
    value: "N",
    default: "4",
    text: "schedule ticks at most: follow-ups fire while work is left",
  },
  {
    name: "max-links",
    value: "N",
    default: "30",
    text: "continuation links per run: an invocation out of time invokes the next (0: none)",
  },
  {
    name: "json",
    default: "off",
    text: "print only a machine-readable summary on stdout (progress goes to stderr)",
  },
  {
    name: "report",
    value: "PATH",
    default: "reports/local-run-<time>.html",
    text: "where to write the HTML report (reports/latest.html is written too)",
  },
  { name: "help", default: "", text: "show this help" },
];

export function helpText(): string {
  const rows = OPTION_DOCS.map((o) => {
    const flag = `--${o.name}${o.value ? ` ${o.value}` : ""}`;
    const def = o.default ? ` (default: ${o.default})` : "";
    return `  ${flag.padEnd(30)}${o.text}${def}`;
  });
  return [
    "npm start -- [options]",
    "",
    "The whole billing job on this machine: DynamoDB Local, the Stripe emulator, a seeded data set, and",
    "several concurrent invocations of the real Lambda handler racing for the lease, as separate processes.",
    "Ends with a summary, the invariant checks (exit 1 if any fails) and an HTML timeline report.",
    "",
    "Options:",
    ...rows,
    "",
    "Examples:",
    "  npm start",
    "  npm start -- --kill-leader-after 50",
    "  npm start -- --pause-leader 20s",
    "  npm start -- --subscriptions 1000 --shards 4 --contenders 4 --stripe-rate-limit 25",
    "  npm start -- --subscriptions 5000 --budget-ms 15000 --stripe-rate-limit 100",
  ].join("\n");
}

function wholeNumber(
  option: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const read = readWholeNumber(raw, min, max);
  if (read.ok) return read.value;
  if (read.problem === "not-whole") throw new OptionError(option, `must be a whole number, got "${raw}"`);
  throw new OptionError(option, `must be from ${min} to ${max}, got ${read.value}`);
}

/** "20s", "1500ms", "2m", "1.5s" → milliseconds. A bare number is refused: say which unit. */
export function parseDuration(option: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(raw.trim());
  if (!match) throw new OptionError(option, `must be a duration like 20s, 1500ms or 1m, got "${raw}"`);
  const value = Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as "ms" | "s" | "m"];
  if (value < 100 || value > 10 * 60_000)
    throw new OptionError(option, `must be from 100ms to 10m, got "${raw}"`);
  return Math.round(value);
}

export function parseOptions(argv: readonly string[]): RunOptions {
  const parsed = parseStrictArgs(
    argv,
    {
      subscriptions: { type: "string" },
      contenders: { type: "string" },
      shards: { type: "string" },
      "stripe-latency-ms": { type: "string" },
      "stripe-rate-limit": { type: "string" },
      seed: { type: "string" },
      "kill-leader-after": { type: "string" },
      "pause-leader": { type: "string" },
      "pause-leader-after": { type: "string" },
      "lease-ms": { type: "string" },
      "budget-ms": { type: "string" },
      "max-rounds": { type: "string" },
      "max-links": { type: "string" },
      json: { type: "boolean" },
      report: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    false,
  );
  if (typeof parsed === "string") {
    const option = /'(?:--)?([a-z-]+)/.exec(parsed)?.[1] ?? "options";
    throw new OptionError(option, parsed);
  }
  const v = parsed.values;
  const leaseMs = wholeNumber("lease-ms", v["lease-ms"], 5000, 1000, 600_000);
  const budgetMs = wholeNumber("budget-ms", v["budget-ms"], 60_000, 5_000, 900_000);
  const pauseLeaderMs =
    v["pause-leader"] === undefined ? null : parseDuration("pause-leader", v["pause-leader"]);
  if (pauseLeaderMs !== null && pauseLeaderMs >= budgetMs - 5_000) {
    throw new OptionError(
      "pause-leader",
      `must be shorter than the budget (--budget-ms ${budgetMs}) minus 5s`,
    );
  }
  if (leaseMs >= budgetMs)
    throw new OptionError("lease-ms", `must be shorter than --budget-ms (${budgetMs})`);
  const rate = v["stripe-rate-limit"];
  if (v.report !== undefined && v.report.trim() === "")
    throw new OptionError("report", "must be a file path");
  return {
    subscriptions: wholeNumber("subscriptions", v.subscriptions, 300, 1, 100_000),
    contenders: wholeNumber("contenders", v.contenders, 3, 1, 32),
    shards: wholeNumber("shards", v.shards, 1, 1, 64),
    stripeLatencyMs: wholeNumber("stripe-latency-ms", v["stripe-latency-ms"], 25, 0, 30_000),
    stripeRateLimit: rate === undefined ? null : wholeNumber("stripe-rate-limit", rate, 0, 1, 100_000),
    seed: wholeNumber("seed", v.seed, 1, 0, 2 ** 31 - 1),
    killLeaderAfter:
      v["kill-leader-after"] === undefined
        ? null
        : wholeNumber("kill-leader-after", v["kill-leader-after"], 0, 1, 1_000_000),
    pauseLeaderMs,
    pauseLeaderAfter: wholeNumber("pause-leader-after", v["pause-leader-after"], 20, 1, 1_000_000),
    leaseMs,
    budgetMs,
    maxRounds: wholeNumber("max-rounds", v["max-rounds"], 4, 1, 50),
    maxLinks: wholeNumber("max-links", v["max-links"], 30, 0, 1000),
    json: v.json ?? false,
    report: v.report ?? null,
    help: v.help ?? false,
  };
}

/**
 * The command line: which command, which flags, and the checks that turn a typo into a usage error (exit
 * code 2) naming the flag, before anything is read or written.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { readWholeNumber } from "../functions/core/whole-number";
import { BillingJobError } from "../functions/core/errors";

/** A mistake in how the tool was called, or a setting it needs and cannot find. Nothing was done. */
export class UsageError extends BillingJobError {
  override readonly name: string = "UsageError";
}

export const COMMANDS = [
  "status",
  "release",
  "reconcile",
  "resolve-in-doubt",
  "rerun",
  "subscriptions",
  "help",
] as const;
export type Command = (typeof COMMANDS)[number];

type OptionSpec = { type: "string" | "boolean"; multiple?: boolean; short?: string };

/** Flags every command accepts: where the tables, the function and Stripe are, and the output format. */
const GLOBAL: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  endpoint: { type: "string" },
  region: { type: "string" },
  function: { type: "string" },
  stack: { type: "string" },
  "leases-table": { type: "string" },
  "subscriptions-table": { type: "string" },
  "charges-table": { type: "string" },
  "shard-count": { type: "string" },
  "stripe-host": { type: "string" },
  "stripe-port": { type: "string" },
  "stripe-protocol": { type: "string" },
  "stripe-secret-arn": { type: "string" },
};

const BY_COMMAND: Record<Command, Record<string, OptionSpec>> = {
  status: { list: { type: "string" }, limit: { type: "string" } },
  release: { force: { type: "boolean" }, by: { type: "string" } },
  reconcile: { from: { type: "string" }, to: { type: "string" } },
  "resolve-in-doubt": {
    subscription: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
    wait: { type: "string" },
  },
  rerun: {
    local: { type: "boolean" },
    "dry-run": { type: "boolean" },
    "no-dry-run": { type: "boolean" },
    execute: { type: "boolean" },
    "as-of": { type: "string" },
    subscription: { type: "string", multiple: true },
    "max-charges": { type: "string" },
    shard: { type: "string", multiple: true },
    reason: { type: "string" },
    wait: { type: "string" },
  },
  subscriptions: {
    execute: { type: "boolean" },
    format: { type: "string" },
    concurrency: { type: "string" },
  },
  help: {},
};

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  /** null when no command was given. */
  readonly command: Command | null;
  readonly positionals: readonly string[];
  readonly flags: Flags;
}

export function isCommand(value: string): value is Command {
  return (COMMANDS as readonly string[]).includes(value);
}

/** Parses argv (without node and the script). Unknown commands and flags are usage errors. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const all: Record<string, OptionSpec> = { ...GLOBAL };
  for (const options of Object.values(BY_COMMAND)) Object.assign(all, options);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: all, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error));
  }
  const [first, ...rest] = parsed.positionals;
  if (first === undefined) return { command: null, positionals: [], flags: parsed.values as Flags };
  if (!isCommand(first)) {
    throw new UsageError(`unknown command "${first}" (commands: ${COMMANDS.join(", ")}; see --help)`);
  }
  // A flag of another command is a mistake here, not something to ignore silently.
  const allowed = { ...GLOBAL, ...BY_COMMAND[first] };
  for (const token of parsed.tokens ?? []) {
    if (token.kind === "option" && !(token.name in allowed)) {
      throw new UsageError(`--${token.name} is not an option of "${first}" (see ops ${first} --help)`);
    }
  }
  return { command: first, positionals: rest, flags: parsed.values as Flags };
}

/** parseArgs's refusal as a message for a command line: Node's words, without its advice about "--". */
export function parseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ To specify a positional argument starting with a '-'.*$/s, "").trim();
}

/**
 * parseArgs in strict mode over argv, or its refusal as a message (parseArgsMessage) for the caller to
 * answer as its own usage error. npm start and localstack/fire.sh read their command lines so.
 */
export function parseStrictArgs<O extends NonNullable<ParseArgsConfig["options"]>, P extends boolean>(
  argv: readonly string[],
  options: O,
  allowPositionals: P,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: P }>> | string {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    return parseArgsMessage(error);
  }
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new UsageError(`--${name} needs a value`);
  if (value.trim() === "") throw new UsageError(`--${name} must not be empty`);
  return value;
}

export function listFlag(flags: Flags, name: string): string[] | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [String(value)])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim());
  if (items.some((v) => v === "")) throw new UsageError(`--${name} must not be empty`);
  return items;
}

export function booleanFlag(flags: Flags, name: string): boolean {
  return flags[name] === true;
}

/** A whole number from a flag (or an environment variable), at least `min`. */
export function wholeNumber(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const read = readWholeNumber(raw, min);
  if (!read.ok) throw new UsageError(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return read.value;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An instant from a flag: an ISO-8601 date (midnight UTC) or a date-time with a time zone. Local times
 * without a zone are refused: an operator's laptop and the ledger would disagree about them.
 */
export function instantFlag(name: string, raw: string): number {
  const ms = DATE_ONLY.test(raw)
    ? Date.parse(`${raw}T00:00:00Z`)
    : DATE_TIME.test(raw)
      ? Date.parse(raw)
      : Number.NaN;
  if (Number.isNaN(ms) || (DATE_ONLY.test(raw) && new Date(ms).toISOString().slice(0, 10) !== raw)) {
    throw new UsageError(
      `--${name}: "${raw}" is not a date; use ISO-8601 in UTC or with an offset, e.g. 2026-11-01 or 2026-11-01T00:00:00Z`,
    );
  }
  return ms;
}

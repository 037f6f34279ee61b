/**
 * localstack/fire.sh's command line, parsed with node:util parseArgs into a typed result: the options, a
 * request for help, or a usage error naming the option (exit code 2), before anything is touched.
 */
import { parseStrictArgs } from "../cli/args";
import { readWholeNumber } from "../functions/core/whole-number";
import { MAX_CONTENDERS } from "../lib/config";

export interface FireOptions {
  /** Concurrent invocations of the one scheduled event, as the schedule's targets would start them. */
  readonly contenders: number;
  /** Due subscriptions seeded for the run. */
  readonly subscriptions: number;
}

export const FIRE_USAGE = `Usage: localstack/fire.sh [contenders] [--contenders N] [--subscriptions N]

Runs the whole billing path against the stack localstack/deploy.sh deployed to LocalStack: seeds due
subscriptions where the function bills (the Stripe emulator, or Stripe's test mode if it was deployed so),
invokes the function N times at once with one scheduled event, then checks every invariant from
LocalStack's tables and the provider's record. Exit 0 when all hold, 1 when not, 2 for a bad option.

  --contenders N     concurrent invocations, 1 to ${MAX_CONTENDERS} (default 3; also the first argument)
  --subscriptions N  due subscriptions to seed, 1 to 5000 (default 40)

Environment: LOCALSTACK_ENDPOINT (http://localhost:4566), STRIPE_EMULATOR_URL (http://127.0.0.1:12111),
AWS_REGION (us-east-1), STRIPE_SECRET_KEY (only for a deployment that bills Stripe's test mode).`;

export type FireArgs =
  | { readonly kind: "run"; readonly options: FireOptions }
  | { readonly kind: "help" }
  | { readonly kind: "usage-error"; readonly message: string };

export function parseFireArgs(argv: readonly string[]): FireArgs {
  const parsed = parseStrictArgs(
    argv,
    {
      contenders: { type: "string" },
      subscriptions: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    true,
  );
  if (typeof parsed === "string") return { kind: "usage-error", message: parsed };
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (positionals.length > 1)
    return { kind: "usage-error", message: `unexpected ${positionals.slice(1).join(" ")}` };
  if (positionals.length === 1 && values.contenders !== undefined) {
    return {
      kind: "usage-error",
      message: "give the contenders once: as the first argument or as --contenders",
    };
  }
  const contenders = wholeNumber("contenders", values.contenders ?? positionals[0], 3, 1, MAX_CONTENDERS);
  const subscriptions = wholeNumber("subscriptions", values.subscriptions, 40, 1, 5000);
  if (typeof contenders === "string") return { kind: "usage-error", message: contenders };
  if (typeof subscriptions === "string") return { kind: "usage-error", message: subscriptions };
  return { kind: "run", options: { contenders, subscriptions } };
}

/** The value, or the problem with it as a message naming the option. */
function wholeNumber(
  option: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number | string {
  if (raw === undefined) return fallback;
  const read = readWholeNumber(raw, min, max);
  return read.ok ? read.value : `--${option} must be a whole number from ${min} to ${max}, got "${raw}"`;
}

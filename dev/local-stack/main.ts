/**
 * `npm run local-stack [-- --dynamo-port N --stripe-port N --customers-from FILE]`: the local stack, kept
 * up until Ctrl-C (up.ts). `npm run local-stack -- bill [--contenders N --shards N --max-rounds N]`: fires
 * the contenders at a running stack and checks the invariants (bill.ts). See README "From a CSV to a
 * billed run". Exit codes: 0 all well; 1 an invariant failed or a contender broke; 2 a bad option.
 */
import { parseArgs } from "node:util";
import { Shutdown } from "../cluster/shutdown";
import { BillingJobError } from "../../functions/core/errors";
import { readWholeNumber } from "../../functions/core/whole-number";

const HELP = `npm run local-stack [-- OPTIONS]          start DynamoDB Local and the Stripe emulator, keep them up
  --dynamo-port N        DynamoDB Local's port (default 8000)
  --stripe-port N        the Stripe emulator's port (default 12111)
  --customers-from FILE  create the customers this subscriptions file names (default
                         examples/subscriptions.csv; "none" for none)

npm run local-stack -- bill [OPTIONS]      bill what is due on a running local stack, check the invariants
  --endpoint URL         DynamoDB Local (default http://127.0.0.1:8000)
  --stripe-url URL       the Stripe emulator (default http://127.0.0.1:12111)
  --contenders N         invocations per schedule tick (default 3)
  --shards N             SHARD_COUNT (default 1; import with the same --shard-count N)
  --max-rounds N         schedule ticks at most, while something is due (default 10)`;

function whole(name: string, raw: string, min: number): number {
  const read = readWholeNumber(raw, min);
  if (!read.ok) throw new OptionError(`--${name} must be a whole number of at least ${min}, got "${raw}"`);
  return read.value;
}

class OptionError extends BillingJobError {
  override readonly name: string = "OptionError";
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      "dynamo-port": { type: "string", default: "8000" },
      "stripe-port": { type: "string", default: "12111" },
      "customers-from": { type: "string", default: "examples/subscriptions.csv" },
      endpoint: { type: "string", default: "http://127.0.0.1:8000" },
      "stripe-url": { type: "string", default: "http://127.0.0.1:12111" },
      contenders: { type: "string", default: "3" },
      shards: { type: "string", default: "1" },
      "max-rounds": { type: "string", default: "10" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [action = "up", ...rest] = positionals;
  if (rest.length > 0 || (action !== "up" && action !== "bill")) {
    throw new OptionError(
      `unknown arguments "${positionals.join(" ")}": the actions are up (the default) and bill`,
    );
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  if (action === "bill") {
    const { bill } = await import("./bill");
    const result = await bill(
      {
        dynamoEndpoint: values.endpoint,
        stripeUrl: values["stripe-url"],
        contenders: whole("contenders", values.contenders, 1),
        shards: whole("shards", values.shards, 1),
        maxRounds: whole("max-rounds", values["max-rounds"], 1),
      },
      (line) => process.stdout.write(`${line}\n`),
    );
    const { invariants } = result;
    process.stdout.write(
      [
        `ledger: ${
          Object.entries(invariants.counts.byState)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ") || "empty"
        }; ` + `${invariants.counts.providerSucceeded} PaymentIntents succeeded at the emulator`,
        ...result.failedContenders.map((c) => `contender ${c} failed`),
        ...(result.dueLeft > 0 ? [`still due after ${result.rounds} rounds: ${result.dueLeft}`] : []),
        ...invariants.violations,
        invariants.ok && result.failedContenders.length === 0 ? "invariants: PASS" : "invariants: FAIL",
      ].join("\n") + "\n",
    );
    return invariants.ok && result.failedContenders.length === 0 ? 0 : 1;
  }

  const shutdown = new Shutdown();
  shutdown.exitOnSignals(() =>
    process.stdout.write("\nstopping DynamoDB Local and the Stripe emulator...\n"),
  );
  const { upStack, LOCAL_STRIPE_KEY } = await import("./up");
  const customersFrom = values["customers-from"] === "none" ? null : values["customers-from"];
  try {
    const stack = await upStack(
      {
        dynamoPort: whole("dynamo-port", values["dynamo-port"], 1),
        stripePort: whole("stripe-port", values["stripe-port"], 1),
        customersFrom,
      },
      shutdown,
      (line) => process.stdout.write(`${line}\n`),
    );
    const endpoint = stack.dynamoEndpoint;
    process.stdout.write(
      [
        "local stack up (Ctrl-C stops it):",
        `  DynamoDB Local   ${endpoint}   tables Leases, Subscriptions, Charges`,
        `  Stripe emulator  ${stack.stripeUrl}   key ${LOCAL_STRIPE_KEY}; ${stack.customers.length} customers${customersFrom ? ` from ${customersFrom}` : ""}`,
        "In another terminal:",
        `  npm run ops -- subscriptions import ${customersFrom ?? "FILE"} --execute --endpoint ${endpoint}`,
        `  npm run local-stack -- bill${endpoint === "http://127.0.0.1:8000" ? "" : ` --endpoint ${endpoint} --stripe-url ${stack.stripeUrl}`}`,
        `  npm run ops -- status --endpoint ${endpoint}`,
      ].join("\n") + "\n",
    );
    await new Promise<never>(() => undefined); // until a signal; Shutdown exits the process
  } catch (error) {
    await shutdown.run();
    throw error;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage =
      error instanceof OptionError ||
      (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"));
    process.stderr.write(`local-stack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(usage ? 2 : 1);
  },
);

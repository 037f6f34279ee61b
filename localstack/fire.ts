/**
 * localstack/fire.sh: the whole billing path against the stack deployed to LocalStack (deployment.ts,
 * billing-path.ts), with a summary and an exit code a CI job can use. See FIRE_USAGE.
 */
import { runBillingPath, firingNow } from "./billing-path";
import { connectLocalStack, localStackSettings } from "./deployment";
import { FIRE_USAGE, parseFireArgs } from "./fire-options";
import { problems, summaryLines } from "./path-verdict";

async function main(): Promise<number> {
  const args = parseFireArgs(process.argv.slice(2));
  if (args.kind === "help") {
    console.log(FIRE_USAGE);
    return 0;
  }
  if (args.kind === "usage-error") {
    console.error(`fire.sh: ${args.message}\n\n${FIRE_USAGE}`);
    return 2;
  }
  const connection = await connectLocalStack(localStackSettings(process.env));
  if ("unavailable" in connection) {
    console.error(`fire.sh: ${connection.unavailable}`);
    return 1;
  }
  const { target } = connection;
  const { contenders, subscriptions } = args.options;
  const prefix = `ls${Date.now().toString(36)}`;
  console.log(`target: ${target.name}; ${target.shards} shard(s)`);
  console.log(
    `seeding ${subscriptions} due subscriptions (${prefix}_*), then firing ${contenders} contenders ...`,
  );
  try {
    const report = await runBillingPath(target, { subscriptions, contenders, prefix, asOf: firingNow() });
    for (const line of summaryLines(report)) console.log(line);
    return problems(report).length === 0 ? 0 : 1;
  } finally {
    await target.close();
  }
}

// Exit once stdout is written out (a pipe is asynchronous on macOS): the SDK's sockets would keep the
// process alive otherwise.
main().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    console.error("fire.sh:", error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

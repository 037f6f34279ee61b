/**
 * Where the end-to-end suite runs the deployed function:
 *
 * - `local`, always: the bundle `cdk synth` produced, loaded by plain `node` in its own process per
 *   invocation (as Lambda loads it), against DynamoDB Local and the Stripe emulator.
 * - `localstack`, when LocalStack answers at $LOCALSTACK_ENDPOINT (default http://localhost:4566) and the
 *   stack was deployed there with localstack/deploy.sh: the real Lambda, invoked through the Lambda API,
 *   against LocalStack's DynamoDB and whichever Stripe the deployed function calls (localstack/deployment.ts):
 *   the compose file's emulator (the default), or Stripe's test mode with STRIPE_SECRET_KEY.
 */
import { execFile } from "node:child_process";
import { startStripeEmulator } from "../../dev/stripe-emulator";
import { stripeClient } from "../../dev/seed";
import type { BillingTarget } from "../../localstack/billing-path";
import { connectLocalStack, localStackSettings, type Connection } from "../../localstack/deployment";
import { createTestTables } from "../support/dynamo";
import { synthesizeBundle } from "../infra/synth";

const LOCAL_KEY = "sk_test_e2eLocalTarget";

export async function localTarget(): Promise<BillingTarget> {
  const { handlerFile } = await synthesizeBundle();
  const [tables, emulator] = await Promise.all([createTestTables("e2e"), startStripeEmulator()]);
  const url = new URL(emulator.url);
  const env = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "us-east-1",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    LEASE_TABLE_NAME: tables.names.leases,
    SUBSCRIPTIONS_TABLE_NAME: tables.names.subscriptions,
    CHARGES_TABLE_NAME: tables.names.charges,
    DYNAMODB_ENDPOINT: tables.endpoint,
    STRIPE_SECRET_KEY: LOCAL_KEY,
    STRIPE_API_HOST: url.hostname,
    STRIPE_API_PORT: url.port,
    STRIPE_API_PROTOCOL: "http",
    STOP_CLAIMING_MARGIN_MS: "5000",
    STANDBY_POLL_MS: "200",
    // No Lambda API here to continue a run in: a run handed back waits for the next invocation.
    MAX_CONTINUATION_LINKS: "0",
  };
  return {
    name: "local (synthesized bundle in child processes, DynamoDB Local, Stripe emulator)",
    doc: tables.doc,
    tables: tables.names,
    // The function is given no SHARD_COUNT: one shard.
    shards: 1,
    stripe: stripeClient(LOCAL_KEY, emulator.url),
    invoke: (event, id) => invokeBundle(handlerFile, env, event, id),
    providerRecord: async () => emulator.snapshot(),
    close: () => emulator.stop(),
  };
}

/** Loads the bundle with plain node from `/` (no node_modules anywhere up the tree) and invokes it once. */
function invokeBundle(
  handlerFile: string,
  env: Record<string, string>,
  event: unknown,
  id: string,
): Promise<Record<string, unknown>> {
  const script = `
    const { handler } = require(${JSON.stringify(handlerFile)});
    const deadline = Date.now() + 120000;
    const context = {
      awsRequestId: ${JSON.stringify(id)},
      functionName: "e2e-local",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:e2e-local",
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    handler(${JSON.stringify(event)}, context).then(
      (result) => { process.stdout.write("RESULT " + JSON.stringify(result) + "\\n"); },
      (error) => { process.stdout.write("ERROR " + error.message + "\\n"); process.exitCode = 1; });`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["-e", script],
      { cwd: "/", env, timeout: 150_000 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        if (error || !line)
          return reject(new Error(`invocation ${id} failed: ${error?.message}\n${stdout}\n${stderr}`));
        resolve(JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>);
      },
    );
  });
}

/** The stack deployed to LocalStack, or why it is not available here. */
export function localStackTarget(): Promise<Connection> {
  return connectLocalStack(localStackSettings(process.env));
}

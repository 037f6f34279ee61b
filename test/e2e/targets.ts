/**
 * Where the end-to-end suite runs the deployed function:
 *
 * - `local`, always: the bundle `cdk synth` produced, loaded by plain `node` in its own process per
 *   invocation (as Lambda loads it), against DynamoDB Local and the Stripe emulator.
 * - `localstack`, when LocalStack answers at $LOCALSTACK_ENDPOINT (default http://localhost:4566) and the
 *   stack was deployed there with localstack/deploy.sh (cdk.out/localstack-outputs.json) with a Stripe
 *   test key in STRIPE_SECRET_KEY: the real Lambda, invoked through the Lambda API, against LocalStack's
 *   DynamoDB and Stripe's test mode.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator } from "../../dev/stripe-emulator";
import { stripeClient } from "../../dev/seed";
import type { ProviderRecord } from "../../dev/invariants";
import { createDocumentClient } from "../../functions/aws/dynamo";
import {
  CHARGE_TABLE,
  LEASE_TABLE,
  SUBSCRIPTION_TABLE,
  type TableNames,
} from "../../functions/schema/tables";
import { createTestTables } from "../support/dynamo";
import { synthesizeBundle } from "../infra/synth";
import type Stripe from "stripe";

export interface E2eTarget {
  readonly name: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: TableNames;
  readonly stripe: Stripe;
  /** One invocation of the function with `event`; resolves with its result. */
  invoke(event: unknown, id: string): Promise<Record<string, unknown>>;
  /** The provider's record of PaymentIntents made since the target was set up. */
  providerRecord(): Promise<ProviderRecord>;
  close(): Promise<void>;
}

const LOCAL_KEY = "sk_test_e2eLocalTarget";

export async function localTarget(): Promise<E2eTarget> {
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
  };
  return {
    name: "local (synthesized bundle in child processes, DynamoDB Local, Stripe emulator)",
    doc: tables.doc,
    tables: tables.names,
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
    const context = { awsRequestId: ${JSON.stringify(id)}, getRemainingTimeInMillis: () => deadline - Date.now() };
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

const LOCALSTACK = process.env.LOCALSTACK_ENDPOINT ?? "http://localhost:4566";
const OUTPUTS = "cdk.out/localstack-outputs.json";

/** The LocalStack target, or null (with the reason) when it is not available here. */
export async function localStackTarget(): Promise<{ target: E2eTarget } | { unavailable: string }> {
  const answering = await fetch(`${LOCALSTACK}/_localstack/health`, {
    signal: AbortSignal.timeout(1_000),
  }).then(
    (r) => r.ok,
    () => false,
  );
  if (!answering) return { unavailable: `LocalStack is not answering at ${LOCALSTACK}` };
  if (!existsSync(OUTPUTS)) return { unavailable: `${OUTPUTS} is missing: run localstack/deploy.sh first` };
  const key = process.env.STRIPE_SECRET_KEY ?? "";
  if (!key.startsWith("sk_test_")) return { unavailable: "STRIPE_SECRET_KEY must hold a Stripe test key" };
  const outputs = Object.values(
    JSON.parse(readFileSync(OUTPUTS, "utf8")) as Record<string, Record<string, string>>,
  )[0]!;
  const aws = {
    endpoint: LOCALSTACK,
    region: process.env.AWS_REGION ?? "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
  const lambda = new LambdaClient(aws);
  const since = Math.floor(Date.now() / 1000) - 60;
  const stripe = stripeClient(key);
  return {
    target: {
      name: "localstack (deployed Lambda, LocalStack DynamoDB, Stripe test mode)",
      doc: createDocumentClient({ endpoint: LOCALSTACK }),
      tables: {
        leases: outputs[`${LEASE_TABLE.id}TableName`] ?? "",
        subscriptions: outputs[`${SUBSCRIPTION_TABLE.id}TableName`] ?? "",
        charges: outputs[`${CHARGE_TABLE.id}TableName`] ?? "",
      },
      stripe,
      invoke: async (event) => {
        const out = await lambda.send(
          new InvokeCommand({ FunctionName: outputs.FunctionName, Payload: JSON.stringify(event) }),
        );
        const body = JSON.parse(new TextDecoder().decode(out.Payload)) as Record<string, unknown>;
        if (out.FunctionError) throw new Error(`function error: ${JSON.stringify(body)}`);
        return body;
      },
      providerRecord: async () => {
        const paymentIntents: ProviderRecord["paymentIntents"][number][] = [];
        for await (const pi of stripe.paymentIntents.list({ created: { gte: since }, limit: 100 })) {
          if (pi.metadata?.source === "lease-billing") {
            paymentIntents.push({
              id: pi.id,
              status: pi.status,
              amount: pi.amount,
              currency: pi.currency,
              metadata: pi.metadata,
            });
          }
        }
        return { paymentIntents };
      },
      close: async () => undefined,
    },
  };
}

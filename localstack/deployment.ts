/**
 * The stack localstack/deploy.sh deployed to LocalStack, as a billing target (billing-path.ts): the real
 * function invoked through LocalStack's Lambda API, its tables read from LocalStack's DynamoDB, and Stripe
 * where the function bills. Which Stripe that is comes from the function's own configuration
 * (STRIPE_API_HOST, read with GetFunctionConfiguration), so the checks always read the provider the function
 * really called: the compose file's emulator, or Stripe's test mode.
 */
import { existsSync, readFileSync } from "node:fs";
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { z } from "zod";
import { fetchProviderRecord, type ProviderRecord } from "../dev/invariants";
import { stripeClient } from "../dev/seed";
import { createDocumentClient } from "../functions/aws/dynamo";
import { BillingJobError } from "../functions/core/errors";
import { JOB_METADATA_SOURCE } from "../functions/core/payments/payment-gateway";
import { CHARGE_TABLE, LEASE_TABLE, SUBSCRIPTION_TABLE, type TableNames } from "../functions/schema/tables";
import { STRIPE_API } from "../lib/config";
import type { BillingTarget } from "./billing-path";

/** Where deploy.sh writes the stack's outputs (`cdk deploy --outputs-file`). */
export const OUTPUTS_FILE = "cdk.out/localstack-outputs.json";

/** The emulator accepts any test key; seeding only needs one that looks like it. */
const EMULATOR_SEED_KEY = "sk_test_localstack_seed";

export interface LocalStackSettings {
  /** LocalStack's gateway. */
  readonly endpoint: string;
  readonly region: string;
  /** The Stripe emulator as this machine reaches it (the compose file publishes its port). */
  readonly emulatorUrl: string;
  /** For a deployment that bills Stripe's test mode: the same test key. */
  readonly stripeKey: string | undefined;
  readonly outputsFile: string;
}

export function localStackSettings(env: Readonly<Record<string, string | undefined>>): LocalStackSettings {
  return {
    endpoint: env.LOCALSTACK_ENDPOINT || "http://localhost:4566",
    region: env.AWS_REGION || "us-east-1",
    emulatorUrl: env.STRIPE_EMULATOR_URL || "http://127.0.0.1:12111",
    stripeKey: env.STRIPE_SECRET_KEY || undefined,
    outputsFile: OUTPUTS_FILE,
  };
}

export interface StackOutputs {
  readonly functionName: string;
  readonly tables: TableNames;
}

const OutputsFile = z.record(z.string(), z.record(z.string(), z.string()));

/** The billing stack's outputs from the file `cdk deploy --outputs-file` wrote, or what is wrong with it. */
export function stackOutputs(json: unknown): { outputs: StackOutputs } | { problem: string } {
  const parsed = OutputsFile.safeParse(json);
  if (!parsed.success) return { problem: "it is not a map of stacks to their outputs" };
  const stacks = Object.entries(parsed.data).filter(([, outputs]) => outputs.FunctionName !== undefined);
  if (stacks.length !== 1) {
    return { problem: `expected one stack with a FunctionName output, found ${stacks.length}` };
  }
  const [stack, outputs] = stacks[0]!;
  const table = (id: string) => outputs[`${id}TableName`];
  const [leases, subscriptions, charges] = [LEASE_TABLE, SUBSCRIPTION_TABLE, CHARGE_TABLE].map((t) =>
    table(t.id),
  );
  if (leases === undefined || subscriptions === undefined || charges === undefined) {
    return { problem: `stack ${stack} does not name all three tables in its outputs` };
  }
  return { outputs: { functionName: outputs.FunctionName!, tables: { leases, subscriptions, charges } } };
}

/** Which Stripe the deployed function calls, from its environment. */
export type StripeSide =
  | { readonly kind: "test-mode" }
  /** `functionCalls`: the emulator as the function reaches it, on the compose network. */
  | { readonly kind: "emulator"; readonly functionCalls: string };

export function stripeSideOf(env: Readonly<Record<string, string | undefined>>): StripeSide {
  const host = env.STRIPE_API_HOST;
  if (!host || host === STRIPE_API.host) return { kind: "test-mode" };
  const protocol = env.STRIPE_API_PROTOCOL || STRIPE_API.protocol;
  const port = env.STRIPE_API_PORT || (protocol === "https" ? "443" : "80");
  return { kind: "emulator", functionCalls: `${protocol}://${host}:${port}` };
}

/** The function's SHARD_COUNT (1 when unset, as the function itself reads it). */
export function shardCountOf(env: Readonly<Record<string, string | undefined>>): number {
  const shards = Number(env.SHARD_COUNT ?? "1");
  if (!Number.isInteger(shards) || shards < 1) {
    throw new LocalStackTargetError(`the function's SHARD_COUNT is not a whole number: ${env.SHARD_COUNT}`);
  }
  return shards;
}

export class LocalStackTargetError extends BillingJobError {
  override readonly name = "LocalStackTargetError";
}

export type Connection =
  { readonly target: BillingTarget; readonly stripe: StripeSide } | { readonly unavailable: string };

/** The deployed stack as a target, or why it cannot be one here (nothing is deployed, nothing answers). */
export async function connectLocalStack(settings: LocalStackSettings): Promise<Connection> {
  const { endpoint, region, outputsFile } = settings;
  if (!(await answers(`${endpoint}/_localstack/health`))) {
    return { unavailable: `LocalStack is not answering at ${endpoint}` };
  }
  if (!existsSync(outputsFile)) return { unavailable: `${outputsFile} is missing: run localstack/deploy.sh` };
  const read = stackOutputs(JSON.parse(readFileSync(outputsFile, "utf8")) as unknown);
  if ("problem" in read) return { unavailable: `${outputsFile}: ${read.problem}` };
  const { functionName, tables } = read.outputs;

  const lambda = new LambdaClient({
    endpoint,
    region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    // One invocation is one contender: the SDK must not add another by retrying.
    maxAttempts: 1,
  });
  const env = await functionEnvironment(lambda, functionName);
  if ("unavailable" in env) return env;
  const stripe = stripeSideOf(env.variables);
  const billing = await stripeFor(stripe, settings);
  if ("unavailable" in billing) return billing;
  const provider =
    stripe.kind === "emulator" ? `the Stripe emulator at ${settings.emulatorUrl}` : "Stripe's test mode";
  return {
    stripe,
    target: {
      name: `localstack (the deployed Lambda, LocalStack's DynamoDB, ${provider})`,
      doc: createDocumentClient({ endpoint, region }),
      tables,
      shards: shardCountOf(env.variables),
      stripe: billing.stripe,
      invoke: (event) => invokeOnce(lambda, functionName, event),
      providerRecord: billing.providerRecord,
      close: async () => undefined,
    },
  };
}

/** The deployed function's environment: what the stack told it, the Stripe endpoint included. */
async function functionEnvironment(
  lambda: LambdaClient,
  functionName: string,
): Promise<{ variables: Record<string, string> } | { unavailable: string }> {
  try {
    const configuration = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName }),
    );
    return { variables: configuration.Environment?.Variables ?? {} };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { unavailable: `function ${functionName} not found on LocalStack (${message}): redeploy` };
  }
}

/** A synchronous invocation: resolves with the handler's result, rejects with the function's error. */
async function invokeOnce(lambda: LambdaClient, functionName: string, event: unknown): Promise<unknown> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(event) }),
  );
  const body = new TextDecoder().decode(out.Payload);
  if (out.FunctionError) throw new LocalStackTargetError(`function error (${out.FunctionError}): ${body}`);
  return JSON.parse(body) as unknown;
}

interface Billing {
  readonly stripe: ReturnType<typeof stripeClient>;
  providerRecord(): Promise<ProviderRecord>;
}

async function stripeFor(
  side: StripeSide,
  settings: LocalStackSettings,
): Promise<Billing | { unavailable: string }> {
  if (side.kind === "emulator") {
    const url = settings.emulatorUrl;
    if (!(await answers(`${url}/__emulator/held`))) {
      return {
        unavailable:
          `the function bills the Stripe emulator (${side.functionCalls} on the compose network), ` +
          `which is not answering here at ${url} (STRIPE_EMULATOR_URL)`,
      };
    }
    return { stripe: stripeClient(EMULATOR_SEED_KEY, url), providerRecord: () => fetchProviderRecord(url) };
  }
  const key = settings.stripeKey ?? "";
  if (!key.startsWith("sk_test_")) {
    return {
      unavailable:
        "the function bills Stripe's test mode (deployed with --stripe test): " +
        "STRIPE_SECRET_KEY must hold the same sk_test_ key",
    };
  }
  const stripe = stripeClient(key);
  // A minute of slack for clocks: the provider's record is what was made since the target was set up.
  const since = Math.floor(Date.now() / 1000) - 60;
  return { stripe, providerRecord: () => testModeRecord(stripe, since) };
}

async function testModeRecord(
  stripe: ReturnType<typeof stripeClient>,
  since: number,
): Promise<ProviderRecord> {
  const paymentIntents: ProviderRecord["paymentIntents"][number][] = [];
  for await (const pi of stripe.paymentIntents.list({ created: { gte: since }, limit: 100 })) {
    if (pi.metadata?.source !== JOB_METADATA_SOURCE) continue;
    const { id, status, amount, currency, metadata } = pi;
    paymentIntents.push({ id, status, amount, currency, metadata });
  }
  return { paymentIntents };
}

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

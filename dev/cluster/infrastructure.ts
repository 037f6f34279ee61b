/**
 * The infrastructure a cluster run needs, on free ports: DynamoDB Local (with the schema's tables) and the
 * Stripe emulator (in this process). `stop()` takes both down; DynamoDB Local's watchdog does it even if
 * this process dies.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../functions/aws/dynamo";
import type { TableNames } from "../../functions/schema/tables";
import {
  createTableSet,
  localDynamoClient,
  QUICK_JVM_OPTIONS,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from "../dynamodb-local";
import { startStripeEmulator, type FaultPlan } from "../stripe-emulator";

export type StripeEmulator = Awaited<ReturnType<typeof startStripeEmulator>>;
export type { FaultPlan };

/** The test-mode key the contenders present to the emulator. */
export const LOCAL_STRIPE_KEY = "sk_test_lease_billing_local";

export interface InfrastructureOptions {
  /** Table names get this prefix (default: none; the names the function uses by default). */
  readonly tablePrefix?: string;
  readonly java?: string;
  readonly stripe?: { readonly port?: number; readonly seed?: number; readonly faults?: FaultPlan };
  /** Progress messages ("DynamoDB Local on :8123"). */
  readonly log?: (message: string) => void;
  /**
   * Start the JVM for a short life: C1 JIT only, serial GC, class-data sharing. Starts DynamoDB Local two
   * to three times faster on a small machine; fine for runs of minutes. Default true.
   */
  readonly quickJvm?: boolean;
}

export interface Infrastructure {
  readonly dynamo: DynamoDbLocal;
  readonly tables: TableNames;
  readonly doc: DynamoDBDocumentClient;
  readonly stripe: StripeEmulator;
  readonly stripeKey: string;
  /** How long each part took to start, in ms. */
  readonly startup: { readonly dynamoMs: number; readonly tablesMs: number; readonly stripeMs: number };
  stop(): Promise<void>;
}

export async function startInfrastructure(options: InfrastructureOptions = {}): Promise<Infrastructure> {
  const log = options.log ?? (() => undefined);
  const t0 = performance.now();
  // Start both at once: the JVM takes seconds, the emulator milliseconds.
  const [dynamoResult, stripeResult] = await Promise.allSettled([
    startDynamoDbLocal({
      ...(options.java && { java: options.java }),
      ...(options.quickJvm !== false && { jvmOptions: QUICK_JVM_OPTIONS }),
    }),
    Promise.resolve(
      startStripeEmulator({
        host: "127.0.0.1",
        ...(options.stripe?.port !== undefined && { port: options.stripe.port }),
        ...(options.stripe?.seed !== undefined && { seed: options.stripe.seed }),
        ...(options.stripe?.faults && { faults: options.stripe.faults }),
      }),
    ).then((emulator) => ({ emulator, ms: performance.now() - t0 })),
  ]);
  const dynamoMs = performance.now() - t0;
  if (dynamoResult.status === "rejected" || stripeResult.status === "rejected") {
    if (dynamoResult.status === "fulfilled") await dynamoResult.value.stop();
    if (stripeResult.status === "fulfilled") await stripeResult.value.emulator.stop();
    throw dynamoResult.status === "rejected"
      ? dynamoResult.reason
      : (stripeResult as PromiseRejectedResult).reason;
  }
  const dynamo = dynamoResult.value;
  const stripe = stripeResult.value.emulator;
  log(`DynamoDB Local on ${dynamo.endpoint}, Stripe emulator on ${stripe.url}`);

  const t1 = performance.now();
  const prefix = options.tablePrefix ?? "";
  const client = localDynamoClient(dynamo.endpoint);
  let tables: TableNames;
  try {
    tables = await createTableSet(client, prefix);
  } catch (error) {
    await Promise.allSettled([stripe.stop(), dynamo.stop()]);
    throw error;
  } finally {
    client.destroy();
  }
  const tablesMs = performance.now() - t1;
  const doc = createDocumentClient({ endpoint: dynamo.endpoint });

  let stopping: Promise<void> | undefined;
  return {
    dynamo,
    tables,
    doc,
    stripe,
    stripeKey: LOCAL_STRIPE_KEY,
    startup: { dynamoMs, tablesMs, stripeMs: stripeResult.value.ms },
    stop: () =>
      (stopping ??= (async () => {
        doc.destroy();
        await Promise.allSettled([Promise.resolve(stripe.stop()), dynamo.stop()]);
      })()),
  };
}

/**
 * `npm run local-stack`: DynamoDB Local (with the job's tables) and the Stripe emulator on fixed ports,
 * kept up until Ctrl-C, so the ops CLI (`subscriptions import`, `status`, ...) and `npm run local-stack --
 * bill` can be pointed at them. The emulator starts with the customers a subscriptions file names
 * (examples/subscriptions.csv by default), under those very ids: on real Stripe they would exist already,
 * and the emulator has no other way to give a customer a chosen id than its saved state.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTables, localDynamoClient, QUICK_JVM_OPTIONS, startDynamoDbLocal } from "../dynamodb-local";
import { LOCAL_STRIPE_KEY } from "../cluster/infrastructure";
import type { Shutdown } from "../cluster/shutdown";
import { PINNED_API_VERSION, startStripeEmulator } from "../stripe-emulator";
import type { PersistedState } from "../stripe-emulator/persistence";
import type { CustomerRecord } from "../stripe-emulator/records";
import { formatOf, readRows } from "../../cli/subscriptions/read-rows";

export interface UpOptions {
  readonly dynamoPort: number;
  readonly stripePort: number;
  /** A CSV or JSON Lines file of subscriptions whose customers the emulator starts with; null for none. */
  readonly customersFrom: string | null;
}

export interface Stack {
  readonly dynamoEndpoint: string;
  readonly stripeUrl: string;
  readonly customers: readonly string[];
}

export async function upStack(
  options: UpOptions,
  shutdown: Shutdown,
  log: (line: string) => void,
): Promise<Stack> {
  await Promise.all([
    portFree(options.dynamoPort, "--dynamo-port"),
    portFree(options.stripePort, "--stripe-port"),
  ]);
  const customers = options.customersFrom === null ? [] : await customerIds(options.customersFrom);
  const dir = await mkdtemp(join(tmpdir(), "local-stack-"));
  shutdown.add("emulator state", () => rm(dir, { recursive: true, force: true }));
  const stateFile = join(dir, "stripe-emulator.json");
  await writeFile(stateFile, JSON.stringify(emulatorState(customers)));

  log("starting DynamoDB Local and the Stripe emulator...");
  const dynamo = await startDynamoDbLocal({ port: options.dynamoPort, jvmOptions: QUICK_JVM_OPTIONS });
  shutdown.add("DynamoDB Local", () => dynamo.stop());
  const client = localDynamoClient(dynamo.endpoint);
  try {
    await createTables(client);
  } finally {
    client.destroy();
  }
  const emulator = await startStripeEmulator({ host: "127.0.0.1", port: options.stripePort, stateFile });
  shutdown.add("Stripe emulator", () => emulator.stop());
  return { dynamoEndpoint: dynamo.endpoint, stripeUrl: emulator.url, customers };
}

/** The distinct customer ids of a subscriptions file, in order of first appearance. */
async function customerIds(path: string): Promise<string[]> {
  const format = formatOf(path);
  if (format === null) throw new Error(`--customers-from: ${path} is neither .csv nor .jsonl`);
  const ids = new Set<string>();
  for await (const row of readRows(createReadStream(path), format)) {
    if (row.kind === "row" && typeof row.fields.customerId === "string") ids.add(row.fields.customerId);
  }
  return [...ids];
}

/** The emulator's saved state (format 1): these customers and nothing else. */
function emulatorState(ids: readonly string[]): PersistedState {
  const created = Math.floor(Date.now() / 1000);
  const customers: CustomerRecord[] = ids.map((id, i) => ({
    id,
    seq: i + 1,
    created,
    livemode: false,
    email: null,
    name: null,
    description: "created by npm run local-stack",
    phone: null,
    metadata: {},
    defaultPaymentMethod: null,
  }));
  return {
    format: 1,
    apiVersion: PINNED_API_VERSION,
    clockAdvancedMs: 0,
    store: { seq: ids.length, customers, paymentMethods: [], paymentIntents: [], charges: [], refunds: [] },
    idempotencyKeys: [],
  };
}

async function portFree(port: number, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", () =>
      reject(new Error(`port ${port} is in use (another local stack?); choose another with ${flag}`)),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

export { LOCAL_STRIPE_KEY };

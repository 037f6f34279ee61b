/**
 * How many item operations per second DynamoDB Local can serve on this machine, measured in the run
 * that uses it, so the shard scenario can say whether it waited on DynamoDB Local.
 *
 * The probe saturates DynamoDB Local with six clients sending transactions of puts, as the job's group
 * commits are, and records the items it served per second and the CPU its JVM used meanwhile (here
 * about one core of two: bench/results.json, dynamoCeiling). A run whose JVM or item rate comes near
 * those figures waited on DynamoDB Local. The job's own mix (conditional updates, condition checks on
 * one lease item, index upkeep) costs DynamoDB Local more per item than plain new puts, so its item rate
 * understates how close it came. The probe also times single reads on the idle database, to tell when
 * the job's requests queued.
 */
import { GetCommand, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { CpuWindow } from "./cpu";
import type { BenchEnv } from "./env";

export interface DynamoCeiling {
  /** Items written per second with DynamoDB Local saturated. */
  readonly itemOperationsPerSecond: number;
  /** Cores DynamoDB Local's JVM used meanwhile (1.0 = one core), or null without /proc. */
  readonly jvmCores: number | null;
  readonly transactionItems: number;
  readonly clients: number;
  readonly seconds: number;
  /** Mean time of a strongly consistent GetItem with DynamoDB Local otherwise idle, one at a time. */
  readonly idleRequestMs: number;
}

const ITEMS_PER_TRANSACTION = 25;
const CLIENTS = 6;

export async function measureDynamoCeiling(env: BenchEnv, durationMs: number): Promise<DynamoCeiling> {
  const tables = await env.tables("ceiling");
  const window = new CpuWindow(env.javaPid ? [env.javaPid] : []);
  let items = 0;
  let next = 0;
  try {
    const idleRequestMs = await idleLatency(tables);
    const began = performance.now();
    const until = began + durationMs;
    window.begin();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) {
          const batch = next++;
          await tables.doc.send(
            new TransactWriteCommand({
              TransactItems: Array.from({ length: ITEMS_PER_TRANSACTION }, (_, i) => ({
                Put: { TableName: tables.names.charges, Item: chargeLike(batch * ITEMS_PER_TRANSACTION + i) },
              })),
            }),
          );
          items += ITEMS_PER_TRANSACTION;
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    const jvm = env.javaPid ? (window.end().byPid.get(env.javaPid) ?? null) : null;
    return {
      itemOperationsPerSecond: items / seconds,
      jvmCores: jvm,
      transactionItems: ITEMS_PER_TRANSACTION,
      clients: CLIENTS,
      seconds,
      idleRequestMs,
    };
  } finally {
    tables.doc.destroy();
  }
}

const IDLE_PROBES = 200;

async function idleLatency(tables: Awaited<ReturnType<BenchEnv["tables"]>>): Promise<number> {
  await tables.doc.send(new PutCommand({ TableName: tables.names.charges, Item: chargeLike(-1) }));
  const key = { subscriptionId: chargeLike(-1).subscriptionId, periodStart: chargeLike(-1).periodStart };
  const began = performance.now();
  for (let i = 0; i < IDLE_PROBES; i++) {
    await tables.doc.send(
      new GetCommand({ TableName: tables.names.charges, Key: key, ConsistentRead: true }),
    );
  }
  return (performance.now() - began) / IDLE_PROBES;
}

/** An item of a charge record's size and shape (about 400 bytes), in the attention index as a pending one. */
function chargeLike(i: number): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    subscriptionId: `ceiling_${String(i).padStart(7, "0")}`,
    periodStart: "2026-11-01T00:00:00.000Z",
    state: "pending",
    attention: "pending",
    customerId: "cus_ceiling0000000000",
    paymentMethodId: "pm_ceiling00000000000",
    amount: 1999,
    currency: "usd",
    idempotencyKey: `renew:create:ceiling_${i}:2026-11-01`,
    createGeneration: 0,
    confirmAttempt: 1,
    attempts: 1,
    fence: 1,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

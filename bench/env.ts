/**
 * What every scenario of the benchmark runs against: one DynamoDB Local (its own JVM, found by port so
 * its CPU can be sampled), fresh tables per scenario, and seeding through the Stripe emulator.
 */
import { randomUUID } from "node:crypto";
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { putItems } from "../dev/batch-write";
import {
  createTableSet,
  localDynamoClient,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from "../dev/dynamodb-local";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../dev/seed";
import { createDocumentClient } from "../functions/aws/dynamo";
import { dueShardKey } from "../functions/aws/dynamo-billing-store";
import type { TableNames } from "../functions/schema/tables";
import { findDynamoDbLocalPid } from "./cpu";

export const BENCH_API_KEY = "sk_test_lease_billing_bench";

/** Every scenario bills what is due at this instant. */
export const AS_OF = "2026-11-23T12:00:00.000Z";

export interface BenchTables {
  readonly endpoint: string;
  readonly names: TableNames;
  readonly doc: DynamoDBDocumentClient;
}

export class BenchEnv {
  private constructor(
    readonly dynamo: DynamoDbLocal,
    /** DynamoDB Local's JVM, or null where /proc is not available. */
    readonly javaPid: number | null,
  ) {}

  static async start(): Promise<BenchEnv> {
    const dynamo = await startDynamoDbLocal();
    return new BenchEnv(dynamo, findDynamoDbLocalPid(dynamo.port));
  }

  get endpoint(): string {
    return this.dynamo.endpoint;
  }

  /** A fresh set of the schema's tables under a unique prefix. */
  async tables(label: string): Promise<BenchTables> {
    const prefix = `bench-${label}-${randomUUID().slice(0, 6)}`;
    const client = localDynamoClient(this.endpoint);
    try {
      return {
        endpoint: this.endpoint,
        names: await createTableSet(client, `${prefix}-`),
        doc: createDocumentClient({ endpoint: this.endpoint }),
      };
    } finally {
      client.destroy();
    }
  }

  /**
   * Creates the pool of customers the scenarios bill: `count` subscriptions seeded the way the tests seed
   * them (dev/seed.ts: a customer with a saved card in the emulator, through the SDK, and the
   * subscription in DynamoDB). Two emulator requests each, so it is done once; seed() then deals these
   * customers out to each scenario's own subscriptions.
   */
  async seedCustomers(emulatorUrl: string, count: number): Promise<void> {
    const tables = await this.tables("customers");
    await seedSubscriptions(
      tables.doc,
      tables.names,
      stripeClient(BENCH_API_KEY, emulatorUrl),
      dueSubscriptions(count, AS_OF, 1, "customer"),
      [],
      32,
    );
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await tables.doc.send(
        new ScanCommand({ TableName: tables.names.subscriptions, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    items.sort((a, b) => String(a.subscriptionId).localeCompare(String(b.subscriptionId)));
    this.templates = items;
    tables.doc.destroy();
  }

  private templates: Record<string, unknown>[] = [];

  /**
   * `count` subscriptions due at AS_OF over `shards` shards (subscription i in shard i mod shards), each
   * a copy of a pooled customer's subscription under its own id; with more subscriptions than pooled
   * customers, a customer has several. Every subscription is due, active and billable.
   */
  async seed(tables: BenchTables, count: number, shards = 1, prefix = "sub"): Promise<void> {
    if (this.templates.length === 0) throw new Error("seedCustomers() first");
    const items = Array.from({ length: count }, (_, i) => {
      const shard = i % shards;
      return {
        ...this.templates[i % this.templates.length],
        subscriptionId: `${prefix}_${String(i).padStart(5, "0")}`,
        shard,
        dueShard: dueShardKey(shard),
      };
    });
    await putItems(tables.doc, tables.names.subscriptions, items, { concurrency: 4 });
  }

  async stop(): Promise<void> {
    await this.dynamo.stop();
  }
}

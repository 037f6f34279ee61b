/**
 * What a renewal's fenced writes cost the two sparse indexes, as DynamoDB Local reports it
 * (ReturnConsumedCapacity INDEXES). The schema (functions/schema/tables.ts) keys the `attention` index on
 * the claim's time and projects almost nothing, so recording the PaymentIntent on a pending record, the
 * middle one of a renewal's three writes, touches no index at all; the claim adds the record to the
 * index and settling removes it and moves the subscription in the `due` index.
 */
import { afterAll, expect, it } from "vitest";
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../../dev/seed";
import { runContender } from "../../../functions/core/billing-run/contender";
import { systemClock } from "../../../functions/core/clock";
import { createBillingJob, createGateway, leaderDeps } from "../../../functions/handler/billing-job";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { TEST_API_KEY, testConfig } from "../../support/billing";

interface ChargeWrite {
  readonly state: string;
  readonly paymentIntentId: string | undefined;
  /** Capacity units per index, keyed "table/index". */
  readonly indexUnits: Record<string, number>;
}

/** A string attribute, as the document client has it or as it is marshalled for the wire. */
const plain = (value: unknown) =>
  typeof value === "object" && value !== null && "S" in value ? String(value.S) : String(value);

let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("index-upkeep", (started) => ({ tables, emulator } = started), {
  emulator: { seed: 3 },
});
afterAll(() => {
  tables.doc.destroy();
});

it("a renewal's middle write (recording the PaymentIntent) touches no index; the claim and the settlement do", async () => {
  const asOf = new Date().toISOString();
  await seedSubscriptions(
    tables.doc,
    tables.names,
    stripeClient(TEST_API_KEY, emulator.url),
    dueSubscriptions(1, asOf, 1, "upkeep"),
    [],
    1,
  );
  const config = testConfig(tables, emulator.url);
  const job = createBillingJob(config, systemClock);
  const writes: ChargeWrite[] = [];
  job.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        TransactItems?: { Put?: { TableName?: string; Item?: Record<string, unknown> } }[];
      };
      if (!String(context.commandName).startsWith("TransactWrite")) return next(args);
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = "INDEXES";
      const result = await next(args);
      const charge = input.TransactItems?.find((i) => i.Put?.TableName === tables.names.charges)?.Put?.Item;
      if (charge) {
        const indexUnits: Record<string, number> = {};
        for (const c of (result.output as { ConsumedCapacity?: ConsumedCapacity[] }).ConsumedCapacity ?? []) {
          for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {})) {
            indexUnits[`${c.TableName}/${index}`] = units.CapacityUnits ?? 0;
          }
        }
        writes.push({
          state: plain(charge.state),
          paymentIntentId: charge.paymentIntentId === undefined ? undefined : plain(charge.paymentIntentId),
          indexUnits,
        });
      }
      return result;
    },
    { step: "initialize", name: "indexUpkeepProbe" },
  );

  const deps = leaderDeps(
    job,
    createGateway(config, TEST_API_KEY, systemClock),
    () => undefined,
    () => 600_000,
  );
  const report = await runContender(deps, "upkeep-owner", { runId: "upkeep", asOf });
  expect(report.tally.succeeded).toBe(1);

  const attention = `${tables.names.charges}/attention`;
  const due = `${tables.names.subscriptions}/due`;
  expect(writes.map((w) => [w.state, w.paymentIntentId !== undefined])).toEqual([
    ["pending", false],
    ["pending", true],
    ["succeeded", true],
  ]);
  const [claim, recordIntent, settle] = writes;
  expect(claim!.indexUnits[attention]).toBeGreaterThan(0);
  expect(recordIntent!.indexUnits).toEqual({});
  expect(settle!.indexUnits[attention]).toBeGreaterThan(0);
  expect(settle!.indexUnits[due]).toBeGreaterThan(0);

  // Settled for good: out of the attention index, and out of what is due now.
  const inIndex = await tables.doc.send(
    new QueryCommand({
      TableName: tables.names.charges,
      IndexName: "attention",
      KeyConditionExpression: "attention = :s",
      ExpressionAttributeValues: { ":s": "pending" },
    }),
  );
  expect(inIndex.Count).toBe(0);
  job.doc.destroy();
});

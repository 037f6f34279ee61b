/**
 * `ops subscriptions get ID` and `ops subscriptions cancel ID` on DynamoDB Local, through the
 * subscription client: what the next run would do with a subscription, a cancel that is a dry run unless
 * --execute, and one refused while a charge for the subscription is in flight. Usage errors exit 2.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { SubscriptionsClient } from "../../functions/client/subscriptions-client";
import { createTestTables, type TestTables } from "../support/dynamo";
import { json, ops, tableFlags } from "./ops-harness";

let tables: TestTables;
let client: SubscriptionsClient;
const PAST = "2026-01-15T00:00:00.000Z";
const input = {
  subscriptionId: "sub_cli",
  customerId: "cus_cli",
  paymentMethodId: "pm_card_visa",
  amount: 1999,
  currency: "eur",
  interval: "month",
  nextPeriodStart: PAST,
};

beforeEach(async () => {
  tables = await createTestTables("cli-subs");
  client = new SubscriptionsClient({ doc: tables.doc, tables: tables.names, shardCount: 1 });
  expect((await client.create(input)).kind).toBe("created");
});

async function status(): Promise<unknown> {
  const out = await tables.doc.send(
    new GetCommand({
      TableName: tables.names.subscriptions,
      Key: { subscriptionId: "sub_cli" },
      ConsistentRead: true,
    }),
  );
  return out.Item?.status;
}

describe("ops subscriptions get", () => {
  it("shows the record and that the next run charges it", async () => {
    const result = await ops(["subscriptions", "get", "sub_cli", ...tableFlags(tables)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("sub_cli: active");
    expect(result.stdout).toContain("€19.99 (1999 eur), monthly, on day 15");
    expect(result.stdout).toContain(
      `billing            due: the next run charges the period starting ${PAST}`,
    );
    const asJson = json<{ kind: string; billing: { kind: string } }>(
      await ops(["subscriptions", "get", "sub_cli", "--json", ...tableFlags(tables)]),
    );
    expect(asJson).toMatchObject({ kind: "found", subscription: { amount: 1999 }, billing: { kind: "due" } });
  });

  it("says why the run would quarantine a broken record, and exits 1; and 1 for no such id", async () => {
    const stored = await tables.doc.send(
      new GetCommand({ TableName: tables.names.subscriptions, Key: { subscriptionId: "sub_cli" } }),
    );
    const item = { ...stored.Item, subscriptionId: "sub_broken", status: "ACTIVE" };
    await tables.doc.send(new PutCommand({ TableName: tables.names.subscriptions, Item: item }));
    const broken = await ops(["subscriptions", "get", "sub_broken", ...tableFlags(tables)]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain("the run would quarantine it as it stands");
    expect(broken.stdout).toContain(
      'status: status must be one of active, paused, past_due, needs_customer_action, quarantined, canceled, got "ACTIVE"',
    );
    const missing = await ops(["subscriptions", "get", "sub_nobody", ...tableFlags(tables)]);
    expect(missing).toMatchObject({ code: 1, stdout: "sub_nobody: no such subscription." });
  });
});

describe("ops subscriptions cancel", () => {
  it("is a dry run without --execute; with it, cancels once", async () => {
    const dry = await ops(["subscriptions", "cancel", "sub_cli", ...tableFlags(tables)]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("Dry run: nothing written");
    expect(await status()).toBe("active");

    const done = await ops(["subscriptions", "cancel", "sub_cli", "--execute", ...tableFlags(tables)]);
    expect(done).toMatchObject({ code: 0, stdout: expect.stringContaining("sub_cli canceled") });
    expect(await status()).toBe("canceled");
    const again = await ops([
      "subscriptions",
      "cancel",
      "sub_cli",
      "--execute",
      "--json",
      ...tableFlags(tables),
    ]);
    expect(json(again)).toMatchObject({ executed: true, kind: "unchanged" });
  });

  it("is refused while the period's charge is in flight, and writes nothing", async () => {
    // What a leader's claim leaves while the charge is under way: a pending record for the period.
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.charges,
        Item: { subscriptionId: "sub_cli", periodStart: PAST, state: "pending", version: 1 },
      }),
    );
    const result = await ops(["subscriptions", "cancel", "sub_cli", "--execute", ...tableFlags(tables)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `sub_cli: refused, nothing written: a charge for the period starting ${PAST} is pending: try again once it has settled`,
    );
    expect(await status()).toBe("active");
  });
});

describe("ops subscriptions usage", () => {
  it.each([
    [["subscriptions"], "subscriptions needs an action"],
    [["subscriptions", "frobnicate"], 'unknown action "subscriptions frobnicate"'],
    [["subscriptions", "import"], "subscriptions import needs a FILE"],
    [["subscriptions", "import", "/nonexistent/book.csv"], "cannot read /nonexistent/book.csv"],
    [["subscriptions", "import", "book.xlsx"], "--format must be csv or jsonl"],
    [
      ["subscriptions", "get", "sub_1", "--format", "csv"],
      "--format and --concurrency go with subscriptions import",
    ],
    [["subscriptions", "get", "a", "b"], "subscriptions get takes one argument"],
  ])("%j exits 2: %s", async (argv, message) => {
    const result = await ops([...argv, ...tableFlags(tables)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("has help", async () => {
    const result = await ops(["help", "subscriptions"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: ops subscriptions import FILE [--execute]");
  });
});

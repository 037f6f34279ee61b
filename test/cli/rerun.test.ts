/**
 * `ops rerun`: --local runs the real handler in-process (a dry run changes nothing at all; --execute
 * bills); without --local it invokes the function through the Lambda API (here a stand-in Lambda endpoint
 * on localhost) with the validated rerun event, dry run by default. Bad input is refused before anything
 * is sent.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { monthlySeed, seedSubscriptions, stripeClient, type SubscriptionSeed } from "../../dev/seed";
import { scanAll } from "../../dev/invariants";
import { createTestTables, type TestTables } from "../support/dynamo";
import { TEST_API_KEY } from "../support/billing";
import { json, localFlags, ops } from "./ops-harness";

const HOUR = 3_600_000;
const ENV = { STRIPE_SECRET_KEY: TEST_API_KEY };
let tables: TestTables;
let emulator: StripeEmulator;

const due = (id: string): SubscriptionSeed =>
  monthlySeed(id, new Date(Date.now() - 2 * HOUR), { amount: 1500, currency: "gbp" });

beforeAll(async () => {
  [tables, emulator] = await Promise.all([createTestTables("cli-rerun"), startStripeEmulator()]);
  await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
    due("sub_one"),
    due("sub_two"),
  ]);
});
afterAll(async () => {
  await emulator?.stop();
});

async function everything() {
  const [leases, subscriptions, charges] = await Promise.all([
    scanAll(tables.doc, tables.names.leases),
    scanAll(tables.doc, tables.names.subscriptions),
    scanAll(tables.doc, tables.names.charges),
  ]);
  return { leases, subscriptions, charges, paymentIntents: emulator.snapshot().paymentIntents };
}

describe("ops rerun --local", () => {
  it("a dry run (the default) reports what it would charge and changes nothing", async () => {
    const before = await everything();
    const result = await ops(["rerun", "--local", ...localFlags(tables, emulator.url)], ENV);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Dry run through the handler, in process");
    expect(result.stdout).toContain("nothing was changed");
    expect(result.stdout).toContain("Would: charge=2");
    expect(result.stdout).toMatch(/sub_one\s+0\s+charge\s+\S+\s+1500 gbp/);
    expect(await everything()).toEqual(before);
    expect(before.charges).toEqual([]);
    expect(before.paymentIntents).toEqual([]);
  });

  it("--execute bills, restricted to --subscription", async () => {
    const result = await ops(
      [
        "rerun",
        "--local",
        "--execute",
        "--subscription",
        "sub_one",
        "--json",
        ...localFlags(tables, emulator.url),
      ],
      ENV,
    );
    expect(result.code).toBe(0);
    const { event, result: run } = json<{ event: Record<string, unknown>; result: Record<string, unknown> }>(
      result,
    );
    expect(event).toMatchObject({ action: "rerun", dryRun: false, subscriptionIds: ["sub_one"] });
    expect(run).toMatchObject({ status: "ok", tally: { succeeded: 1 }, charged: { gbp: 1500 } });
    const charges = await scanAll(tables.doc, tables.names.charges);
    expect(charges.map((c) => [c.subscriptionId, c.state])).toEqual([["sub_one", "succeeded"]]);
    const two = await tables.doc.send(
      new GetCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "sub_two" },
        ConsistentRead: true,
      }),
    );
    expect(two.Item?.lastPaidPeriod).toBeUndefined();
  });
});

describe("ops rerun --local, a run that leaves work", () => {
  it("exits 1 and says so when a shard it led did not finish (a charge left in doubt)", async () => {
    await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
      due("sub_three"),
    ]);
    emulator.injectNext({ kind: "drop-after-charge", path: "^/v1/payment_intents/[^/]+/confirm$", count: 3 });
    const result = await ops(
      ["rerun", "--local", "--execute", "--subscription", "sub_three", ...localFlags(tables, emulator.url)],
      ENV,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^\s+0\s+\d+\s+partial\s+1 left due/m);
    expect(result.stdout).toContain("Not everything due was finished");
    const charges = await scanAll(tables.doc, tables.names.charges);
    expect(charges.find((c) => c.subscriptionId === "sub_three")?.state).toBe("in_doubt");
  });
});

describe("ops rerun against the deployed function", () => {
  let server: Server;
  const received: { path: string; body: unknown }[] = [];
  let answer: { status: number; headers: Record<string, string>; body: unknown } = {
    status: 200,
    headers: {},
    body: {},
  };

  beforeAll(async () => {
    // A stand-in for the Lambda API: records each Invoke and answers what the test says.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: JSON.parse(body || "null") });
        res.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    received.length = 0;
  });

  function stubAws() {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIDTEST");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "secret");
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    vi.stubEnv("AWS_ENDPOINT_URL_LAMBDA", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  it("invokes the function with a validated rerun event, dry run by default", async () => {
    stubAws();
    answer = {
      status: 200,
      headers: {},
      body: {
        status: "dry-run",
        runId: "rerun:x",
        asOf: "2026-11-23T12:00:00.000Z",
        counts: { charge: 3 },
        items: [],
      },
    };
    const result = await ops(
      [
        "rerun",
        "--function",
        "billing-fn",
        "--region",
        "eu-west-1",
        "--subscription",
        "sub_a,sub_b",
        "--max-charges",
        "5",
        "--as-of",
        "2026-11-01",
        "--reason",
        "missed firing",
      ],
      {},
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/2015-03-31/functions/billing-fn/invocations");
    expect(received[0]!.body).toEqual({
      action: "rerun",
      dryRun: true,
      asOf: "2026-11-01T00:00:00.000Z",
      subscriptionIds: ["sub_a", "sub_b"],
      maxCharges: 5,
      reason: "missed firing",
    });
    expect(result.stdout).toContain("Dry run through function billing-fn (rerun:x)");
    expect(result.stdout).toContain("Would: charge=3");
  });

  it("--execute sends dryRun false; a function error is exit 1 with its message", async () => {
    stubAws();
    answer = {
      status: 200,
      headers: { "X-Amz-Function-Error": "Unhandled" },
      body: { errorType: "Error", errorMessage: "PaymentProviderConfigError: Stripe refused the API key" },
    };
    const result = await ops(["rerun", "--execute", "--region", "eu-west-1"], {
      BILLING_FUNCTION_NAME: "billing-fn",
    });
    expect(received.map((r) => (r.body as { dryRun: boolean }).dryRun)).toEqual([false]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "function billing-fn failed: Unhandled: PaymentProviderConfigError: Stripe refused the API key",
    );
  });

  it("refuses bad input before anything is sent, naming the flag", async () => {
    stubAws();
    const base = ["rerun", "--function", "billing-fn", "--region", "eu-west-1"];
    const future = await ops([...base, "--as-of", "2999-01-01T00:00:00Z"]);
    expect(future.code).toBe(2);
    expect(future.stderr).toContain(
      "rerun refused before sending, nothing was changed: --as-of: must not be in the future",
    );

    const notADate = await ops([...base, "--as-of", "last tuesday"]);
    expect(notADate.code).toBe(2);
    expect(notADate.stderr).toContain('--as-of: "last tuesday" is not a date');

    const zero = await ops([...base, "--max-charges", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("--max-charges must be a whole number of at least 1");

    const shard = await ops([...base, "--shard", "3", "--shard-count", "2"]);
    expect(shard.code).toBe(2);
    expect(shard.stderr).toContain("--shard: there are 2 shard(s), numbered from 0");

    const both = await ops([...base, "--dry-run", "--execute"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--dry-run contradicts --execute");

    const noFunction = await ops(["rerun", "--region", "eu-west-1"]);
    expect(noFunction.code).toBe(2);
    expect(noFunction.stderr).toContain("rerun needs the deployed function: pass --function NAME");

    const localWithoutStack = await ops(["rerun", "--local"]);
    expect(localWithoutStack.code).toBe(2);
    expect(localWithoutStack.stderr).toContain("--local needs --endpoint");

    expect(received).toEqual([]);
  });
});

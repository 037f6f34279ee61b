/**
 * The parts of the LocalStack path that run without LocalStack (localstack/*.ts): judging a run on its own
 * subscriptions (against DynamoDB Local and the emulator), the verdict and summary fire.sh prints, reading
 * the deployment's outputs and the function's Stripe settings, fire.sh's options, and the reasons a
 * deployment is not usable.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInvariants } from "../../dev/invariants";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import {
  firingNow,
  inRun,
  invocation,
  providerInRun,
  scheduledEvent,
  scopedToRun,
  type PathReport,
} from "../../localstack/billing-path";
import {
  connectLocalStack,
  localStackSettings,
  shardCountOf,
  stackOutputs,
  stripeSideOf,
  type LocalStackSettings,
} from "../../localstack/deployment";
import { parseFireArgs } from "../../localstack/fire-options";
import { leadersByShard, problems, summaryLines } from "../../localstack/path-verdict";
import { createTestTables, type TestTables } from "../support/dynamo";

describe("a run is judged on its own subscriptions", () => {
  let tables: TestTables;
  let emulator: StripeEmulator;
  const asOf = firingNow();
  beforeAll(async () => {
    [tables, emulator] = await Promise.all([createTestTables("path"), startStripeEmulator()]);
    const stripe = stripeClient("sk_test_path", emulator.url);
    // An earlier run's subscriptions and this run's, all still due: nothing has billed them.
    await seedSubscriptions(tables.doc, tables.names, stripe, [
      ...dueSubscriptions(2, asOf, 1, "earlier"),
      ...dueSubscriptions(3, asOf, 1, "thisrun"),
    ]);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it("the checker over a scoped client sees this run's records only", async () => {
    const provider = { paymentIntents: [] };
    const whole = await checkInvariants(tables.doc, tables.names, provider, asOf);
    expect(whole.counts.subscriptions).toBe(5);
    const scoped = await checkInvariants(scopedToRun(tables.doc, "thisrun"), tables.names, provider, asOf);
    expect(scoped.counts.subscriptions).toBe(3);
    // Invariant 2: each of this run's subscriptions is still due, and only those are named.
    expect(scoped.violations).toHaveLength(3);
    for (const v of scoped.violations) expect(v).toMatch(/^invariant 2: thisrun_\d{5} still due/);
  });

  it("scoping touches Scans only", async () => {
    const item = await scopedToRun(tables.doc, "thisrun").send(
      new GetCommand({ TableName: tables.names.subscriptions, Key: { subscriptionId: "earlier_00000" } }),
    );
    expect(item.Item?.subscriptionId).toBe("earlier_00000");
  });

  it("a prefix is whole: run ab does not take in run abc's records, lease records belong to every run", () => {
    expect(inRun("ab", { subscriptionId: "ab_00001" })).toBe(true);
    expect(inRun("ab", { subscriptionId: "abc_00001" })).toBe(false);
    expect(inRun("ab", { leaseKey: "billing/shard-0", fence: 3 })).toBe(true);
    const pi = (id: string, subscription: string | undefined) => ({
      id,
      status: "succeeded",
      amount: 500,
      currency: "usd",
      metadata: (subscription === undefined ? {} : { subscription_id: subscription }) as Record<
        string,
        string
      >,
    });
    const record = {
      paymentIntents: [pi("pi_1", "ab_00000"), pi("pi_2", "abc_00000"), pi("pi_3", undefined)],
    };
    expect(providerInRun(record, "ab").paymentIntents.map((p) => p.id)).toEqual(["pi_1"]);
  });
});

describe("an invocation's result", () => {
  const led = [{ shard: 0, fence: 4, outcome: "complete" }];
  it("is read from the handler's report, or kept as the failure it was", () => {
    expect(invocation("c1", { status: "fulfilled", value: { status: "ok", led, stoodBy: [] } })).toEqual({
      contender: "c1",
      ok: true,
      result: { status: "ok", led, stoodBy: [] },
    });
    expect(
      invocation("c2", { status: "rejected", reason: new Error("function error (Unhandled): boom") }),
    ).toEqual({ contender: "c2", ok: false, error: "function error (Unhandled): boom" });
    expect(invocation("c3", { status: "fulfilled", value: null })).toMatchObject({ ok: false });
    // A contender that stood by reports no `led`.
    expect(invocation("c4", { status: "fulfilled", value: { status: "ok" } })).toMatchObject({
      ok: true,
      result: { led: [] },
    });
  });

  it("the scheduled event carries the firing's instant in whole seconds", () => {
    expect(firingNow(Date.UTC(2026, 2, 1, 10, 17, 42, 512))).toBe("2026-03-01T10:17:42.000Z");
    expect(scheduledEvent("2026-03-01T10:17:00.000Z", "e1")).toMatchObject({
      time: "2026-03-01T10:17:00Z",
      "detail-type": "Scheduled Event",
      source: "aws.events",
    });
  });
});

describe("the verdict", () => {
  function report(overrides: Partial<PathReport> = {}): PathReport {
    return {
      options: { subscriptions: 2, contenders: 2, prefix: "r1", asOf: "2026-03-01T10:17:00.000Z" },
      invocations: [
        {
          contender: "c1",
          ok: true,
          result: { status: "ok", led: [{ shard: 0, fence: 2, outcome: "complete" }] },
        },
        { contender: "c2", ok: true, result: { status: "ok", led: [] } },
      ],
      invariants: {
        ok: true,
        violations: [],
        counts: {
          subscriptions: 2,
          chargeRecords: 2,
          succeededRecords: 2,
          providerSucceeded: 2,
          byState: { succeeded: 2 },
        },
      },
      strays: [],
      paymentIntents: 2,
      ...overrides,
    };
  }

  it("passes a clean run, with one leader for the shard", () => {
    expect(problems(report())).toEqual([]);
    expect(leadersByShard(report())).toEqual(new Map([[0, ["c1"]]]));
    const lines = summaryLines(report());
    expect(lines[0]).toBe(
      "2 contenders fired at once for 2026-03-01T10:17:00.000Z: c1 led shard 0 (fence 2, complete); c2 stood by",
    );
    expect(lines.at(-1)).toBe("PASS");
  });

  it("fails on a failed contender, an unfinished run, a violation, a stray, or a charge count off", () => {
    const bad = report({
      invocations: [
        { contender: "c1", ok: false, error: "function error (Unhandled): boom" },
        { contender: "c2", ok: true, result: { status: "dry-run", led: [] } },
      ],
      invariants: {
        ...report().invariants,
        violations: ["invariant 1: r1_00000@x charged 2 times (pi_1, pi_2)"],
      },
      strays: ["no stray PaymentIntents: pi_3 (r1_00001@y) is requires_confirmation, not canceled"],
    });
    const changed = {
      ...bad,
      invariants: { ...bad.invariants, counts: { ...bad.invariants.counts, providerSucceeded: 3 } },
    };
    expect(problems(changed)).toEqual([
      "c1 failed: function error (Unhandled): boom",
      'c2 ended with status "dry-run"',
      "invariant 1: r1_00000@x charged 2 times (pi_1, pi_2)",
      "no stray PaymentIntents: pi_3 (r1_00001@y) is requires_confirmation, not canceled",
      "3 successful charges at the provider for 2 subscriptions due (every seeded card succeeds: each should be charged once)",
    ]);
    const lines = summaryLines(changed);
    expect(lines).toContain("FAIL (5):");
    expect(lines).toContain("  - c1 failed: function error (Unhandled): boom");
  });
});

describe("the deployment's outputs and settings", () => {
  const outputs = {
    FunctionName: "LeaseBilling-BillingFunction-x",
    LeasesTableName: "leases-t",
    SubscriptionsTableName: "subscriptions-t",
    ChargesTableName: "charges-t",
    StripeSecretArn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-AbCdEf",
  };

  it("reads the function and its three tables from the outputs file", () => {
    expect(stackOutputs({ LeaseBilling: outputs, CDKToolkit: { BucketName: "b" } })).toEqual({
      outputs: {
        functionName: "LeaseBilling-BillingFunction-x",
        tables: { leases: "leases-t", subscriptions: "subscriptions-t", charges: "charges-t" },
      },
    });
    expect(stackOutputs({ A: outputs, B: outputs })).toEqual({
      problem: "expected one stack with a FunctionName output, found 2",
    });
    const { ChargesTableName: _, ...withoutCharges } = outputs;
    expect(stackOutputs({ LeaseBilling: withoutCharges })).toEqual({
      problem: "stack LeaseBilling does not name all three tables in its outputs",
    });
    expect(stackOutputs([1, 2])).toHaveProperty("problem");
  });

  it("tells from the function's environment which Stripe it calls, and how many shards it bills", () => {
    expect(stripeSideOf({})).toEqual({ kind: "test-mode" });
    expect(stripeSideOf({ STRIPE_API_HOST: "api.stripe.com" })).toEqual({ kind: "test-mode" });
    expect(
      stripeSideOf({
        STRIPE_API_HOST: "stripe-emulator",
        STRIPE_API_PORT: "12111",
        STRIPE_API_PROTOCOL: "http",
      }),
    ).toEqual({ kind: "emulator", functionCalls: "http://stripe-emulator:12111" });
    expect(shardCountOf({})).toBe(1);
    expect(shardCountOf({ SHARD_COUNT: "4" })).toBe(4);
    expect(() => shardCountOf({ SHARD_COUNT: "four" })).toThrow(/SHARD_COUNT/);
  });

  it("takes LocalStack's and the emulator's addresses from the environment, with the compose file's defaults", () => {
    expect(localStackSettings({})).toEqual({
      endpoint: "http://localhost:4566",
      region: "us-east-1",
      emulatorUrl: "http://127.0.0.1:12111",
      stripeKey: undefined,
      outputsFile: "cdk.out/localstack-outputs.json",
    });
    expect(
      localStackSettings({
        LOCALSTACK_ENDPOINT: "http://ls:4566",
        STRIPE_EMULATOR_URL: "http://e:1",
        AWS_REGION: "eu-west-1",
      }),
    ).toMatchObject({ endpoint: "http://ls:4566", emulatorUrl: "http://e:1", region: "eu-west-1" });
  });
});

describe("fire.sh's options", () => {
  it("takes the contenders as the first argument or a flag, and the subscriptions as a flag", () => {
    expect(parseFireArgs([])).toEqual({ kind: "run", options: { contenders: 3, subscriptions: 40 } });
    expect(parseFireArgs(["5"])).toEqual({ kind: "run", options: { contenders: 5, subscriptions: 40 } });
    expect(parseFireArgs(["--contenders", "2", "--subscriptions", "300"])).toEqual({
      kind: "run",
      options: { contenders: 2, subscriptions: 300 },
    });
    expect(parseFireArgs(["--help"])).toEqual({ kind: "help" });
  });

  it.each([
    [["0"], /--contenders must be a whole number from 1 to 5, got "0"/],
    [["6"], /--contenders must be/],
    [["--subscriptions", "2.5"], /--subscriptions must be/],
    [["3", "--contenders", "2"], /give the contenders once/],
    [["3", "4"], /unexpected 4/],
    [["--shards", "2"], /Unknown option '--shards'/],
  ])("refuses %j", (argv, message) => {
    const parsed = parseFireArgs(argv);
    expect(parsed.kind).toBe("usage-error");
    expect(parsed.kind === "usage-error" && parsed.message).toMatch(message);
  });
});

describe("a deployment that is not there", () => {
  let server: Server;
  let endpoint: string;
  let settings: LocalStackSettings;
  beforeAll(async () => {
    // Answers LocalStack's health check, and nothing else (no Lambda API behind it).
    server = createServer((req, res) => {
      res.writeHead(req.url === "/_localstack/health" ? 200 : 404, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    endpoint = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    settings = {
      ...localStackSettings({}),
      endpoint,
      outputsFile: join(mkdtempSync(join(tmpdir(), "ls-")), "o.json"),
    };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("is reported with the reason and what to do", async () => {
    // Nothing listens on port 9 of this machine.
    expect(await connectLocalStack({ ...settings, endpoint: "http://127.0.0.1:9" })).toEqual({
      unavailable: "LocalStack is not answering at http://127.0.0.1:9",
    });
    expect(await connectLocalStack(settings)).toEqual({
      unavailable: `${settings.outputsFile} is missing: run localstack/deploy.sh`,
    });
    writeFileSync(settings.outputsFile, JSON.stringify({ LeaseBilling: { FunctionName: "f" } }));
    expect(await connectLocalStack(settings)).toEqual({
      unavailable: `${settings.outputsFile}: stack LeaseBilling does not name all three tables in its outputs`,
    });
    writeFileSync(
      settings.outputsFile,
      JSON.stringify({
        LeaseBilling: {
          FunctionName: "f",
          LeasesTableName: "l",
          SubscriptionsTableName: "s",
          ChargesTableName: "c",
        },
      }),
    );
    const missing = await connectLocalStack(settings);
    expect("unavailable" in missing && missing.unavailable).toMatch(
      /^function f not found on LocalStack \(.*\): redeploy$/,
    );
  });
});

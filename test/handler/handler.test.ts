/**
 * The Lambda handler as the console and EventBridge call it, against DynamoDB Local and the emulator:
 * malformed events are refused before any lease or charge, dry runs change nothing, and the Stripe key
 * never reaches a log line, including on error paths.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Context } from "aws-lambda";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { scanAll } from "../../dev/invariants";
import { createTestTables, type TestTables } from "../support/dynamo";

const KEY = "sk_test_handlerSecretValue1234567890";
const AS_OF = "2026-11-23T12:00:00.000Z";
let tables: TestTables;
let emulator: StripeEmulator;

function context(): Context {
  return {
    awsRequestId: `req-${Math.random().toString(36).slice(2, 10)}`,
    getRemainingTimeInMillis: () => 120_000,
  } as unknown as Context;
}

function environment(extra: Record<string, string> = {}): Record<string, string> {
  const url = new URL(emulator.url);
  return {
    LEASE_TABLE_NAME: tables.names.leases,
    SUBSCRIPTIONS_TABLE_NAME: tables.names.subscriptions,
    CHARGES_TABLE_NAME: tables.names.charges,
    DYNAMODB_ENDPOINT: tables.endpoint,
    STRIPE_SECRET_KEY: KEY,
    STRIPE_API_HOST: url.hostname,
    STRIPE_API_PORT: url.port,
    STRIPE_API_PROTOCOL: "http",
    STOP_CLAIMING_MARGIN_MS: "1000",
    LEASE_DURATION_MS: "3000",
    LEASE_RENEW_INTERVAL_MS: "1000",
    LEASE_SAFETY_MARGIN_MS: "1000",
    STANDBY_POLL_MS: "100",
    LOG_LEVEL: "DEBUG",
    ...extra,
  };
}

/** A fresh handler module with `env` in place: its configuration is read once per (cold) environment. */
async function loadHandler(env: Record<string, string>) {
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  return (await import("../../functions/handler/index")).handler;
}

async function tableState() {
  return {
    leases: await scanAll(tables.doc, tables.names.leases),
    charges: await scanAll(tables.doc, tables.names.charges),
    subscriptions: await scanAll(tables.doc, tables.names.subscriptions),
  };
}

beforeAll(async () => {
  [tables, emulator] = await Promise.all([createTestTables("handler"), startStripeEmulator()]);
  await seedSubscriptions(
    tables.doc,
    tables.names,
    stripeClient(KEY, emulator.url),
    dueSubscriptions(5, AS_OF),
  );
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await emulator?.stop();
});

describe("malformed console events", () => {
  const malformed: [string, unknown, RegExp][] = [
    ["an empty object", {}, /action: is required/],
    ["wrong types", { action: "rerun", dryRun: "yes", maxCharges: "10" }, /dryRun: .*boolean.*maxCharges: /s],
    ["an unknown field", { action: "rerun", subscriptionId: "sub_1" }, /unknown field\(s\): subscriptionId/],
    [
      "a date that is not a date",
      { action: "rerun", asOf: "2026-13-45T99:00:00Z" },
      /asOf: must be an ISO-8601 date-time/,
    ],
    ["a negative limit", { action: "rerun", maxCharges: -5 }, /maxCharges: must be at least 1/],
    ["an empty id list", { action: "rerun", subscriptionIds: [] }, /subscriptionIds: must list at least one/],
    [
      "an asOf in the future",
      { action: "rerun", asOf: "2099-01-01T00:00:00Z" },
      /asOf: must not be in the future/,
    ],
    ["an unknown action", { action: "charge-everyone" }, /action: must be "rerun"/],
    [
      "a scheduled event without a time",
      { source: "aws.events", "detail-type": "Scheduled Event" },
      /time: is required/,
    ],
    ["not an object", "rerun", /must be a JSON object/],
  ];

  it.each(malformed)(
    "refuses %s, naming the field, with no table write and no Stripe request",
    async (_name, event, message) => {
      const handler = await loadHandler(environment());
      const before = await tableState();
      const requests = emulator.snapshot().requestCounts.total;
      await expect(handler(event, context())).rejects.toThrow(message);
      await expect(handler(event, context())).rejects.toMatchObject({ name: "InvalidEventError" });
      expect(await tableState()).toEqual(before);
      expect(emulator.snapshot().requestCounts.total).toBe(requests);
    },
  );
});

describe("dry run", () => {
  it("reports what would be charged and changes nothing", async () => {
    const handler = await loadHandler(environment());
    const before = await tableState();
    const requests = emulator.snapshot().requestCounts.total;
    const result = (await handler({ action: "rerun", asOf: AS_OF, dryRun: true }, context())) as {
      status: string;
      counts: { charge: number };
    };
    expect(result.status).toBe("dry-run");
    expect(result.counts.charge).toBe(5);
    expect(await tableState()).toEqual(before);
    expect(emulator.snapshot().requestCounts.total).toBe(requests);
  });
});

describe("the Stripe key", () => {
  it("never appears in the logs of a run, a rerun, or a failing run", async () => {
    let logs = "";
    const capture = (chunk: string | Uint8Array) => ((logs += chunk.toString()), true);
    const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
    const errors: string[] = [];
    try {
      const handler = await loadHandler(environment());
      await handler(
        { source: "aws.events", "detail-type": "Scheduled Event", time: AS_OF, id: "e1" },
        context(),
      );
      await handler({ action: "rerun", asOf: AS_OF }, context());
      await handler({ action: "rerun", nonsense: KEY }, context()).catch((e: Error) =>
        errors.push(e.message),
      );

      // Stripe failing on every request: the run fails or leaves charges in doubt; either way, no key.
      emulator.setFaults({ error500Rate: 1 });
      const broken = await loadHandler(environment({ SUBSCRIPTIONS_TABLE_NAME: tables.names.subscriptions }));
      await broken({ action: "rerun", asOf: AS_OF }, context()).catch((e: Error) => errors.push(e.message));
      emulator.setFaults({});

      // DynamoDB unreachable: the run fails.
      const unreachable = await loadHandler(environment({ DYNAMODB_ENDPOINT: "http://127.0.0.1:9" }));
      await unreachable({ action: "rerun", asOf: AS_OF }, context()).catch((e: Error) =>
        errors.push(e.message),
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain("run finished"); // the capture really saw the handler's logs
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(logs).not.toContain(KEY);
    for (const message of errors) expect(message).not.toContain(KEY);
  });
});

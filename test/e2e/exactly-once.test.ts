/**
 * The deployed artifact, not the source: the bundle `cdk synth` produced is loaded by plain `node`
 * from a directory with no node_modules, and its handler is invoked by three processes at once against
 * DynamoDB Local and the Stripe emulator, as three EventBridge targets would. Proves the bundle is
 * self-contained and bills exactly once (invariants 1, 2 and 5 of DESIGN.md).
 */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { checkInvariants } from "../../dev/invariants";
import { createTestTables, type TestTables } from "../support/dynamo";
import { synthesizeBundle } from "./synth";

const KEY = "sk_test_bundleInvoke";
const AS_OF = "2026-11-23T12:00:00.000Z";
let tables: TestTables;
let emulator: StripeEmulator;
let handlerFile: string;

beforeAll(async () => {
  // Synthesis bundles with esbuild: tens of seconds on a busy machine.
  ({ handlerFile } = await synthesizeBundle());
  [tables, emulator] = await Promise.all([createTestTables("bundle"), startStripeEmulator()]);
  await seedSubscriptions(
    tables.doc,
    tables.names,
    stripeClient(KEY, emulator.url),
    dueSubscriptions(40, AS_OF),
  );
});
afterAll(async () => {
  await emulator?.stop();
});

/** One invocation in its own process, like one Lambda environment. */
function invoke(
  handlerFile: string,
  env: Record<string, string>,
  id: string,
): Promise<Record<string, unknown>> {
  const script = `
    const { handler } = require(${JSON.stringify(handlerFile)});
    const event = { version: "0", id: ${JSON.stringify(id)}, "detail-type": "Scheduled Event", source: "aws.events",
      account: "123456789012", time: ${JSON.stringify(AS_OF)}, region: "us-east-1", resources: [], detail: {} };
    const deadline = Date.now() + 120000;
    const context = { awsRequestId: ${JSON.stringify(id)}, getRemainingTimeInMillis: () => deadline - Date.now() };
    handler(event, context).then(
      (result) => { process.stdout.write("RESULT " + JSON.stringify(result) + "\\n"); },
      (error) => { process.stdout.write("ERROR " + error.message + "\\n"); process.exitCode = 1; });`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["-e", script],
      { cwd: "/", env: { PATH: process.env.PATH ?? "", ...env }, timeout: 150_000 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        if (error || !line)
          return reject(new Error(`invocation ${id} failed: ${error?.message}\n${stdout}\n${stderr}`));
        resolve(JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>);
      },
    );
  });
}

it(
  "three processes invoking the synthesized bundle bill every due subscription exactly once",
  { timeout: 180_000 },
  async () => {
    const url = new URL(emulator.url);
    const env = {
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      LEASE_TABLE_NAME: tables.names.leases,
      SUBSCRIPTIONS_TABLE_NAME: tables.names.subscriptions,
      CHARGES_TABLE_NAME: tables.names.charges,
      DYNAMODB_ENDPOINT: tables.endpoint,
      STRIPE_SECRET_KEY: KEY,
      STRIPE_API_HOST: url.hostname,
      STRIPE_API_PORT: url.port,
      STRIPE_API_PROTOCOL: "http",
      STOP_CLAIMING_MARGIN_MS: "5000",
      STANDBY_POLL_MS: "200",
    };
    const results = await Promise.all(["a", "b", "c"].map((id) => invoke(handlerFile, env, `bundle-${id}`)));

    expect(results.every((r) => r.status === "ok")).toBe(true);
    const led = results.filter((r) => (r.led as unknown[]).length > 0);
    expect(led).toHaveLength(1);
    const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
    expect(invariants.violations).toEqual([]);
    expect(invariants.counts.providerSucceeded).toBe(40);
  },
);

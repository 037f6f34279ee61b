/**
 * The Lambda handler as the console and EventBridge call it, against DynamoDB Local and the Stripe
 * emulator over HTTP: a fresh handler module per environment (its configuration is read once per cold
 * start), the tables' whole state, and the handler's log lines.
 */
import { vi } from "vitest";
import type { Context } from "aws-lambda";
import { scanAll } from "../../dev/invariants";
import { seedSubscriptions, stripeClient, type SubscriptionSeed } from "../../dev/seed";
import { localLambdaContext } from "../../dev/lambda-context";
import type { TestTables } from "../support/dynamo";
import type { TablesAndEmulator } from "../support/emulator";

export const HANDLER_KEY = "sk_test_handlerSecretValue1234567890";

/** Seeds the stack's tables, with the customers and cards made in its emulator under HANDLER_KEY. */
export async function seedStack(stack: TablesAndEmulator, seeds: readonly SubscriptionSeed[]): Promise<void> {
  await seedSubscriptions(
    stack.tables.doc,
    stack.tables.names,
    stripeClient(HANDLER_KEY, stack.emulator.url),
    seeds,
  );
}

/** A Lambda context whose invocation has `remainingMs` left. */
export function lambdaContext(remainingMs = 120_000): Context {
  return localLambdaContext({
    functionName: "lease-billing-test",
    requestId: `req-${Math.random().toString(36).slice(2, 10)}`,
    remainingMs: () => remainingMs,
  });
}

/**
 * A Lambda context whose time runs out `budgetMs` after it is made, as a real invocation's does (a
 * leader stops claiming once less than STOP_CLAIMING_MARGIN_MS is left). `functionArn`: what invoked it.
 */
export function budgetContext(
  budgetMs: number,
  functionArn = "arn:aws:lambda:us-east-1:000000000000:function:lease-billing-test",
): Context {
  const deadline = performance.now() + budgetMs;
  return {
    ...lambdaContext(),
    invokedFunctionArn: functionArn,
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
  };
}

/** The function's environment on this stack; fast lease timings whose safety margin covers the timeout. */
export function handlerEnvironment(
  stack: TablesAndEmulator,
  extra: Record<string, string> = {},
): Record<string, string> {
  return functionEnvironment(stack.tables, new URL(stack.emulator.url), HANDLER_KEY, extra);
}

/** The function's environment for these tables and a Stripe at `url` (the emulator, or a stub). */
export function functionEnvironment(
  tables: TestTables,
  url: URL,
  key: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    LEASE_TABLE_NAME: tables.names.leases,
    SUBSCRIPTIONS_TABLE_NAME: tables.names.subscriptions,
    CHARGES_TABLE_NAME: tables.names.charges,
    DYNAMODB_ENDPOINT: tables.endpoint,
    STRIPE_SECRET_KEY: key,
    STRIPE_API_HOST: url.hostname,
    STRIPE_API_PORT: url.port,
    STRIPE_API_PROTOCOL: "http",
    STRIPE_TIMEOUT_MS: "1000",
    STOP_CLAIMING_MARGIN_MS: "1000",
    LEASE_DURATION_MS: "3000",
    LEASE_RENEW_INTERVAL_MS: "1000",
    LEASE_SAFETY_MARGIN_MS: "1000",
    STANDBY_POLL_MS: "100",
    LOG_LEVEL: "DEBUG",
    // No Lambda API to continue a run in; tests of continuation links give LAMBDA_ENDPOINT and a limit.
    MAX_CONTINUATION_LINKS: "0",
    ...extra,
  };
}

/** A fresh handler module with exactly `env` stubbed: its configuration is read once per cold start. */
export async function loadHandler(env: Record<string, string>) {
  vi.unstubAllEnvs();
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  return (await import("../../functions/handler/index")).handler;
}

/** Every item of every table, and the emulator's request count: what a refused event must not change. */
export async function stackState(stack: TablesAndEmulator) {
  const { doc, names } = stack.tables;
  return {
    leases: await scanAll(doc, names.leases),
    charges: await scanAll(doc, names.charges),
    subscriptions: await scanAll(doc, names.subscriptions),
    stripeRequests: stack.emulator.snapshot().requestCounts.total,
  };
}

/** Runs `fn` with everything written to stdout and stderr captured (the handler's JSON log lines). */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; output: string }> {
  let output = "";
  const capture = (chunk: string | Uint8Array) => ((output += chunk.toString()), true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    const result = await fn();
    return { result, output };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The JSON log lines in `output` (other text is skipped). */
export function logLines(output: string): Record<string, unknown>[] {
  return output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
        ? [Object.fromEntries(Object.entries(parsed))]
        : [];
    } catch {
      return [];
    }
  });
}

/** EventBridge's scheduled event, every field as EventBridge sends it. */
export function scheduledEvent(time: string, id = "e1") {
  return {
    version: "0",
    id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time,
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:123456789012:rule/lease-billing-schedule"],
    detail: {},
  };
}

/** The handler's outcome: its result, or the error it threw. */
export async function settle(promise: Promise<unknown>): Promise<{ result?: unknown; error?: Error }> {
  try {
    return { result: await promise };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/**
 * The function's settings: every bad value, and every combination that could never bill, is refused at
 * the start of an invocation with an InvalidInputError naming the environment variable (never an
 * internal field name, never a bare RangeError), before any lease or write.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { checkTimeBudget, readConfig } from "../../functions/handler/config";
import { InvalidInputError } from "../../functions/core/input-error";
import { MIN_WORKING_WINDOW_MS } from "../../functions/core/lease/lease-timings";
import { runSettings } from "../../functions/core/billing-run/run-config";
import { dueSubscriptions } from "../../dev/seed";
import {
  captureOutput,
  handlerEnvironment,
  lambdaContext,
  loadHandler,
  logLines,
  scheduledEvent,
  settle,
  stackState,
  seedStack,
} from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const KEY_ONLY = { STRIPE_SECRET_KEY: "sk_test_config" };
const INTERNAL_NAMES =
  /renewIntervalMs|safetyMarginMs|leaseDurationMs|pageSize|stopClaimingMarginMs|RangeError/;

/** The InvalidInputError readConfig throws for `env`, or a failure when it throws none. */
function refusal(env: Record<string, string>): InvalidInputError {
  try {
    readConfig({ ...KEY_ONLY, ...env });
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

const NUMERIC_VARIABLES = [
  "STRIPE_API_PORT",
  "STRIPE_ACCOUNT_REQUESTS_PER_SECOND",
  "STRIPE_TIMEOUT_MS",
  "STRIPE_MAX_NETWORK_RETRIES",
  "SHARD_COUNT",
  "BILLING_CONCURRENCY",
  "DUE_PAGE_SIZE",
  "LEASE_DURATION_MS",
  "LEASE_RENEW_INTERVAL_MS",
  "LEASE_SAFETY_MARGIN_MS",
  "STOP_CLAIMING_MARGIN_MS",
  "STANDBY_POLL_MS",
  "MAX_CONTINUATION_LINKS",
];

describe("readConfig", () => {
  it("accepts the defaults: the safety margin covers the Stripe timeout and leaves a working window", () => {
    const config = readConfig(KEY_ONLY);
    expect(config.lease.safetyMarginMs).toBeGreaterThanOrEqual(config.stripe.timeoutMs);
    const { leaseDurationMs, renewIntervalMs, safetyMarginMs } = config.lease;
    expect(leaseDurationMs - renewIntervalMs - safetyMarginMs).toBeGreaterThanOrEqual(MIN_WORKING_WINDOW_MS);
  });

  it.each(
    NUMERIC_VARIABLES.flatMap((name) =>
      ["abc", "-1", "1.5", "1e3", "0x10", "99999999999999999"].map((v) => [name, v]),
    ),
  )("refuses %s=%s naming the variable", (name, value) => {
    const error = refusal({ [name]: value });
    expect(error.field).toBe(name);
    expect(error.message.startsWith(`${name}: `)).toBe(true);
    expect(error.message).not.toMatch(INTERNAL_NAMES);
  });

  it.each([
    ["DUE_PAGE_SIZE", "0"],
    ["DUE_PAGE_SIZE", "1001"],
    ["SHARD_COUNT", "0"],
    ["BILLING_CONCURRENCY", "100000"],
    ["STANDBY_POLL_MS", "0"],
    ["STOP_CLAIMING_MARGIN_MS", "900001"],
    ["LEASE_DURATION_MS", "900001"],
    ["LEASE_DURATION_MS", "0"],
    ["STRIPE_API_PORT", "70000"],
    ["STRIPE_TIMEOUT_MS", "99"],
    ["MAX_CONTINUATION_LINKS", "1001"],
  ])("refuses %s=%s as out of range, naming the variable", (name, value) => {
    const error = refusal({ [name]: value });
    expect(error.field).toBe(name);
    expect(error.message).toMatch(/from \d+ to \d+|at most|positive/);
    expect(error.message).not.toMatch(INTERNAL_NAMES);
  });

  it("bounds continuation links per run (12 by default, 0 for none) and sends them where LAMBDA_ENDPOINT says", () => {
    expect(readConfig(KEY_ONLY).run.maxContinuationLinks).toBe(12);
    expect(readConfig({ ...KEY_ONLY, MAX_CONTINUATION_LINKS: "0" }).run.maxContinuationLinks).toBe(0);
    expect(readConfig(KEY_ONLY).lambdaEndpoint).toBeUndefined();
    expect(readConfig({ ...KEY_ONLY, LAMBDA_ENDPOINT: "http://127.0.0.1:9001" }).lambdaEndpoint).toBe(
      "http://127.0.0.1:9001",
    );
  });

  it.each([
    "127.0.0.1:9001",
    "ftp://host",
    "http://host/path",
    "http://user:pw@host",
    "http://host?x=1",
    "not a url",
  ])("refuses LAMBDA_ENDPOINT=%s, naming the variable", (value) => {
    const error = refusal({ LAMBDA_ENDPOINT: value });
    expect(error.field).toBe("LAMBDA_ENDPOINT");
    expect(error.message).toMatch(/must be an http\(s\) URL/);
  });

  it("takes the account's Stripe budget, and refuses the per-leader rate it replaced by name", () => {
    expect(readConfig(KEY_ONLY).stripe.accountRequestsPerSecond).toBe(25);
    expect(
      readConfig({ ...KEY_ONLY, STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "100" }).stripe.accountRequestsPerSecond,
    ).toBe(100);
    expect(refusal({ STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "0" }).field).toBe(
      "STRIPE_ACCOUNT_REQUESTS_PER_SECOND",
    );
    for (const value of ["20", "100"]) {
      const error = refusal({
        STRIPE_MAX_REQUESTS_PER_SECOND: value,
        STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "50",
      });
      expect(error.field).toBe("STRIPE_MAX_REQUESTS_PER_SECOND");
      expect(error.message).toMatch(/is no longer read: .*Set STRIPE_ACCOUNT_REQUESTS_PER_SECOND instead/);
    }
    // Set to nothing is not set.
    expect(readConfig({ ...KEY_ONLY, STRIPE_MAX_REQUESTS_PER_SECOND: " " })).toBeDefined();
  });

  it("keeps a 1 MB value out of the message", () => {
    const error = refusal({ DUE_PAGE_SIZE: "9".repeat(1_000_000) + "x" });
    expect(error.field).toBe("DUE_PAGE_SIZE");
    expect(error.message.length).toBeLessThan(200);
  });

  it("refuses a renewal interval as long as the lease, naming LEASE_RENEW_INTERVAL_MS", () => {
    const error = refusal({ LEASE_DURATION_MS: "20000", LEASE_RENEW_INTERVAL_MS: "20000" });
    expect(error.field).toBe("LEASE_RENEW_INTERVAL_MS");
    expect(error.message).toContain("LEASE_DURATION_MS");
    expect(error.message).not.toMatch(INTERNAL_NAMES);
  });

  it("refuses a safety margin that is nearly the whole lease: no working window is left", () => {
    const error = refusal({
      LEASE_DURATION_MS: "15000",
      LEASE_RENEW_INTERVAL_MS: "5000",
      LEASE_SAFETY_MARGIN_MS: "9900",
      STRIPE_TIMEOUT_MS: "5000",
    });
    expect(error.field).toBe("LEASE_SAFETY_MARGIN_MS");
    expect(error.message).toMatch(/LEASE_RENEW_INTERVAL_MS.*LEASE_SAFETY_MARGIN_MS.*LEASE_DURATION_MS/);
    expect(error.message).not.toMatch(INTERNAL_NAMES);
    const enough = { LEASE_DURATION_MS: "15000", LEASE_RENEW_INTERVAL_MS: "5000", STRIPE_TIMEOUT_MS: "5000" };
    expect(
      readConfig({ ...KEY_ONLY, ...enough, LEASE_SAFETY_MARGIN_MS: String(10_000 - MIN_WORKING_WINDOW_MS) }),
    ).toBeDefined();
  });

  it("refuses a safety margin shorter than the Stripe timeout, saying why", () => {
    const error = refusal({ LEASE_SAFETY_MARGIN_MS: "5000", STRIPE_TIMEOUT_MS: "5001" });
    expect(error.field).toBe("LEASE_SAFETY_MARGIN_MS");
    expect(error.message).toMatch(/at least STRIPE_TIMEOUT_MS \(5001\).*no Stripe request is started/);
    expect(
      readConfig({ ...KEY_ONLY, LEASE_SAFETY_MARGIN_MS: "5000", STRIPE_TIMEOUT_MS: "5000" }),
    ).toBeDefined();
  });

  it("accepts lease timings only when they leave a working window and cover the Stripe timeout", () => {
    const ms = fc.integer({ min: 1, max: 40_000 });
    fc.assert(
      fc.property(ms, ms, ms, fc.integer({ min: 100, max: 20_000 }), (lease, renew, margin, timeout) => {
        const env = {
          ...KEY_ONLY,
          LEASE_DURATION_MS: String(lease),
          LEASE_RENEW_INTERVAL_MS: String(renew),
          LEASE_SAFETY_MARGIN_MS: String(margin),
          STRIPE_TIMEOUT_MS: String(timeout),
        };
        const billable = lease - renew - margin >= MIN_WORKING_WINDOW_MS && margin >= timeout;
        try {
          readConfig(env);
          expect(billable).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
          if (!(error instanceof InvalidInputError)) return;
          expect(["LEASE_DURATION_MS", "LEASE_RENEW_INTERVAL_MS", "LEASE_SAFETY_MARGIN_MS"]).toContain(
            error.field,
          );
          expect(error.message).not.toMatch(INTERNAL_NAMES);
          expect(billable).toBe(false);
        }
      }),
    );
  });
});

describe("DECLINE_RETRY_DAYS", () => {
  it("names the variable and the smallest allowed delay for a delay under a second", () => {
    const error = refusal({ DECLINE_RETRY_DAYS: "0.00001" });
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.field).toBe("DECLINE_RETRY_DAYS");
    expect(error.message).toContain("at least 0.0000116 days");
    expect(readConfig({ ...KEY_ONLY, DECLINE_RETRY_DAYS: "0.0000116" }).run.retrySchedule.delaysMs).toEqual([
      1002,
    ]);
  });

  it.each(["abc", "1,,3", "-1", "1;3", "0", "367", "1e2", Array.from({ length: 21 }, () => "1").join(",")])(
    "refuses %s naming the variable",
    (value) => {
      const error = refusal({ DECLINE_RETRY_DAYS: value });
      expect(error.field).toBe("DECLINE_RETRY_DAYS");
      expect(error.message).not.toMatch(INTERNAL_NAMES);
    },
  );

  it("reads day counts, and an empty value as no retries", () => {
    expect(readConfig({ ...KEY_ONLY, DECLINE_RETRY_DAYS: " 1, 3 ,5" }).run.retrySchedule.delaysMs).toEqual([
      86_400_000, 259_200_000, 432_000_000,
    ]);
    expect(readConfig({ ...KEY_ONLY, DECLINE_RETRY_DAYS: "" }).run.retrySchedule.delaysMs).toEqual([]);
  });
});

describe("checkTimeBudget", () => {
  it("refuses a stop-claiming margin at or above the invocation's time, naming the variable", () => {
    const run = runSettings({ stopClaimingMarginMs: 30_000 });
    for (const remaining of [30_000, 29_999, 0]) {
      expect(() => checkTimeBudget(run, remaining)).toThrow(/^STOP_CLAIMING_MARGIN_MS: must be below/);
    }
    expect(() => checkTimeBudget(run, 30_001)).not.toThrow();
  });
});

describe("through the handler", () => {
  let stack: TablesAndEmulator;
  beforeAll(async () => {
    stack = await startTablesAndEmulator("config");
    // Due work: settings wrongly accepted would take the lease, write and charge.
    await seedStack(stack, dueSubscriptions(2, "2026-11-23T12:00:00.000Z"));
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await stack?.emulator.stop();
  });

  const refusals: [string, Record<string, string>, number][] = [
    ["LEASE_RENEW_INTERVAL_MS", { LEASE_RENEW_INTERVAL_MS: "3000" }, 120_000],
    ["LEASE_SAFETY_MARGIN_MS", { LEASE_SAFETY_MARGIN_MS: "1900" }, 120_000],
    ["LEASE_SAFETY_MARGIN_MS", { STRIPE_TIMEOUT_MS: "1500" }, 120_000],
    ["LEASE_DURATION_MS", { LEASE_DURATION_MS: "abc" }, 120_000],
    ["DUE_PAGE_SIZE", { DUE_PAGE_SIZE: "0" }, 120_000],
    ["DECLINE_RETRY_DAYS", { DECLINE_RETRY_DAYS: "0.00001" }, 120_000],
    ["STOP_CLAIMING_MARGIN_MS", { STOP_CLAIMING_MARGIN_MS: "60000" }, 60_000],
    ["STOP_CLAIMING_MARGIN_MS", { STOP_CLAIMING_MARGIN_MS: "90000" }, 60_000],
  ];

  it.each(refusals)(
    "refuses settings naming %s (%j), before any lease, write or Stripe request",
    async (name, extra, remainingMs) => {
      const handler = await loadHandler(handlerEnvironment(stack, extra));
      const before = await stackState(stack);
      const { result, output } = await captureOutput(() =>
        settle(handler(scheduledEvent("2026-11-23T12:00:00Z"), lambdaContext(remainingMs))),
      );
      expect(result.error).toMatchObject({ name: "InvalidInputError", field: name });
      expect(result.error?.message).not.toMatch(INTERNAL_NAMES);
      expect(await stackState(stack)).toEqual(before);
      const refused = logLines(output).find((line) => line.message === "settings refused");
      expect(refused?.error).toEqual(expect.stringContaining(`${name}: `));
    },
  );
});

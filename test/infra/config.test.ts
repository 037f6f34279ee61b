/**
 * Context parsing (lib/config.ts): defaults, values from cdk.json (JSON) and from `-c key=value` (strings),
 * and clear errors that name the context key.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULTS,
  FUNCTION_MARGINS,
  minFunctionTimeoutSeconds,
  readConfig,
  type BillingConfig,
  type FunctionMargins,
} from "../../lib/config";
import { DEFAULT_RUN_SETTINGS } from "../../functions/core/billing-run/run-config";
import { DEFAULT_LEASE_TIMINGS } from "../../functions/core/lease/lease-timings";

function config(context: Record<string, unknown>, now?: Date, margins?: FunctionMargins): BillingConfig {
  return readConfig((key) => context[key], now, margins);
}

describe("readConfig", () => {
  it("has documented defaults", () => {
    expect(config({})).toEqual({
      stackName: "LeaseBilling",
      contenders: 3,
      scheduleCron: "cron(0 * * * ? *)",
      shards: 1,
      functionTimeoutSeconds: 300,
      reservedConcurrency: 5,
      stripeAccountRequestsPerSecond: 25,
      logLevel: "INFO",
      stripeSecretArn: undefined,
      alarmEmail: undefined,
      noRunAlarmMinutes: 120,
      backlogAlarmMinutes: 120,
      maxContinuationLinks: 12,
    });
    expect(DEFAULTS.contenders).toBe(3);
  });

  it("reads numbers given as strings on the command line, and as JSON numbers in cdk.json", () => {
    expect(config({ contenders: "4", shards: 2 })).toMatchObject({ contenders: 4, shards: 2 });
    expect(config({ contenders: 5 }).contenders).toBe(5);
    // `-c contenders=` (empty) means unset.
    expect(config({ contenders: "" }).contenders).toBe(3);
  });

  it.each([0, 6, -1, 2.5, "three", true])(
    "rejects contenders = %j with a message naming the key",
    (value) => {
      expect(() => config({ contenders: value })).toThrow(
        /Invalid CDK context "contenders": must be a whole number from 1 to 5/,
      );
    },
  );

  it("reserves concurrency for the contenders plus console reruns, or none on request", () => {
    expect(config({ contenders: 5 }).reservedConcurrency).toBe(7);
    expect(config({ reservedConcurrency: "none" }).reservedConcurrency).toBeUndefined();
    expect(config({ reservedConcurrency: 10 }).reservedConcurrency).toBe(10);
    // Fewer than the contenders would throttle the schedule's own invocations.
    expect(() => config({ contenders: 4, reservedConcurrency: 3 })).toThrow(/"reservedConcurrency"/);
  });

  it("accepts a six-field EventBridge cron and rejects anything else", () => {
    expect(config({ scheduleCron: "cron(15 2 * * ? *)" }).scheduleCron).toBe("cron(15 2 * * ? *)");
    for (const bad of ["rate(1 hour)", "0 * * * *", "cron(0 * * * *)"]) {
      expect(() => config({ scheduleCron: bad })).toThrow(/"scheduleCron": must be an EventBridge cron/);
    }
  });

  it("bounds the timeout by Lambda's 15 minutes and the alarm window by CloudWatch's day", () => {
    expect(config({ functionTimeoutSeconds: "900" }).functionTimeoutSeconds).toBe(900);
    expect(() => config({ functionTimeoutSeconds: 901 })).toThrow(/"functionTimeoutSeconds"/);
    expect(() => config({ functionTimeoutSeconds: 30 })).toThrow(/"functionTimeoutSeconds"/);
    expect(() => config({ noRunAlarmMinutes: 1441 })).toThrow(/"noRunAlarmMinutes"/);
    expect(config({ backlogAlarmMinutes: "10080" }).backlogAlarmMinutes).toBe(10_080);
    expect(() => config({ backlogAlarmMinutes: 9 })).toThrow(/"backlogAlarmMinutes": must be a whole number/);
  });

  it("takes one Stripe budget for the whole account, and refuses the per-leader key it replaced", () => {
    expect(config({ stripeAccountRequestsPerSecond: "100" }).stripeAccountRequestsPerSecond).toBe(100);
    expect(() => config({ stripeAccountRequestsPerSecond: 0 })).toThrow(
      /"stripeAccountRequestsPerSecond": must be a whole number from 1 to 10000/,
    );
    expect(() => config({ stripeMaxRequestsPerSecond: 20 })).toThrow(
      /"stripeMaxRequestsPerSecond": is no longer read: .*Set stripeAccountRequestsPerSecond instead/,
    );
    // Set to nothing on the command line (`-c stripeMaxRequestsPerSecond=`) is not set at all.
    expect(config({ stripeMaxRequestsPerSecond: "" }).stripeAccountRequestsPerSecond).toBe(25);
  });

  it("takes only the complete ARN of an existing Stripe secret", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live-AbC123";
    expect(config({ stripeSecretArn: arn }).stripeSecretArn).toBe(arn);
    expect(() =>
      config({ stripeSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe" }),
    ).toThrow(/"stripeSecretArn": must be the complete ARN/);
  });

  it("validates the log level, the alarm email and the stack name", () => {
    expect(config({ logLevel: "debug" }).logLevel).toBe("DEBUG");
    expect(() => config({ logLevel: "TRACE" })).toThrow(
      /"logLevel": must be one of DEBUG, INFO, WARN, ERROR/,
    );
    expect(config({ alarmEmail: "ops@example.com" }).alarmEmail).toBe("ops@example.com");
    expect(() => config({ alarmEmail: "ops" })).toThrow(/"alarmEmail"/);
    expect(() => config({ stackName: "1bad name" })).toThrow(/"stackName"/);
  });
});

describe("functionTimeoutSeconds leaves time to bill", () => {
  const margins = { stopClaimingMarginMs: 30_000, leaseDurationMs: 15_000, safetyMarginMs: 5_000 };

  it("is at least the stop-claiming margin, plus one lease a standby may wait out, plus its safety margin", () => {
    // 30 s + 15 s + 5 s: 50 is the boundary, and it is accepted.
    expect(config({ functionTimeoutSeconds: 50 }, undefined, margins).functionTimeoutSeconds).toBe(50);
    expect(() => config({ functionTimeoutSeconds: 49 }, undefined, margins)).toThrow(
      /Invalid CDK context "functionTimeoutSeconds": must be at least 50 \(the function stops claiming work 30 s before its deadline.*got 49/,
    );
    // A timeout inside the stop-claiming margin, where nothing is ever claimed.
    expect(() => config({ functionTimeoutSeconds: "30" }, undefined, margins)).toThrow(/at least 50/);
  });

  it("rounds a margin sum up to the next whole second", () => {
    const uneven = { stopClaimingMarginMs: 30_001, leaseDurationMs: 15_000, safetyMarginMs: 5_000 };
    expect(minFunctionTimeoutSeconds(uneven)).toBe(51);
    expect(() => config({ functionTimeoutSeconds: 50 }, undefined, uneven)).toThrow(/at least 51/);
  });

  it("follows the margins the deployed function runs with: its own defaults", () => {
    // The function's defaults, not the figures above: 30 s to stop claiming, a 20 s lease, a 10 s margin.
    expect(FUNCTION_MARGINS).toEqual({
      stopClaimingMarginMs: DEFAULT_RUN_SETTINGS.stopClaimingMarginMs,
      leaseDurationMs: DEFAULT_LEASE_TIMINGS.leaseDurationMs,
      safetyMarginMs: DEFAULT_LEASE_TIMINGS.safetyMarginMs,
    });
    // docs/deploy.md states this number: a change to the function's margins must update it there.
    expect(minFunctionTimeoutSeconds()).toBe(60);
    expect(config({ functionTimeoutSeconds: 60 }).functionTimeoutSeconds).toBe(60);
    expect(() => config({ functionTimeoutSeconds: 59 })).toThrow(
      /Invalid CDK context "functionTimeoutSeconds": must be at least 60/,
    );
  });

  it("refuses every timeout when the margins leave none that Lambda allows", () => {
    const huge = { stopClaimingMarginMs: 890_000, leaseDurationMs: 15_000, safetyMarginMs: 5_000 };
    expect(() => config({}, undefined, huge)).toThrow(
      /"functionTimeoutSeconds": no timeout Lambda allows leaves time to bill/,
    );
  });
});

describe("scheduleCron fires", () => {
  const june2026 = new Date("2026-06-15T12:00:00Z");
  const cron = (scheduleCron: string, now = june2026) => config({ scheduleCron }, now).scheduleCron;

  it.each([
    "cron(0 * * * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0 9 ? * MON-FRI *)",
    "cron(0 9 ? * 6#3 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 31 * ? *)",
    "cron(0 0 29 2 ? *)",
    "cron(0 0 29 2 ? 2028)",
    "cron(0 0 1 JAN,JUL ? 2026-2030)",
    "cron(0 0 31 12 ? 2026)",
    "cron(0 0 ? * FRI-MON *)",
  ])("accepts %s, which fires", (expression) => {
    expect(cron(expression)).toBe(expression);
  });

  it.each([
    ["cron(0 0 30 2 ? *)", /never fires/],
    ["cron(0 0 31 4,6,9,11 ? *)", /never fires/],
    ["cron(0 0 29 2 ? 2027)", /never fires/],
    ["cron(0 0 1 1 ? 2020-2025)", /never fires/],
    ["cron(0 0 1 1 ? 2025)", /never fires/],
    ["cron(60 * * * ? *)", /minutes "60" is not a value from 0 to 59/],
    ["cron(0 24 * * ? *)", /hours "24"/],
    ["cron(0 0 0 * ? *)", /day-of-month "0"/],
    ["cron(0 0 1 13 ? *)", /month "13"/],
    ["cron(0 0 ? * 8 *)", /day-of-week "8"/],
    ["cron(0 0 1 1 ? 2200)", /year "2200"/],
    ["cron(0/0 * * * ? *)", /step of 0/],
    ["cron(x * * * ? *)", /minutes "x"/],
    ["cron(0 0 * * * *)", /exactly one of day-of-month and day-of-week/],
    ["cron(0 0 1 * MON *)", /exactly one of day-of-month and day-of-week/],
    ["cron(0 0 ? * ? *)", /exactly one of day-of-month and day-of-week/],
  ])("refuses %s, naming the key", (expression, problem) => {
    expect(() => cron(expression)).toThrow(/Invalid CDK context "scheduleCron"/);
    expect(() => cron(expression)).toThrow(problem);
  });

  it("judges past years by the time of synthesis", () => {
    expect(cron("cron(0 0 31 12 ? 2026)", june2026)).toBe("cron(0 0 31 12 ? 2026)");
    expect(() => cron("cron(0 0 31 12 ? 2026)", new Date("2027-01-01T00:00:00Z"))).toThrow(/never fires/);
  });
});

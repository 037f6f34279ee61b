/**
 * Context parsing (lib/config.ts): defaults, values from cdk.json (JSON) and from `-c key=value` (strings),
 * and clear errors that name the context key.
 */
import { describe, expect, it } from "vitest";
import { DEFAULTS, readConfig, type BillingConfig } from "../../lib/config";

function config(context: Record<string, unknown>): BillingConfig {
  return readConfig((key) => context[key]);
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
      stripeMaxRequestsPerSecond: 20,
      logLevel: "INFO",
      stripeSecretArn: undefined,
      alarmEmail: undefined,
      noRunAlarmMinutes: 120,
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

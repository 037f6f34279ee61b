/**
 * The schedule: one rule, one Lambda target per contender (the same function each time), the scheduled
 * event passed unchanged, retries and a dead letter queue on every target.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

interface Target {
  Id: string;
  Arn: unknown;
  Input?: unknown;
  InputPath?: unknown;
  InputTransformer?: unknown;
  RetryPolicy?: unknown;
  DeadLetterConfig?: unknown;
}
const rule = (s: Synthesized) => onlyResource(s.template, "AWS::Events::Rule");
const targets = (s: Synthesized) => rule(s).properties.Targets as Target[];
const functionId = (s: Synthesized) => onlyResource(s.template, "AWS::Lambda::Function").logicalId;
const dlqId = (s: Synthesized) =>
  Object.keys(s.template.findResources("AWS::SQS::Queue")).find((id) =>
    id.startsWith("ScheduleDeadLetterQueue"),
  )!;

describe("schedule", () => {
  it("fires hourly by default, on the configured cron otherwise", () => {
    expect(rule(defaults).properties.ScheduleExpression).toBe("cron(0 * * * ? *)");
    expect(rule(defaults).properties.State).toBe("ENABLED");
    const daily = synthesize({ scheduleCron: "cron(30 2 * * ? *)" });
    expect(rule(daily).properties.ScheduleExpression).toBe("cron(30 2 * * ? *)");
  });

  it("starts three contenders by default: three targets, all the billing function", () => {
    expect(targets(defaults)).toHaveLength(3);
    for (const target of targets(defaults)) {
      expect(target.Arn).toEqual({ "Fn::GetAtt": [functionId(defaults), "Arn"] });
    }
    expect(new Set(targets(defaults).map((t) => t.Id)).size).toBe(3);
  });

  it.each([1, 5])("starts %i contenders when asked", (contenders) => {
    expect(targets(synthesize({ contenders }))).toHaveLength(contenders);
  });

  it.each([6, 0, 2.5])(
    "rejects %j contenders with an error that names the key and the limit",
    (contenders) => {
      expect(() => synthesize({ contenders })).toThrow(
        /Invalid CDK context "contenders": must be a whole number from 1 to 5/,
      );
    },
  );

  it.each(["cron(0 0 30 2 ? *)", "cron(0 0 1 1 ? 2020)", "cron(0 0 * * * *)"])(
    "refuses %s, which never starts a run, naming the key",
    (scheduleCron) => {
      expect(() => synthesize({ scheduleCron })).toThrow(/Invalid CDK context "scheduleCron"/);
    },
  );

  it("passes the scheduled event unchanged: the function bills as of its time", () => {
    for (const target of targets(defaults)) {
      expect(target.Input).toBeUndefined();
      expect(target.InputPath).toBeUndefined();
      expect(target.InputTransformer).toBeUndefined();
    }
  });

  it("retries delivery for up to an hour, then puts the event in the schedule's dead letter queue", () => {
    for (const target of targets(defaults)) {
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 });
      expect(target.DeadLetterConfig).toEqual({ Arn: { "Fn::GetAtt": [dlqId(defaults), "Arn"] } });
    }
  });

  it("lets only this rule write to the dead letter queue and invoke the function", () => {
    const ruleArn = { "Fn::GetAtt": [rule(defaults).logicalId, "Arn"] };
    defaults.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: dlqId(defaults) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
          }),
        ]),
      },
    });
    const permission = onlyResource(defaults.template, "AWS::Lambda::Permission").properties;
    expect(permission).toMatchObject({
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      SourceArn: ruleArn,
      FunctionName: { "Fn::GetAtt": [functionId(defaults), "Arn"] },
    });
  });
});

/**
 * cdk-nag (AWS Solutions): no finding goes unacknowledged, and every acknowledgment says why.
 *
 * cdk-nag 3 is a CDK policy validation plugin rather than an aspect, so its findings are not annotations:
 * they are read from the pack's own report (`validateScope`), and synthesis fails on them (checked here
 * and by the CLI synth test).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Validations } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { synthesize, type Synthesized } from "./fixture";

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

function findings(scope: IConstruct) {
  return new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope).violations;
}

/** Every acknowledgment in the tree: the rule id and the reason given. */
function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ""),
          reason,
        })),
      ),
  );
}

describe("cdk-nag AWS Solutions checks", () => {
  it("find nothing unacknowledged, neither errors nor warnings", () => {
    const report = findings(defaults.stack);
    expect(report.filter((v) => v.severity === "error")).toEqual([]);
    expect(report.filter((v) => v.severity === "warning")).toEqual([]);
    expect(report).toEqual([]);
  });

  it("stay clean with every context option set", () => {
    const everything = synthesize({
      contenders: 5,
      shards: 4,
      alarmEmail: "ops@example.com",
      stripeSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live-AbC123",
      reservedConcurrency: "none",
    });
    expect(findings(everything.stack)).toEqual([]);
  });

  it("do report what is not acknowledged (the check above is not vacuous)", () => {
    const { stack } = synthesize();
    new Queue(stack, "Unguarded");
    const ruleNames = findings(stack).map((v) => v.ruleName);
    expect(ruleNames).toEqual(expect.arrayContaining(["AwsSolutions-SQS3", "AwsSolutions-SQS4"]));
  });

  it("are registered on the app, so a finding fails the synthesis", () => {
    const { app, stack } = synthesize();
    new Queue(stack, "Unguarded");
    expect(() => app.synth({ force: true })).toThrow(/AwsSolutions-SQS3/);
  });

  it("leave no CDK warnings or errors on the stack", () => {
    expect(Annotations.fromStack(defaults.stack).findError("*", Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(defaults.stack).findWarning("*", Match.anyValue())).toEqual([]);
  });
});

describe("acknowledged findings", () => {
  it("are exactly the reviewed ones", () => {
    expect(
      acknowledgments(defaults.stack)
        .map(({ path, id }) => `${path}: ${id}`)
        .sort(),
    ).toEqual([
      "LeaseBilling/Billing/FailureQueue: AwsSolutions-SQS3",
      "LeaseBilling/Billing/Role: AwsSolutions-IAM5[Resource::*]",
      "LeaseBilling/Schedule/DeadLetterQueue: AwsSolutions-SQS3",
      "LeaseBilling/StripeSecret: AwsSolutions-SMG4",
    ]);
  });

  it("each say why, at some length", () => {
    for (const { path, id, reason } of acknowledgments(defaults.stack)) {
      expect(reason.length, `${path}: ${id}`).toBeGreaterThanOrEqual(60);
    }
  });
});

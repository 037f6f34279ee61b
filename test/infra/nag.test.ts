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
import { Policy, PolicyStatement, type CfnPolicy } from "aws-cdk-lib/aws-iam";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { XRAY_ACTIONS } from "../../lib/constructs/billing-function";
import type { BillingStack } from "../../lib/billing-stack";
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
      "LeaseBilling/Billing/TracingPolicy: AwsSolutions-IAM5[Resource::*]",
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

describe("the IAM5 (wildcard) acknowledgment", () => {
  it("is on the X-Ray policy alone, which holds X-Ray's statement and nothing else", () => {
    const iam5 = acknowledgments(defaults.stack).filter(({ id }) => id.startsWith("AwsSolutions-IAM5"));
    expect(iam5.map(({ path, id }) => `${path}: ${id}`)).toEqual([
      "LeaseBilling/Billing/TracingPolicy: AwsSolutions-IAM5[Resource::*]",
    ]);
    const tracing = defaults.stack.billing.node.findChild("TracingPolicy") as Policy;
    const logicalId = defaults.stack.getLogicalId(tracing.node.defaultChild as CfnPolicy);
    const resources = defaults.template.toJSON().Resources as Record<string, { Properties: object }>;
    // One statement: toMatchObject matches arrays element for element, length included.
    expect(resources[logicalId]!.Properties).toMatchObject({
      PolicyDocument: {
        Statement: [{ Sid: "XRay", Effect: "Allow", Action: [...XRAY_ACTIONS].sort(), Resource: "*" }],
      },
    });
  });

  const role = (stack: BillingStack) => stack.billing.function.role!;
  const wildcard = (actions: string[], resources: string[]) => new PolicyStatement({ actions, resources });

  it.each<[string, (stack: BillingStack) => void, string, string]>([
    [
      "a '*' resource in the role's own policy",
      (stack) => role(stack).addToPrincipalPolicy(wildcard(["s3:GetObject"], ["*"])),
      "AwsSolutions-IAM5[Resource::*]",
      "LeaseBilling/Billing/Role/DefaultPolicy/Resource",
    ],
    [
      "X-Ray's very statement, elsewhere than its own policy",
      (stack) => role(stack).addToPrincipalPolicy(wildcard([...XRAY_ACTIONS], ["*"])),
      "AwsSolutions-IAM5[Resource::*]",
      "LeaseBilling/Billing/Role/DefaultPolicy/Resource",
    ],
    [
      "a wildcard action",
      (stack) =>
        role(stack).addToPrincipalPolicy(wildcard(["dynamodb:*"], [stack.tables.all[0]!.table.tableArn])),
      "AwsSolutions-IAM5[Action::dynamodb:*]",
      "LeaseBilling/Billing/Role/DefaultPolicy/Resource",
    ],
    [
      "a '*' in another policy on the role",
      (stack) =>
        new Policy(stack.billing, "Extra", {
          roles: [role(stack)],
          statements: [wildcard(["sqs:SendMessage"], ["*"])],
        }),
      "AwsSolutions-IAM5[Resource::*]",
      "LeaseBilling/Billing/Extra/Resource",
    ],
  ])("does not cover %s: cdk-nag reports it", (_, change, rule, path) => {
    const { stack } = synthesizeUnchecked(change);
    const finding = findings(stack).find((v) => v.ruleName === rule);
    expect(finding?.violatingResources.map((r) => r.constructPath)).toEqual([path]);
  });
});

/**
 * The app with `change` made, its findings not yet checked: cdk-nag runs at synthesis and would refuse
 * it there, which is what the tests above look at.
 */
function synthesizeUnchecked(change: (stack: BillingStack) => void): { stack: BillingStack } {
  let changed: BillingStack | undefined;
  try {
    synthesize({}, (stack) => {
      changed = stack;
      change(stack);
    });
  } catch (error) {
    // The synthesis is refused for the finding this test then names; anything else is a real failure.
    if (!(error instanceof Error) || !/AwsSolutions-IAM5/.test(error.message)) throw error;
  }
  return { stack: changed! };
}

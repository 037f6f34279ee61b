/**
 * The alarms: each one, the metric it watches (for the handler's metrics: the exact names, namespace and
 * `service` dimension of functions/observability/metric-names.ts), and the encrypted topic they notify.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

const alarm = (s: Synthesized, name: string) =>
  onlyResource(s.template, "AWS::CloudWatch::Alarm", (p) => p.AlarmName === `LeaseBilling-${name}`)
    .properties;
const topicId = (s: Synthesized) => onlyResource(s.template, "AWS::SNS::Topic").logicalId;
const functionId = (s: Synthesized) => onlyResource(s.template, "AWS::Lambda::Function").logicalId;
const queueId = (s: Synthesized, prefix: string) =>
  Object.keys(s.template.findResources("AWS::SQS::Queue")).find((id) => id.startsWith(prefix))!;
const serviceDimension = [{ Name: "service", Value: SERVICE_NAME }];
const anyAbove0 = { Threshold: 0, ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: 1 };

describe("alarms", () => {
  it("fire on any failed invocation of the function", () => {
    expect(alarm(defaults, "FunctionErrors")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId(defaults) } }],
      Statistic: "Sum",
      ...anyAbove0,
      TreatMissingData: "notBreaching",
    });
  });

  it("fire on any throttled invocation", () => {
    expect(alarm(defaults, "FunctionThrottles")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Throttles",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: functionId(defaults) } }],
      ...anyAbove0,
    });
  });

  it.each([
    ["FailedInvocations", "BillingFailureQueue"],
    ["UndeliveredSchedules", "ScheduleDeadLetterQueue"],
  ])("%s fires when %s holds a message", (name, queue) => {
    expect(alarm(defaults, name)).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId(defaults, queue), "QueueName"] } }],
      Statistic: "Maximum",
      ...anyAbove0,
      TreatMissingData: "notBreaching",
    });
  });

  it("fire on any charge whose outcome at Stripe is unknown", () => {
    expect(alarm(defaults, "ChargesInDoubt")).toEqual(
      expect.objectContaining({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.chargesInDoubt,
        Dimensions: serviceDimension,
        Statistic: "Sum",
        ...anyAbove0,
        TreatMissingData: "notBreaching",
      }),
    );
  });

  it("fire when the sweep finds subscriptions no run could reach", () => {
    expect(alarm(defaults, "UnreachableSubscriptions")).toEqual(
      expect.objectContaining({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.unreachableSubscriptions,
        Dimensions: serviceDimension,
        Statistic: "Sum",
        ...anyAbove0,
        TreatMissingData: "notBreaching",
      }),
    );
  });

  it("fire when no run completed within the window, silence included", () => {
    expect(alarm(defaults, "BillingStopped")).toEqual(
      expect.objectContaining({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.runCompleted,
        Dimensions: serviceDimension,
        Statistic: "Sum",
        Period: 7200,
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "breaching",
      }),
    );
    expect(alarm(synthesize({ noRunAlarmMinutes: 1440 }), "BillingStopped").Period).toBe(86_400);
  });

  it("fire when, after a run, the oldest due renewal has waited longer than the configured age", () => {
    expect(alarm(defaults, "BacklogBehind")).toEqual(
      expect.objectContaining({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.oldestDueAge,
        Dimensions: serviceDimension,
        Statistic: "Maximum",
        Period: 300,
        Threshold: 120 * 60,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
        // Measured only after runs: between them the last state stands.
        TreatMissingData: "ignore",
      }),
    );
    expect(alarm(synthesize({ backlogAlarmMinutes: "30" }), "BacklogBehind").Threshold).toBe(1800);
  });

  it("watch only metrics the handler emits, under its namespace and service dimension", () => {
    const emitted = new Set<string>(Object.values(METRIC));
    const custom = Object.values(defaults.template.findResources("AWS::CloudWatch::Alarm"))
      .map((a) => a.Properties as Record<string, unknown>)
      .filter((p) => !String(p.Namespace).startsWith("AWS/"));
    expect(custom).toHaveLength(4);
    for (const properties of custom) {
      expect(properties.Namespace).toBe(METRICS_NAMESPACE);
      expect(emitted.has(String(properties.MetricName))).toBe(true);
      expect(properties.Dimensions).toEqual(serviceDimension);
    }
  });

  it("all notify the alarm topic", () => {
    const alarms = Object.values(defaults.template.findResources("AWS::CloudWatch::Alarm"));
    expect(alarms).toHaveLength(8);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId(defaults) }]);
  });
});

describe("alarm topic", () => {
  it("is encrypted with a rotated customer managed key that CloudWatch may use", () => {
    const key = onlyResource(defaults.template, "AWS::KMS::Key");
    expect(onlyResource(defaults.template, "AWS::SNS::Topic").properties.KmsMasterKeyId).toEqual({
      "Fn::GetAtt": [key.logicalId, "Arn"],
    });
    expect(key.properties.EnableKeyRotation).toBe(true);
    const statements = (key.properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual({
      Sid: "CloudWatchAlarmsPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
    });
  });

  it("lets CloudWatch use the key only on behalf of this account's alarms", () => {
    const key = onlyResource(defaults.template, "AWS::KMS::Key");
    const statements = (key.properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    const forCloudWatch = statements.filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: "cloudwatch.amazonaws.com" }),
    );
    expect(forCloudWatch).toHaveLength(1);
    for (const statement of forCloudWatch) {
      expect(statement.Condition).toEqual({
        StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
      });
    }
    // The other statement is the account's own administration of its key (CDK's default), not a service's.
    expect(statements.filter((s) => !forCloudWatch.includes(s)).map((s) => s.Principal)).toEqual([
      {
        AWS: {
          "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::", { Ref: "AWS::AccountId" }, ":root"]],
        },
      },
    ]);
  });

  it("accepts only TLS, and publishing by this account's CloudWatch alarms", () => {
    const policy = onlyResource(defaults.template, "AWS::SNS::TopicPolicy").properties;
    const statements = (policy.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
      }),
    );
  });

  it("has an email subscription only when alarmEmail is set", () => {
    defaults.template.resourceCountIs("AWS::SNS::Subscription", 0);
    const withEmail = synthesize({ alarmEmail: "ops@example.com" });
    expect(onlyResource(withEmail.template, "AWS::SNS::Subscription").properties).toMatchObject({
      Protocol: "email",
      Endpoint: "ops@example.com",
      TopicArn: { Ref: topicId(withEmail) },
    });
  });
});

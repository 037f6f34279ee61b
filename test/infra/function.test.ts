/**
 * The billing function: runtime, architecture, limits, environment, tracing, logs, what happens to its
 * failed invocations, and a role that can do what the job does and nothing more.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Match } from "aws-cdk-lib/assertions";
import { ALL_TABLES } from "../../functions/schema/tables";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

const billingFunction = (s: Synthesized) => onlyResource(s.template, "AWS::Lambda::Function");
const tableId = (s: Synthesized, specId: string) =>
  Object.keys(s.template.findResources("AWS::DynamoDB::Table")).find((id) =>
    id.startsWith(`Tables${specId}`),
  )!;

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
function roleStatements(s: Synthesized): Statement[] {
  const role = onlyResource(s.template, "AWS::IAM::Role");
  const policies = Object.values(
    s.template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: Match.arrayWith([{ Ref: role.logicalId }]) },
    }),
  );
  const inline =
    (role.properties.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? [];
  return [
    ...policies.map((p) => p.Properties.PolicyDocument),
    ...inline.map((p) => p.PolicyDocument),
  ].flatMap((document: { Statement: Statement[] }) => document.Statement);
}
const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();

describe("billing function", () => {
  it("runs the bundled handler on Node.js 24, arm64, 512 MB, with the configured timeout", () => {
    const { properties } = billingFunction(defaults);
    expect(properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 512,
      Timeout: 300,
      TracingConfig: { Mode: "Active" },
    });
    expect(billingFunction(synthesize({ functionTimeoutSeconds: 600 })).properties.Timeout).toBe(600);
  });

  it("reserves concurrency for the contenders plus two console reruns", () => {
    expect(billingFunction(defaults).properties.ReservedConcurrentExecutions).toBe(5);
    expect(billingFunction(synthesize({ contenders: 5 })).properties.ReservedConcurrentExecutions).toBe(7);
    expect(
      billingFunction(synthesize({ reservedConcurrency: "none" })).properties.ReservedConcurrentExecutions,
    ).toBeUndefined();
  });

  it("gets the table names, the secret, the shard count, the rate limit and the telemetry settings", () => {
    const variables = (
      billingFunction(defaults).properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    const secret = onlyResource(defaults.template, "AWS::SecretsManager::Secret");
    expect(variables).toEqual({
      ...Object.fromEntries(ALL_TABLES.map((spec) => [spec.envVar, { Ref: tableId(defaults, spec.id) }])),
      STRIPE_SECRET_ARN: { Ref: secret.logicalId },
      SHARD_COUNT: "1",
      STRIPE_MAX_REQUESTS_PER_SECOND: "20",
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: "INFO",
      NODE_OPTIONS: "--enable-source-maps",
    });
    const tuned = synthesize({ shards: "4", stripeMaxRequestsPerSecond: 80, logLevel: "debug" });
    expect(
      (billingFunction(tuned).properties.Environment as { Variables: Record<string, unknown> }).Variables,
    ).toMatchObject({ SHARD_COUNT: "4", STRIPE_MAX_REQUESTS_PER_SECOND: "80", LOG_LEVEL: "DEBUG" });
  });

  it("logs to its own log group, kept 90 days and retained with the stack", () => {
    const logGroup = onlyResource(defaults.template, "AWS::Logs::LogGroup");
    expect(logGroup.properties.RetentionInDays).toBe(90);
    expect(logGroup.resource.DeletionPolicy).toBe("Retain");
    expect(billingFunction(defaults).properties.LoggingConfig).toEqual({
      LogGroup: { Ref: logGroup.logicalId },
    });
  });

  it("does not retry failed async invocations, and sends them to an encrypted, TLS-only failure queue", () => {
    const fn = billingFunction(defaults);
    const config = onlyResource(defaults.template, "AWS::Lambda::EventInvokeConfig").properties;
    const queueId = Object.keys(defaults.template.findResources("AWS::SQS::Queue")).find((id) =>
      id.startsWith("BillingFailureQueue"),
    )!;
    expect(config).toEqual({
      FunctionName: { Ref: fn.logicalId },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [queueId, "Arn"] } } },
    });
  });

  it("has dead letter queues that are encrypted, TLS-only and keep messages 14 days", () => {
    const queues = defaults.template.findResources("AWS::SQS::Queue");
    // The function's failure queue and the schedule's dead letter queue.
    expect(Object.keys(queues)).toHaveLength(2);
    for (const [queueId, queue] of Object.entries(queues)) {
      expect(queue.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
      });
      defaults.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });
});

describe("billing function role", () => {
  it("uses no managed policies", () => {
    expect(onlyResource(defaults.template, "AWS::IAM::Role").properties.ManagedPolicyArns).toBeUndefined();
  });

  it("may read and conditionally write the three tables, and nothing more", () => {
    const statements = roleStatements(defaults).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    const tables = statements.find((s) => s.Sid === "BillingTables")!;
    expect(actionsOf(tables).sort()).toEqual([
      "dynamodb:ConditionCheckItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(resourcesOf(tables)).toEqual(
      expect.arrayContaining(
        ALL_TABLES.map((spec) => ({ "Fn::GetAtt": [tableId(defaults, spec.id), "Arn"] })),
      ),
    );
    expect(resourcesOf(tables)).toHaveLength(ALL_TABLES.length);
  });

  it("may query exactly the indexes of the specs, by name", () => {
    const indexes = roleStatements(defaults).find((s) => s.Sid === "BillingIndexes")!;
    expect(actionsOf(indexes)).toEqual(["dynamodb:Query"]);
    const expected = ALL_TABLES.flatMap((spec) =>
      spec.indexes.map((index) => ({
        "Fn::Join": [
          "",
          [{ "Fn::GetAtt": [tableId(defaults, spec.id), "Arn"] }, `/index/${index.indexName}`],
        ],
      })),
    );
    expect(resourcesOf(indexes)).toHaveLength(expected.length);
    expect(resourcesOf(indexes)).toEqual(expect.arrayContaining(expected));
  });

  it("has no DynamoDB wildcard: no '*' resource, no Scan, no dynamodb:*, no deletes or batch writes", () => {
    const dynamo = roleStatements(defaults).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamo.length).toBeGreaterThan(0);
    for (const statement of dynamo) {
      expect(JSON.stringify(resourcesOf(statement))).not.toMatch(/"\*"|index\/\*/);
      for (const forbidden of [
        "dynamodb:Scan",
        "dynamodb:*",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
      ]) {
        expect(actionsOf(statement)).not.toContain(forbidden);
      }
    }
  });

  it("may use '*' only for X-Ray, which has no resource-level permissions", () => {
    const starred = roleStatements(defaults).filter((s) => resourcesOf(s).includes("*"));
    expect(starred.flatMap(actionsOf).sort()).toEqual(["xray:PutTelemetryRecords", "xray:PutTraceSegments"]);
  });

  it("may read the stack's Stripe secret and write its own logs", () => {
    const statements = roleStatements(defaults);
    const secret = onlyResource(defaults.template, "AWS::SecretsManager::Secret");
    const read = statements.find((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))!;
    expect(resourcesOf(read)).toEqual([{ Ref: secret.logicalId }]);
    expect(
      actionsOf(read).every((a) =>
        ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"].includes(a),
      ),
    ).toBe(true);
    const logs = statements.find((s) => actionsOf(s).includes("logs:PutLogEvents"))!;
    const logGroup = onlyResource(defaults.template, "AWS::Logs::LogGroup");
    expect(resourcesOf(logs)).toEqual([{ "Fn::GetAtt": [logGroup.logicalId, "Arn"] }]);
  });
});

describe("Stripe secret", () => {
  it("is created empty: no value in the template, none generated that could overwrite the operator's key", () => {
    const secret = onlyResource(defaults.template, "AWS::SecretsManager::Secret").properties;
    expect(secret.SecretString).toBeUndefined();
    expect(secret.GenerateSecretString).toBeUndefined();
    expect(defaults.template.findOutputs("StripeSecretArn").StripeSecretArn).toBeDefined();
  });

  it("can be an existing secret named by ARN, which is then the only secret the function may read", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stripe/live-AbC123";
    const imported = synthesize({ stripeSecretArn: arn });
    imported.template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const read = roleStatements(imported).find((s) =>
      actionsOf(s).includes("secretsmanager:GetSecretValue"),
    )!;
    expect(resourcesOf(read)).toEqual([arn]);
    expect(
      (billingFunction(imported).properties.Environment as { Variables: Record<string, unknown> }).Variables
        .STRIPE_SECRET_ARN,
    ).toBe(arn);
  });
});

describe("outputs", () => {
  it("name the function, the secret and the alarm topic", () => {
    const outputs = defaults.template.findOutputs("*");
    expect(outputs.FunctionName?.Value).toEqual({ Ref: billingFunction(defaults).logicalId });
    expect(outputs.StripeSecretArn?.Value).toEqual({
      Ref: onlyResource(defaults.template, "AWS::SecretsManager::Secret").logicalId,
    });
    expect(outputs.AlarmTopicArn?.Value).toEqual({
      Ref: onlyResource(defaults.template, "AWS::SNS::Topic").logicalId,
    });
  });
});

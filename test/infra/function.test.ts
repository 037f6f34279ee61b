/**
 * The billing function: runtime, architecture, limits, environment, tracing, logs, what happens to its
 * failed invocations, and a role that can do what the job does and nothing more.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { Policy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { ALL_TABLES, CHARGE_TABLE, SUBSCRIPTION_TABLE } from "../../functions/schema/tables";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import { TABLE_ACCESS } from "../../lib/constructs/billing-function";
import type { BillingStack } from "../../lib/billing-stack";
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
  Action?: string | string[];
  Resource?: unknown;
  NotAction?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}
type PolicyDocument = { Statement: Statement[] };

/** Every statement of every policy on the function's role: inline, attached, managed. */
function roleStatements(s: Synthesized): Statement[] {
  const role = onlyResource(s.template, "AWS::IAM::Role");
  const attached = [
    ...Object.values(s.template.findResources("AWS::IAM::Policy")),
    ...Object.values(s.template.findResources("AWS::IAM::ManagedPolicy")),
  ].filter((p) =>
    ((p.Properties.Roles as unknown[] | undefined) ?? []).some(
      (r) => JSON.stringify(r) === JSON.stringify({ Ref: role.logicalId }),
    ),
  );
  const inline = (role.properties.Policies as { PolicyDocument: PolicyDocument }[] | undefined) ?? [];
  return [
    ...attached.map((p) => p.Properties.PolicyDocument as PolicyDocument),
    ...inline.map((p) => p.PolicyDocument),
  ].flatMap((document) => document.Statement);
}

/** Readable names for the resources a role statement may name in this template, and for `literals`. */
function resourceNames(s: Synthesized, literals: Record<string, string>): Map<string, string> {
  const names = new Map<string, string>([[JSON.stringify("*"), "*"]]);
  for (const [literal, name] of Object.entries(literals)) names.set(JSON.stringify(literal), name);
  const add = (resource: unknown, name: string) => names.set(JSON.stringify(resource), name);
  for (const spec of ALL_TABLES) {
    const arn = { "Fn::GetAtt": [tableId(s, spec.id), "Arn"] };
    add(arn, `table ${spec.id}`);
    for (const { indexName } of spec.indexes) {
      add({ "Fn::Join": ["", [arn, `/index/${indexName}`]] }, `index ${spec.id}/${indexName}`);
    }
  }
  for (const id of Object.keys(s.template.findResources("AWS::SecretsManager::Secret"))) {
    add({ Ref: id }, "Stripe secret");
  }
  add({ "Fn::GetAtt": [onlyResource(s.template, "AWS::Logs::LogGroup").logicalId, "Arn"] }, "log group");
  add({ "Fn::GetAtt": [billingFunction(s).logicalId, "Arn"] }, "the function itself");
  for (const id of Object.keys(s.template.findResources("AWS::SQS::Queue"))) {
    add(
      { "Fn::GetAtt": [id, "Arn"] },
      id.startsWith("BillingFailureQueue") ? "failure queue" : `queue ${id}`,
    );
  }
  return names;
}

/**
 * What the role allows, per resource: `{ resource: sorted actions }`, from every Allow statement of every
 * policy on it. A resource the template names in no known way shows as `unknown ...`; a statement in a
 * form that cannot be summed up this way (NotAction, NotResource, a condition) fails the test.
 */
function allowedByResource(s: Synthesized, literals: Record<string, string> = {}): Record<string, string[]> {
  const names = resourceNames(s, literals);
  const allowed: Record<string, Set<string>> = {};
  for (const statement of roleStatements(s)) {
    if (statement.Effect !== "Allow") continue; // a Deny can only take away
    if (statement.NotAction || statement.NotResource || statement.Condition) {
      throw new Error(`a statement this check cannot sum up: ${JSON.stringify(statement)}`);
    }
    for (const resource of [statement.Resource].flat()) {
      const name = names.get(JSON.stringify(resource)) ?? `unknown ${JSON.stringify(resource)}`;
      for (const action of [statement.Action ?? []].flat()) (allowed[name] ??= new Set()).add(action);
    }
  }
  return Object.fromEntries(Object.entries(allowed).map(([name, actions]) => [name, [...actions].sort()]));
}

/**
 * The reviewed list: exactly the calls the function makes (see TABLE_ACCESS for which code needs which
 * DynamoDB action), plus what Lambda itself does with the role: logs, the failure queue, traces.
 */
const EXPECTED_ACCESS: Record<string, string[]> = {
  "table Leases": ["dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
  "table Subscriptions": [
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
  ],
  "index Subscriptions/due": ["dynamodb:Query"],
  "table Charges": ["dynamodb:GetItem", "dynamodb:PutItem"],
  "Stripe secret": ["secretsmanager:GetSecretValue"],
  "log group": ["logs:CreateLogStream", "logs:PutLogEvents"],
  "failure queue": ["sqs:SendMessage"],
  // Continuation links: an asynchronous Invoke of itself, unqualified (functions/handler/continuation.ts).
  "the function itself": ["lambda:InvokeFunction"],
  "*": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
};

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

  it("refuses at synthesis a timeout that leaves no time to bill, naming the context key", () => {
    expect(() => synthesize({ functionTimeoutSeconds: 45 })).toThrow(
      /Invalid CDK context "functionTimeoutSeconds": must be at least \d+/,
    );
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
      STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "25",
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: "INFO",
      NODE_OPTIONS: "--enable-source-maps",
      MAX_CONTINUATION_LINKS: "12",
    });
    const tuned = synthesize({ shards: "4", stripeAccountRequestsPerSecond: 80, logLevel: "debug" });
    expect(
      (billingFunction(tuned).properties.Environment as { Variables: Record<string, unknown> }).Variables,
    ).toMatchObject({ SHARD_COUNT: "4", STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "80", LOG_LEVEL: "DEBUG" });
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

  it("allows exactly the calls the function makes, per table, per index and per resource", () => {
    expect(allowedByResource(defaults)).toEqual(EXPECTED_ACCESS);
  });

  it("grants DynamoDB exactly TABLE_ACCESS, which gives a reason for every action", () => {
    const fromTableAccess = Object.fromEntries(
      Object.entries(TABLE_ACCESS).flatMap(([table, access]) => [
        [`table ${table}`, Object.keys(access.table).sort()],
        ...Object.entries(access.indexes ?? {}).map(([index, reasons]) => [
          `index ${table}/${index}`,
          Object.keys(reasons).sort(),
        ]),
      ]),
    );
    const dynamo = Object.fromEntries(
      Object.entries(allowedByResource(defaults)).filter(([, actions]) =>
        actions.some((a) => a.startsWith("dynamodb:")),
      ),
    );
    expect(dynamo).toEqual(fromTableAccess);
    for (const access of Object.values(TABLE_ACCESS)) {
      for (const reason of [access.table, ...Object.values(access.indexes ?? {})].flatMap(Object.values)) {
        expect(reason.length).toBeGreaterThanOrEqual(30);
      }
    }
  });

  // The grants an audit found the function never uses: each would let it do what its code never does
  // (PutItem on Subscriptions would let it make up a subscription).
  it.each([
    ["table Subscriptions", "dynamodb:PutItem"],
    ["table Subscriptions", "dynamodb:Query"],
    ["table Charges", "dynamodb:Query"],
    ["table Charges", "dynamodb:UpdateItem"],
    ["table Charges", "dynamodb:ConditionCheckItem"],
    ["table Leases", "dynamodb:GetItem"],
    ["table Leases", "dynamodb:PutItem"],
    ["index Charges/attention", "dynamodb:Query"],
  ])("does not allow %s %s", (resource, action) => {
    expect(allowedByResource(defaults)[resource] ?? []).not.toContain(action);
  });

  const subscriptions = (stack: BillingStack) =>
    stack.tables.all.find((t) => t.spec.id === SUBSCRIPTION_TABLE.id)!.table;
  const charges = (stack: BillingStack) => stack.tables.all.find((t) => t.spec.id === CHARGE_TABLE.id)!.table;
  const allow = (actions: string[], resources: string[]) => new PolicyStatement({ actions, resources });
  // cdk-nag would refuse these wildcards (nag.test.ts); acknowledged, the exact check still sees them.
  const silenceNag = (stack: BillingStack, id: string) =>
    Validations.of(stack.billing.function.role!).acknowledge({
      id,
      reason: "what a careless change might do",
    });

  it.each<[string, (stack: BillingStack) => void, string, string]>([
    [
      "an added action",
      (stack) =>
        stack.billing.function.addToRolePolicy(allow(["dynamodb:PutItem"], [subscriptions(stack).tableArn])),
      "table Subscriptions",
      "dynamodb:PutItem",
    ],
    [
      "a wildcard action",
      (stack) => {
        stack.billing.function.addToRolePolicy(allow(["dynamodb:*"], [charges(stack).tableArn]));
        silenceNag(stack, "AwsSolutions-IAM5[Action::dynamodb:*]");
      },
      "table Charges",
      "dynamodb:*",
    ],
    [
      "a wildcard resource",
      (stack) => {
        stack.billing.function.addToRolePolicy(allow(["dynamodb:GetItem"], ["*"]));
        silenceNag(stack, "AwsSolutions-IAM5[Resource::*]");
      },
      "*",
      "dynamodb:GetItem",
    ],
    [
      "an extra resource",
      (stack) =>
        stack.billing.function.addToRolePolicy(
          allow(["dynamodb:Query"], [`${charges(stack).tableArn}/index/attention`]),
        ),
      "index Charges/attention",
      "dynamodb:Query",
    ],
    [
      "a policy of its own",
      (stack) =>
        new Policy(stack, "Extra", {
          roles: [stack.billing.function.role!],
          statements: [allow(["dynamodb:Scan"], [charges(stack).tableArn])],
        }),
      "table Charges",
      "dynamodb:Scan",
    ],
  ])("the exact check fails on %s", (_, change, resource, action) => {
    const allowed = allowedByResource(synthesize({}, change));
    expect(allowed[resource]).toContain(action);
    expect(allowed).not.toEqual(EXPECTED_ACCESS);
  });

  it("keeps X-Ray's '*' in a policy of its own, with nothing else in it", () => {
    const policies = Object.values(defaults.template.findResources("AWS::IAM::Policy")).map(
      (p) => (p.Properties.PolicyDocument as PolicyDocument).Statement,
    );
    const starred = policies.filter((statements) =>
      statements.some((st) => [st.Resource].flat().includes("*")),
    );
    expect(starred).toEqual([
      [
        {
          Sid: "XRay",
          Effect: "Allow",
          Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
          Resource: "*",
        },
      ],
    ]);
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
    expect(allowedByResource(imported, { [arn]: "Stripe secret" })).toEqual(EXPECTED_ACCESS);
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

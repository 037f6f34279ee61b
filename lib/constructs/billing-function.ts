/**
 * The billing Lambda: the bundled handler, its own log group and role, and where its failed invocations
 * go. Permissions are granted statement by statement, never through managed policies or `grant*` helpers
 * that add actions the job does not use (Scan, DeleteItem, BatchWriteItem).
 */
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import type { BillingConfig } from "../config";
import { deadLetterQueue } from "./dead-letter-queue";
import type { DataTable } from "./data-tables";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const HANDLER_ENTRY = "functions/handler/index.ts";

/** The newest Node.js runtime aws-cdk-lib knows; pinned, so an upgrade is a reviewed change. */
export const RUNTIME = Runtime.NODEJS_24_X;

/**
 * What the job does with its tables: point reads, queries, and conditional writes, alone or inside
 * TransactWriteItems. IAM has no action for TransactWriteItems itself: DynamoDB authorizes each item of
 * a transaction as the PutItem, UpdateItem or ConditionCheckItem it is. No Scan, no DeleteItem (leases
 * are released by an update and cleaned up by the TTL), no batch writes.
 */
export const TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:Query",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:ConditionCheckItem",
] as const;

/**
 * A retried invocation would be one more late contender for a firing that already started several, and
 * the next firing reruns anything left (reruns are safe: fencing and one PaymentIntent per period).
 * So failures are not retried but recorded, in the failure queue, where an alarm sees them.
 */
export const ASYNC_RETRY_ATTEMPTS = 0;
/** An event that waited this long (throttled) is superseded by the next hourly firing. */
export const MAX_EVENT_AGE = Duration.hours(1);

export interface BillingFunctionProps {
  readonly config: BillingConfig;
  readonly tables: readonly DataTable[];
  readonly stripeSecret: ISecret;
}

export class BillingFunction extends Construct {
  readonly function: NodejsFunction;
  /** Invocations that failed, with the event, the error and the request context. */
  readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: BillingFunctionProps) {
    super(scope, id);
    const { config, tables, stripeSecret } = props;

    const logGroup = new LogGroup(this, "Logs", {
      retention: RetentionDays.THREE_MONTHS,
      // The run reports are the audit trail of who charged what; keep them if the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "The billing function: its tables, the Stripe key, its logs and traces. Nothing else.",
    });
    logGroup.grantWrite(role);
    this.failureQueue = deadLetterQueue(this, "FailureQueue", "failed billing invocations");

    this.function = new NodejsFunction(this, "Function", {
      description: "Billing contender: races for the shard lease and charges due subscriptions exactly once.",
      entry: `${REPO_ROOT}${HANDLER_ENTRY}`,
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(config.functionTimeoutSeconds),
      reservedConcurrentExecutions: config.reservedConcurrency,
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        ...Object.fromEntries(tables.map(({ spec, table }) => [spec.envVar, table.tableName])),
        STRIPE_SECRET_ARN: stripeSecret.secretArn,
        SHARD_COUNT: String(config.shards),
        STRIPE_MAX_REQUESTS_PER_SECOND: String(config.stripeMaxRequestsPerSecond),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: config.logLevel,
        // Stack traces in the logs point at the TypeScript sources, through the bundle's source map.
        NODE_OPTIONS: "--enable-source-maps",
      },
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: MAX_EVENT_AGE,
      onFailure: new SqsDestination(this.failureQueue),
      bundling: {
        // The local esbuild from package-lock.json: reproducible, and no Docker needed.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Everything, the AWS SDK included: the artifact runs the versions the tests ran, whatever SDK
        // the Lambda runtime happens to ship this month.
        externalModules: [],
      },
    });

    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "BillingTables",
        actions: [...TABLE_ACTIONS],
        resources: tables.map(({ table }) => table.tableArn),
      }),
    );
    const indexArns = tables.flatMap(({ spec, table }) =>
      spec.indexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
    );
    if (indexArns.length > 0) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ sid: "BillingIndexes", actions: ["dynamodb:Query"], resources: indexArns }),
      );
    }
    stripeSecret.grantRead(role);

    Validations.of(role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource '*'; every other statement names its resources exactly.",
    });
  }
}

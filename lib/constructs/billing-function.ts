/**
 * The billing Lambda: the bundled handler, its own log group and role, and where its failed invocations
 * go. Permissions are granted statement by statement, per table and per index, exactly the calls the
 * function makes; never through managed policies or `grant*` helpers, which add actions it does not use.
 */
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Policy, PolicyStatement, Role, ServicePrincipal, type IRole } from "aws-cdk-lib/aws-iam";
import {
  Architecture,
  RecursiveLoop,
  Runtime,
  Tracing,
  type CfnFunction,
  type IDestination,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue, Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import { CHARGE_TABLE, LEASE_TABLE, SUBSCRIPTION_TABLE } from "../../functions/schema/tables";
import type { BillingConfig } from "../config";
import { deadLetterQueue } from "./dead-letter-queue";
import type { DataTable } from "./data-tables";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const HANDLER_ENTRY = "functions/handler/index.ts";

/** The newest Node.js runtime aws-cdk-lib knows; pinned, so an upgrade is a reviewed change. */
export const RUNTIME = Runtime.NODEJS_24_X;

type DynamoAction = `dynamodb:${string}`;
/** Each action granted, with the call in the function's code that needs it. */
type Reasons = Readonly<Record<DynamoAction, string>>;

export interface TableAccess {
  /** Actions on the table itself. */
  readonly table: Reasons;
  /** Actions on each index, by index name; an index not named here gets none. */
  readonly indexes?: Readonly<Record<string, Reasons>>;
}

/**
 * Everything the function may do to DynamoDB, per table (by spec id) and per index, each action with the
 * call that needs it (functions/aws/). A transaction (TransactWriteItems) has no action of its own:
 * DynamoDB authorizes each of its items as the PutItem, UpdateItem, ConditionCheckItem or DeleteItem it
 * is, on that item's table. What only the ops CLI does (cli/: Scan and BatchGetItem on Charges, Query on
 * the `attention` index, the forced release) runs with the operator's credentials and is not here.
 */
export const TABLE_ACCESS: Readonly<Record<string, TableAccess>> = {
  [LEASE_TABLE.id]: {
    table: {
      "dynamodb:Query":
        "DynamoLeaseStore.read: a lease key's lease and fence records together, strongly consistent",
      "dynamodb:UpdateItem":
        "tryAcquire's two transaction items (fence and lease record); renew, release, checkpoint, sweep",
      "dynamodb:ConditionCheckItem":
        "FencedWriter: every billing transaction first checks that the lease record still names its holder",
      "dynamodb:Scan":
        "DynamoLeaseStore.listLeaseKeys: shards that still hold records after SHARD_COUNT was lowered; " +
        "listLeaseRows: the leaders active now, whose number sets each one's share of the Stripe budget",
    },
  },
  [SUBSCRIPTION_TABLE.id]: {
    table: {
      "dynamodb:GetItem":
        "DynamoBillingStore.getSubscription: the record as stored, strongly consistent, before billing it",
      "dynamodb:UpdateItem":
        "the subscription item of saveCharge and of the sweep: advance, reschedule, deactivate, quarantine",
      "dynamodb:ConditionCheckItem":
        "saveCharge's claim (expect-due): the subscription must still be active at that period",
      "dynamodb:Scan":
        "DynamoBillingStore.scanSubscriptions: the sweep for subscriptions no run can reach, page by page",
    },
    indexes: {
      [SUBSCRIPTION_TABLE.indexes[0].indexName]: {
        "dynamodb:Query":
          "DynamoBillingStore.queryDue: a shard's due subscriptions, a page at a time; countDue and " +
          "oldestDue: the backlog after a run",
      },
    },
  },
  [CHARGE_TABLE.id]: {
    table: {
      "dynamodb:GetItem": "DynamoBillingStore.getCharge: a period's charge record, strongly consistent",
      "dynamodb:PutItem":
        "saveCharge: the charge record, conditional on its version, in the fenced transaction",
    },
  },
};

/** Active tracing needs these, and X-Ray has no resource-level permissions for them. */
export const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const;

/**
 * A retried invocation would be one more late contender for a firing that already started several, and
 * the next firing reruns anything left (reruns are safe: fencing and one PaymentIntent per period).
 * So failures are not retried but recorded, in the failure queue, where an alarm sees them. The same
 * holds for a continuation link (an async invocation the function sends itself): one that fails is not
 * run again by Lambda; the next firing goes on with its run.
 */
export const ASYNC_RETRY_ATTEMPTS = 0;
/**
 * An event that waited this long (throttled) is superseded by the next hourly firing. A continuation link
 * that waited is stale, never harmful: it bills as of min(its asOf, now), like any contender.
 */
export const MAX_EVENT_AGE = Duration.hours(1);

/**
 * Lambda's recursive loop detection stays on: it stops a chain of invocations after about 16. The
 * function's own bound (MAX_CONTINUATION_LINKS, at most 15 in the stack) stops a run's chain first, so the
 * detection only ever catches a chain that escaped it (docs/billing-run.md, Continuation).
 */
export const RECURSIVE_LOOP = RecursiveLoop.TERMINATE;

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
    // Lambda writes the function's logs with the role: CreateLogStream and PutLogEvents on its group.
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
      environment: {
        ...Object.fromEntries(tables.map(({ spec, table }) => [spec.envVar, table.tableName])),
        STRIPE_SECRET_ARN: stripeSecret.secretArn,
        SHARD_COUNT: String(config.shards),
        STRIPE_ACCOUNT_REQUESTS_PER_SECOND: String(config.stripeAccountRequestsPerSecond),
        MAX_CONTINUATION_LINKS: String(config.maxContinuationLinks),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: config.logLevel,
        // Stack traces in the logs point at the TypeScript sources, through the bundle's source map.
        NODE_OPTIONS: "--enable-source-maps",
        // Only when asked (a LocalStack deployment billing the Stripe emulator); otherwise Stripe itself.
        ...(config.stripeApi && {
          STRIPE_API_HOST: config.stripeApi.host,
          STRIPE_API_PORT: String(config.stripeApi.port),
          STRIPE_API_PROTOCOL: config.stripeApi.protocol,
        }),
      },
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: MAX_EVENT_AGE,
      recursiveLoop: RECURSIVE_LOOP,
      onFailure: failureQueueDestination(role, this.failureQueue),
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

    for (const { spec, table } of tables) {
      const access = TABLE_ACCESS[spec.id];
      if (!access) {
        throw new Error(`TABLE_ACCESS says nothing of table ${spec.id}: list what the function does`);
      }
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: spec.id,
          actions: Object.keys(access.table),
          resources: [table.tableArn],
        }),
      );
      for (const [indexName, reasons] of Object.entries(access.indexes ?? {})) {
        if (!spec.indexes.some((index) => index.indexName === indexName)) {
          throw new Error(`TABLE_ACCESS names index ${indexName}, which table ${spec.id} does not have`);
        }
        role.addToPrincipalPolicy(
          new PolicyStatement({
            sid: `${spec.id}Index${indexName.charAt(0).toUpperCase()}${indexName.slice(1)}`,
            actions: Object.keys(reasons),
            resources: [`${table.tableArn}/index/${indexName}`],
          }),
        );
      }
    }
    // The key is read with GetSecretValue only; `grantRead` would add DescribeSecret, which nothing calls.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "StripeKey",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [stripeSecret.secretArn],
      }),
    );

    // Continuation links: the function invokes itself, unqualified (functions/handler/continuation.ts). In
    // a policy of its own, which depends on the function: in the role's default policy, which the function
    // depends on, the function's own ARN would make a circular dependency. No wildcard: only this function.
    new Policy(this, "ContinuationPolicy", {
      roles: [role],
      statements: [
        new PolicyStatement({
          sid: "ContinuationLink",
          actions: ["lambda:InvokeFunction"],
          resources: [this.function.functionArn],
        }),
      ],
    });

    // Tracing is switched on here rather than with the `tracing` prop, which would put X-Ray's '*' into the
    // role's default policy. In a policy of its own, the IAM5 acknowledgment covers that one statement,
    // and a '*' added anywhere else on the role is still reported.
    const tracing = new Policy(this, "TracingPolicy", {
      roles: [role],
      statements: [new PolicyStatement({ sid: "XRay", actions: [...XRAY_ACTIONS], resources: ["*"] })],
    });
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: Tracing.ACTIVE };
    this.function.node.addDependency(tracing);
    Validations.of(tracing).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource '*'. This policy holds that one statement and nothing else.",
    });
  }
}

/**
 * Lambda's on-failure destination, granting only what Lambda does with the queue: SendMessage. (The
 * library's SqsDestination also grants GetQueueAttributes and GetQueueUrl.)
 */
function failureQueueDestination(role: IRole, queue: IQueue): IDestination {
  return {
    bind: () => {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: "FailureQueue",
          actions: ["sqs:SendMessage"],
          resources: [queue.queueArn],
        }),
      );
      return { destination: queue.queueArn };
    },
  };
}

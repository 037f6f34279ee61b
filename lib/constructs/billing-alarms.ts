/**
 * What wakes a person: CloudWatch alarms on the function, the two dead letter queues and the billing
 * metrics the handler emits, all notifying one encrypted SNS topic. Metric names, namespace and the
 * `service` dimension come from functions/observability/metric-names.ts, the list the handler emits from.
 * docs/deploy.md says what each alarm means and what to do.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  Metric,
  Stats,
  TreatMissingData,
  type AlarmProps,
  type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";

export interface BillingAlarmsProps {
  readonly function: IFunction;
  readonly failureQueue: Queue;
  readonly scheduleDeadLetterQueue: Queue;
  readonly noRunAlarmMinutes: number;
  /** The oldest due renewal may wait this long after a run before the backlog alarm fires. */
  readonly backlogAlarmMinutes: number;
  readonly alarmEmail: string | undefined;
}

/** Short enough to page within minutes of a failed run. */
const PERIOD = Duration.minutes(5);

/** A metric the handler emits through Powertools (EMF), with the `service` dimension Powertools adds. */
export function billingMetric(metricName: string, period: Duration): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: Stats.SUM,
    period,
  });
}

export class BillingAlarms extends Construct {
  readonly topic: Topic;
  readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: BillingAlarmsProps) {
    super(scope, id);
    this.topic = alarmTopic(this);
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const fn = props.function;
    const queued = (queue: Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: Stats.MAXIMUM });
    this.alarms = [
      this.anyAbove0(
        "FunctionErrors",
        "A billing invocation failed (see the failure queue and the logs).",
        fn.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
      ),
      this.anyAbove0(
        "FunctionThrottles",
        "A billing invocation was throttled: more invocations than the reserved concurrency (reruns piling up?).",
        fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM }),
      ),
      this.anyAbove0(
        "FailedInvocations",
        "The failure queue holds failed billing invocations: read them, fix the cause, then purge.",
        queued(props.failureQueue),
      ),
      this.anyAbove0(
        "UndeliveredSchedules",
        "EventBridge could not start billing contenders: the schedule's dead letter queue holds the events.",
        queued(props.scheduleDeadLetterQueue),
      ),
      this.anyAbove0(
        "ChargesInDoubt",
        "A charge's outcome at Stripe is unknown; it is looked up before any new attempt, but check it.",
        billingMetric(METRIC.chargesInDoubt, PERIOD),
      ),
      this.anyAbove0(
        "UnreachableSubscriptions",
        "The sweep found subscriptions meant for billing that no run could reach (bad data, an index key that does not match the shard, a shard no run bills) and quarantined them: see the runbook.",
        billingMetric(METRIC.unreachableSubscriptions, PERIOD),
      ),
      this.alarm("BillingStopped", {
        alarmDescription: `No billing run completed in the last ${props.noRunAlarmMinutes} minutes: renewals are not being charged.`,
        metric: billingMetric(METRIC.runCompleted, Duration.minutes(props.noRunAlarmMinutes)),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // The heartbeat is emitted only by a run that completes, so silence is the failure.
        treatMissingData: TreatMissingData.BREACHING,
      }),
      this.alarm("BacklogBehind", {
        alarmDescription: `After a run, a renewal had been due for more than ${props.backlogAlarmMinutes} minutes: the runs are not keeping up with the book (see the dashboard's backlog, and the README's sizing table).`,
        metric: billingMetric(METRIC.oldestDueAge, PERIOD).with({ statistic: Stats.MAXIMUM }),
        threshold: props.backlogAlarmMinutes * 60,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // Measured only after runs that led a shard: between runs the last state stands (a run that
        // drains the book sets it back), and no run at all is the BillingStopped alarm's to say.
        treatMissingData: TreatMissingData.IGNORE,
      }),
    ];
  }

  /** Fires on any occurrence within a period. No data means nothing happened: no error, an empty queue. */
  private anyAbove0(id: string, description: string, metric: IMetric): Alarm {
    return this.alarm(id, {
      alarmDescription: description,
      metric,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  private alarm(id: string, props: AlarmProps): Alarm {
    const alarm = new Alarm(this, id, { ...props, alarmName: `${Stack.of(this).stackName}-${id}` });
    alarm.addAlarmAction(new SnsAction(this.topic));
    return alarm;
  }
}

/**
 * SNS encrypts with a customer managed key because CloudWatch cannot publish to a topic encrypted with
 * the AWS managed aws/sns key: its key policy cannot be changed to let CloudWatch use it.
 */
function alarmTopic(scope: Construct): Topic {
  const key = new Key(scope, "TopicKey", {
    description: "Encrypts the lease-billing alarm topic",
    enableKeyRotation: true,
    // The topic stores no messages, so the key protects nothing once the stack is gone.
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  const cloudwatch = new ServicePrincipal("cloudwatch.amazonaws.com");
  // Only on behalf of this account's alarms: without the condition, CloudWatch acting for an alarm in any
  // account could use the key (the confused deputy). The topic policy below carries the same condition.
  const thisAccount = { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } };
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsPublish",
      principals: [cloudwatch],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      conditions: thisAccount,
    }),
  );
  const topic = new Topic(scope, "Topic", { masterKey: key, enforceSSL: true });
  // The topic policy that enforceSSL creates replaces SNS's default one; allow this account's alarms.
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsPublish",
      principals: [cloudwatch],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: thisAccount,
    }),
  );
  return topic;
}

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

    const anyAbove0 = (metric: IMetric) => ({
      metric,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data means nothing happened: no errors, an empty queue.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const fn = props.function;
    this.alarms = [
      this.alarm("FunctionErrors", "A billing invocation failed (see the failure queue and the logs).", {
        ...anyAbove0(fn.metricErrors({ period: PERIOD, statistic: Stats.SUM })),
      }),
      this.alarm(
        "FunctionThrottles",
        "A billing invocation was throttled: more invocations than the reserved concurrency (reruns piling up?).",
        { ...anyAbove0(fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM })) },
      ),
      this.alarm(
        "FailedInvocations",
        "The failure queue holds failed billing invocations: read them, fix the cause, then purge.",
        {
          ...anyAbove0(
            props.failureQueue.metricApproximateNumberOfMessagesVisible({
              period: PERIOD,
              statistic: Stats.MAXIMUM,
            }),
          ),
        },
      ),
      this.alarm(
        "UndeliveredSchedules",
        "EventBridge could not start billing contenders: the schedule's dead letter queue holds the events.",
        {
          ...anyAbove0(
            props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: PERIOD,
              statistic: Stats.MAXIMUM,
            }),
          ),
        },
      ),
      this.alarm(
        "ChargesInDoubt",
        "A charge's outcome at Stripe is unknown; it is looked up before any new attempt, but check it.",
        { ...anyAbove0(billingMetric(METRIC.chargesInDoubt, PERIOD)) },
      ),
      this.alarm(
        "BillingStopped",
        `No billing run completed in the last ${props.noRunAlarmMinutes} minutes: renewals are not being charged.`,
        {
          metric: billingMetric(METRIC.runCompleted, Duration.minutes(props.noRunAlarmMinutes)),
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          // The heartbeat is only emitted by a run that completes, so silence is the failure.
          treatMissingData: TreatMissingData.BREACHING,
        },
      ),
    ];
  }

  private alarm(
    id: string,
    description: string,
    props: Omit<ConstructorParameters<typeof Alarm>[2], "alarmDescription">,
  ): Alarm {
    const alarm = new Alarm(this, id, {
      ...props,
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: description,
    });
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
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsPublish",
      principals: [cloudwatch],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
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
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  return topic;
}

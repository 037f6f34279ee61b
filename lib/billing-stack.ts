/**
 * The billing job's stack: tables, the Stripe key, the function, the schedule that starts its contenders,
 * the alarms that watch them and the dashboard that shows them. Each piece is its own construct under
 * lib/constructs/.
 */
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { BillingConfig } from "./config";
import { BillingAlarms } from "./constructs/billing-alarms";
import { BillingDashboard } from "./constructs/billing-dashboard";
import { BillingFunction } from "./constructs/billing-function";
import { BillingSchedule } from "./constructs/billing-schedule";
import { DataTables } from "./constructs/data-tables";
import { stripeSecret } from "./constructs/stripe-secret";

export interface BillingStackProps extends StackProps {
  readonly config: BillingConfig;
}

export class BillingStack extends Stack {
  readonly tables: DataTables;
  readonly billing: BillingFunction;
  readonly schedule: BillingSchedule;
  readonly alarms: BillingAlarms;
  readonly dashboard: BillingDashboard;

  constructor(scope: Construct, id: string, props: BillingStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.tables = new DataTables(this, "Tables");
    const secret = stripeSecret(this, "StripeSecret", config.stripeSecretArn);
    this.billing = new BillingFunction(this, "Billing", {
      config,
      tables: this.tables.all,
      stripeSecret: secret,
    });
    this.schedule = new BillingSchedule(this, "Schedule", { config, target: this.billing.function });
    this.alarms = new BillingAlarms(this, "Alarms", {
      function: this.billing.function,
      failureQueue: this.billing.failureQueue,
      scheduleDeadLetterQueue: this.schedule.deadLetterQueue,
      noRunAlarmMinutes: config.noRunAlarmMinutes,
      backlogAlarmMinutes: config.backlogAlarmMinutes,
      alarmEmail: config.alarmEmail,
    });

    this.dashboard = new BillingDashboard(this, "Dashboard", {
      accountRequestsPerSecond: config.stripeAccountRequestsPerSecond,
      backlogAlarmMinutes: config.backlogAlarmMinutes,
    });

    // What an operator (and the rerun tooling) needs to find things.
    for (const { spec, table } of this.tables.all) {
      new CfnOutput(this, `${spec.id}TableName`, { value: table.tableName });
    }
    new CfnOutput(this, "FunctionName", { value: this.billing.function.functionName });
    new CfnOutput(this, "StripeSecretArn", { value: secret.secretArn });
    new CfnOutput(this, "AlarmTopicArn", { value: this.alarms.topic.topicArn });
    new CfnOutput(this, "FailureQueueUrl", { value: this.billing.failureQueue.queueUrl });
    new CfnOutput(this, "ScheduleDeadLetterQueueUrl", { value: this.schedule.deadLetterQueue.queueUrl });
  }
}

/**
 * One CloudWatch dashboard that answers, for a big book, "is it draining, and what holds it back": the
 * backlog and the age of its oldest renewal, charges by outcome, the leaders' Stripe requests against the
 * account's budget (and the 429s), who leads and who took over, and the continuation links the runs
 * needed. The metrics are the handler's (functions/observability/metric-names.ts), with the same
 * namespace and `service` dimension the alarms watch. What each graph means: docs/runbook.md.
 */
import { Duration, Stack } from "aws-cdk-lib";
import {
  Dashboard,
  GraphWidget,
  GraphWidgetView,
  MathExpression,
  Stats,
  type IMetric,
} from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { METRIC } from "../../functions/observability/metric-names";
import { billingMetric } from "./billing-alarms";

export interface BillingDashboardProps {
  /** The account's Stripe budget, drawn as a line on the requests graph. */
  readonly accountRequestsPerSecond: number;
  /** The backlog alarm's threshold, drawn as a line on the age graph. */
  readonly backlogAlarmMinutes: number;
}

/** Runs report once per invocation, at its end: five minutes holds a few of them. */
const PERIOD = Duration.minutes(5);
const WIDTH = 12;
const HEIGHT = 6;

export class BillingDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: BillingDashboardProps) {
    super(scope, id);
    const sum = (name: string, label: string) => billingMetric(name, PERIOD).with({ label });
    const max = (name: string, label: string) =>
      billingMetric(name, PERIOD).with({ label, statistic: Stats.MAXIMUM });

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: `${Stack.of(this).stackName}-Billing`,
      defaultInterval: Duration.days(2),
    });
    this.dashboard.addWidgets(
      graph("Backlog: renewals due and not settled, after each run", [
        max(METRIC.dueBacklog, "due renewals"),
      ]),
      graph(
        "Backlog: how long the oldest due renewal has waited (minutes)",
        [
          new MathExpression({
            expression: "age / 60",
            usingMetrics: { age: max(METRIC.oldestDueAge, "seconds") },
            label: "oldest due renewal, minutes",
            period: PERIOD,
          }),
        ],
        [{ value: props.backlogAlarmMinutes, label: "BacklogBehind alarm", color: "#d62728" }],
      ),
    );
    this.dashboard.addWidgets(
      graph(
        "Charges by outcome",
        [
          sum(METRIC.chargesSucceeded, "succeeded"),
          sum(METRIC.chargesDeclined, "declined"),
          sum(METRIC.chargesNeedingAction, "needs customer action"),
          sum(METRIC.chargesInDoubt, "in doubt"),
          sum(METRIC.chargesQuarantined, "quarantined"),
        ],
        [],
        true,
      ),
      graph(
        "Stripe requests per second, all leaders, against the account's budget",
        [
          new MathExpression({
            expression: "requests / PERIOD(requests)",
            usingMetrics: { requests: sum(METRIC.stripeRequests, "requests") },
            label: "requests/s (averaged over the period)",
            period: PERIOD,
          }),
          new MathExpression({
            expression: "limited / PERIOD(limited)",
            usingMetrics: { limited: sum(METRIC.stripeRateLimited, "429s") },
            label: "429s/s",
            period: PERIOD,
          }),
        ],
        [{ value: props.accountRequestsPerSecond, label: "account budget", color: "#d62728" }],
      ),
    );
    this.dashboard.addWidgets(
      graph("Lease holders and takeovers", [
        max(METRIC.leadersActive, "leaders at once (most an invocation counted)"),
        sum(METRIC.leaseAcquired, "leases acquired"),
        sum(METRIC.leaseTakeovers, "takeovers"),
        sum(METRIC.leaseLost, "leases lost"),
      ]),
      graph("Continuation links", [
        sum(METRIC.continuationLinksSent, "links invoked"),
        sum(METRIC.continuationLinksFailed, "link invocations that failed"),
      ]),
    );
  }
}

function graph(
  title: string,
  left: IMetric[],
  lines: { value: number; label: string; color: string }[] = [],
  stacked = false,
): GraphWidget {
  return new GraphWidget({
    title,
    left,
    leftAnnotations: lines,
    leftYAxis: { min: 0 },
    stacked,
    view: GraphWidgetView.TIME_SERIES,
    width: WIDTH,
    height: HEIGHT,
    period: PERIOD,
  });
}

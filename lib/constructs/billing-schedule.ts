/**
 * The schedule: one EventBridge rule whose targets are the same function, once per contender, so each
 * firing starts that many concurrent invocations that race for the lease. Each receives the scheduled
 * event unchanged; the function bills as of the event's `time`, so all contenders of a firing agree on it.
 */
import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { MAX_CONTENDERS, type BillingConfig } from "../config";
import { deadLetterQueue } from "./dead-letter-queue";

/**
 * EventBridge retries a delivery that Lambda refused (throttled or unavailable API) with backoff. A few
 * attempts within the hour ride out a blip; after that the next firing supersedes the event.
 */
export const TARGET_RETRY_ATTEMPTS = 4;
export const TARGET_MAX_EVENT_AGE = Duration.hours(1);

export interface BillingScheduleProps {
  readonly config: Pick<BillingConfig, "contenders" | "scheduleCron">;
  readonly target: IFunction;
}

export class BillingSchedule extends Construct {
  readonly rule: Rule;
  /** Scheduled events EventBridge could not deliver to the function. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: BillingScheduleProps) {
    super(scope, id);
    const { contenders, scheduleCron } = props.config;
    // config.ts validates this too; the check here keeps the construct honest when used on its own.
    if (!Number.isInteger(contenders) || contenders < 1 || contenders > MAX_CONTENDERS) {
      throw new Error(
        `contenders must be a whole number from 1 to ${MAX_CONTENDERS} (EventBridge allows ${MAX_CONTENDERS} targets per rule), got ${contenders}`,
      );
    }

    this.deadLetterQueue = deadLetterQueue(
      this,
      "DeadLetterQueue",
      "scheduled events that were not delivered",
    );
    this.rule = new Rule(this, "Rule", {
      description: `Starts ${contenders} billing contenders; one leads each shard, the others stand by.`,
      schedule: Schedule.expression(scheduleCron),
    });
    for (let i = 0; i < contenders; i++) {
      this.rule.addTarget(
        new LambdaFunction(props.target, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: TARGET_RETRY_ATTEMPTS,
          maxEventAge: TARGET_MAX_EVENT_AGE,
        }),
      );
    }
  }
}

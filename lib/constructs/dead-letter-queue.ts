/**
 * An SQS queue that holds what could not be processed, for a person to look at: encrypted, TLS only, and
 * kept for the longest time SQS allows so that a failure over a long weekend is still there on Monday.
 */
import { Duration, Validations } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

export function deadLetterQueue(scope: Construct, id: string, holds: string): Queue {
  const queue = new Queue(scope, id, {
    retentionPeriod: Duration.days(14),
    // SQS managed keys: the services that write here (EventBridge, Lambda) need no KMS key grants, which a
    // customer managed key would require of each of them.
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  Validations.of(queue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason: `This queue is itself a dead letter queue (it holds ${holds}); no program consumes it whose failures would need a further queue, and an alarm fires when it holds a message.`,
  });
  return queue;
}

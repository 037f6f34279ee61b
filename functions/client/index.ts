/**
 * The subscription client library, for a merchant's own code: import from here in a Lambda or a
 * service to create and change the subscriptions the billing job charges. It depends on the job's core
 * rules and the AWS SDK only (never on dev/ or cli/). docs/subscriptions.md describes the record, the
 * operations and the IAM actions a caller's role needs.
 *
 *   const client = createSubscriptionsClient({ shardCount: 3 });
 *   const created = await client.create({ subscriptionId: "sub_123", customerId: "cus_...", ... });
 *   if (created.kind === "invalid") console.log(created.problems);
 */
import { createDocumentClient, type DynamoConfig } from "../aws/dynamo";
import type { Clock } from "../core/clock";
import { tableNamesFromEnv, type TableNames } from "../schema/tables";
import { SubscriptionsClient } from "./subscriptions-client";

export {
  SubscriptionsClient,
  SubscriptionStoreError,
  type ChangeResult,
  type Conflict,
  type CreateResult,
  type GetResult,
  type SubscriptionsClientOptions,
} from "./subscriptions-client";
export {
  shardFor,
  UnbillableRecordError,
  type StoredSubscription,
  type SubscriptionChange,
} from "../core/billing/subscription-changes";
export {
  checkSubscriptionInput,
  subscriptionInputSchema,
  subscriptionRecordSchema,
  SUBSCRIPTION_STATUSES,
  WRITABLE_STATUSES,
  type FieldProblem,
  type SubscriptionInput,
  type SubscriptionStatus,
} from "../core/billing/subscription-schema";
export { ThrottledTooLongError } from "../aws/throttling";

/**
 * A client on its own DynamoDB document client (numbers beyond 2^53 are read without throwing, as the
 * job reads them). Table names default to the job's environment variables (SUBSCRIPTIONS_TABLE_NAME,
 * CHARGES_TABLE_NAME), then to the schema's names.
 */
export function createSubscriptionsClient(
  options: DynamoConfig & {
    readonly shardCount: number;
    readonly tables?: Pick<TableNames, "subscriptions" | "charges">;
    readonly clock?: Clock;
  },
): SubscriptionsClient {
  const { shardCount, tables, clock, ...dynamo } = options;
  return new SubscriptionsClient({
    doc: createDocumentClient(dynamo),
    tables: tables ?? tableNamesFromEnv(),
    shardCount,
    ...(clock && { clock }),
  });
}

/**
 * The subscription client: how a merchant's own code (a Lambda, a service, the ops import) writes the
 * Subscriptions table the billing job reads, without knowing the job's internals. It checks a user's
 * input with the run's own rules, computes the index fields, and makes every change one conditional
 * write, so a change that races a leader charging the subscription is either applied whole or refused
 * with a typed conflict, never lost and never half-applied (docs/subscriptions.md).
 *
 * What each write is conditioned on:
 * - a creation: that the id is free (attribute_not_exists);
 * - a change: that the record is still as read (its revision, updatedAt, status, nextPeriodStart and
 *   nextAttemptAt: everything a leader or another client writes moves one of them); a write that loses
 *   the race re-reads and tries again, up to `attempts` times;
 * - a change of status (pause, cancel), in the same transaction: that the period's charge record is not
 *   pending or in doubt (a charge in flight); a change of calendar (interval, anchor, the periods skipped
 *   on resume): that the period has no charge record at all. A leader's claim is itself conditioned on
 *   the subscription still being active at that period, so one of the two always sees the other.
 *
 * Expected outcomes are values (created, changed, unchanged, not-found, invalid, conflict); anything
 * else (DynamoDB unreachable, access denied, throttled for too long) is a SubscriptionStoreError.
 */
import { isConditionalCheckFailed, cancellationReasons } from "../aws/transaction-errors";
import { retryTransient, sleepMs, throttleDelayMs, type BackoffOptions } from "../aws/throttling";
import {
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { systemClock, type Clock } from "../core/clock";
import { BillingJobError } from "../core/errors";
import {
  newSubscriptionRecord,
  planChange,
  readStoredSubscription,
  type ChangePlan,
  type StoredSubscription,
  type SubscriptionChange,
} from "../core/billing/subscription-changes";
import type { FieldProblem } from "../core/billing/subscription-schema";
import type { TableNames } from "../schema/tables";

/** DynamoDB failed in a way no retry here could fix; `cause` is the SDK's error. */
export class SubscriptionStoreError extends BillingJobError {
  override readonly name: string = "SubscriptionStoreError";
}

export interface SubscriptionsClientOptions {
  readonly doc: DynamoDBDocumentClient;
  readonly tables: Pick<TableNames, "subscriptions" | "charges">;
  /** The deployed job's SHARD_COUNT: new subscriptions go to a shard below it. */
  readonly shardCount: number;
  readonly clock?: Clock;
  /** Tries of a change that keeps losing races with other writers (each re-reads). Default 3. */
  readonly attempts?: number;
  /** How throttling is waited out (the import shows it in its progress). */
  readonly backoff?: BackoffOptions;
}

export type GetResult =
  | { readonly kind: "found"; readonly subscription: StoredSubscription }
  | { readonly kind: "not-found"; readonly subscriptionId: string }
  /** Stored, but the run would not bill it as it stands (a hand edit, a record from elsewhere). */
  | {
      readonly kind: "invalid";
      readonly subscriptionId: string;
      readonly problems: readonly FieldProblem[];
      readonly raw: Readonly<Record<string, unknown>>;
    };

export type Conflict = {
  readonly kind: "conflict";
  readonly reason: "exists" | "charge-in-flight" | "period-has-charge" | "changed-concurrently";
  readonly message: string;
  /** The period whose charge record stood in the way, and its state. */
  readonly periodStart?: string;
  readonly chargeState?: string;
  /** For `exists`: the record already stored under the id, as stored. */
  readonly current?: Readonly<Record<string, unknown>>;
};

export type CreateResult =
  | { readonly kind: "created"; readonly subscription: StoredSubscription }
  | { readonly kind: "invalid"; readonly problems: readonly FieldProblem[] }
  | Conflict;

export type ChangeResult =
  | { readonly kind: "changed"; readonly subscription: StoredSubscription }
  | { readonly kind: "unchanged"; readonly subscription: StoredSubscription }
  | { readonly kind: "not-found"; readonly subscriptionId: string }
  | { readonly kind: "invalid"; readonly problems: readonly FieldProblem[] }
  | Conflict;

type Attempt = ChangeResult | { readonly kind: "lost-race" };

const IN_FLIGHT = ["pending", "in_doubt"] as const;

export class SubscriptionsClient {
  private readonly clock: Clock;
  private readonly attempts: number;

  constructor(private readonly options: SubscriptionsClientOptions) {
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1) {
      throw new RangeError(`shardCount must be a whole number of at least 1, got ${options.shardCount}`);
    }
    this.clock = options.clock ?? systemClock;
    this.attempts = options.attempts ?? 3;
  }

  /** The subscription as stored (strongly consistent), with the run's verdict on it. */
  async get(subscriptionId: string): Promise<GetResult> {
    const raw = await this.read(subscriptionId);
    if (raw === null) return { kind: "not-found", subscriptionId };
    const read = readStoredSubscription(raw);
    return read.ok
      ? { kind: "found", subscription: read.subscription }
      : { kind: "invalid", subscriptionId, problems: read.problems, raw };
  }

  /**
   * A new subscription from a user's input (fields as in docs/subscriptions.md); `input` may be anything,
   * it is checked. An id already taken is a conflict carrying the stored record: nothing is overwritten.
   */
  async create(input: unknown): Promise<CreateResult> {
    const built = newSubscriptionRecord(input, this.now(), this.options.shardCount);
    if (!built.ok) return { kind: "invalid", problems: built.problems };
    const record = built.record;
    try {
      await this.send((doc) =>
        doc.send(
          new PutCommand({
            TableName: this.options.tables.subscriptions,
            Item: record,
            ConditionExpression: "attribute_not_exists(subscriptionId)",
          }),
        ),
      );
      return { kind: "created", subscription: record };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw storeError("create", record.subscriptionId, error);
    }
    const current = await this.read(record.subscriptionId);
    // Our own put, applied once already, whose answer was lost and which was sent again.
    if (current !== null && sameItem(current, record)) return { kind: "created", subscription: record };
    return {
      kind: "conflict",
      reason: "exists",
      message: `subscription ${record.subscriptionId} already exists`,
      ...(current !== null && { current }),
    };
  }

  /** New price, currency or calendar. A new calendar takes effect from the next period not yet paid. */
  changePlan(
    subscriptionId: string,
    plan: Omit<Extract<SubscriptionChange, { kind: "plan" }>, "kind">,
  ): Promise<ChangeResult> {
    return this.change(subscriptionId, { kind: "plan", ...plan });
  }

  /** Another saved card. A charge already in flight finishes on the card it started with. */
  changePaymentMethod(subscriptionId: string, paymentMethodId: string): Promise<ChangeResult> {
    return this.change(subscriptionId, { kind: "payment-method", paymentMethodId });
  }

  /** Out of billing until resumed. Refused (conflict) while a charge is in flight. */
  pause(subscriptionId: string): Promise<ChangeResult> {
    return this.change(subscriptionId, { kind: "pause" });
  }

  /** Back to billing; see SubscriptionChange for which periods are billed. */
  resume(subscriptionId: string, options: { billMissedPeriods?: boolean } = {}): Promise<ChangeResult> {
    return this.change(subscriptionId, { kind: "resume", ...options });
  }

  /** Out of billing for good. Refused (conflict) while a charge is in flight. */
  cancel(subscriptionId: string): Promise<ChangeResult> {
    return this.change(subscriptionId, { kind: "cancel" });
  }

  private async change(subscriptionId: string, change: SubscriptionChange): Promise<ChangeResult> {
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const outcome = await this.changeOnce(subscriptionId, change);
      if (outcome.kind !== "lost-race") return outcome;
    }
    return {
      kind: "conflict",
      reason: "changed-concurrently",
      message: `subscription ${subscriptionId} kept changing under this write (${this.attempts} tries)`,
    };
  }

  private async changeOnce(subscriptionId: string, change: SubscriptionChange): Promise<Attempt> {
    const found = await this.get(subscriptionId);
    if (found.kind !== "found") return found;
    const plan = planChange(found.subscription, change, this.now());
    switch (plan.kind) {
      case "invalid":
        return plan;
      case "unchanged":
        return { kind: "unchanged", subscription: plan.current };
      case "update":
        return this.apply(found.subscription, plan);
    }
  }

  /** One conditional write of the plan: it lands whole, or not at all. */
  private async apply(
    current: StoredSubscription,
    plan: Extract<ChangePlan, { kind: "update" }>,
  ): Promise<Attempt> {
    const update = this.updateOf(current, plan);
    try {
      const check = plan.charge === "any" ? null : this.chargeCheck(current, plan.charge);
      await this.send<unknown>((doc) =>
        check === null
          ? doc.send(new UpdateCommand(update))
          : doc.send(
              new TransactWriteCommand({ TransactItems: [{ Update: update }, { ConditionCheck: check }] }),
            ),
      );
      return { kind: "changed", subscription: plan.next };
    } catch (error) {
      return this.refusal(current, error);
    }
  }

  private async refusal(current: StoredSubscription, error: unknown): Promise<Attempt> {
    const id = current.subscriptionId;
    if (isConditionalCheckFailed(error)) return { kind: "lost-race" };
    const reasons = cancellationReasons(error);
    if (reasons === null) throw storeError("change", id, error);
    const [subscription, charge] = reasons;
    if (charge?.code === "ConditionalCheckFailed" && subscription?.code !== "ConditionalCheckFailed") {
      const state = typeof charge.item?.state === "string" ? charge.item.state : "unknown";
      const inFlight = (IN_FLIGHT as readonly string[]).includes(state);
      return {
        kind: "conflict",
        reason: inFlight ? "charge-in-flight" : "period-has-charge",
        message: inFlight
          ? `a charge for the period starting ${current.nextPeriodStart} is ${state}: try again once it has settled`
          : `the period starting ${current.nextPeriodStart} has a ${state} charge record, which moving the next period start would abandon (a resume with billMissedPeriods keeps the period)`,
        periodStart: current.nextPeriodStart,
        chargeState: state,
      };
    }
    if (reasons.some((r) => r.code !== "ConditionalCheckFailed" && r.code !== "None")) {
      // A conflict with another transaction in flight, or throttling: nothing was written; wait, retry.
      await sleepMs(throttleDelayMs(1));
    }
    return { kind: "lost-race" };
  }

  private updateOf(current: StoredSubscription, plan: Extract<ChangePlan, { kind: "update" }>) {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const name = (field: string) => ((names[`#${field}`] = field), `#${field}`);
    const value = (key: string, v: unknown) => ((values[`:${key}`] = v), `:${key}`);
    const sets = Object.entries(plan.set).map(([field, v]) => `${name(field)} = ${value(`set_${field}`, v)}`);
    const removes = plan.remove.filter((field) => !(field in plan.set)).map(name);
    const asRead = [
      "attribute_exists(#subscriptionId)",
      `${name("status")} = ${value("was_status", current.status)}`,
      `${name("nextPeriodStart")} = ${value("was_nextPeriodStart", current.nextPeriodStart)}`,
      `${name("nextAttemptAt")} = ${value("was_nextAttemptAt", current.nextAttemptAt)}`,
      `${name("updatedAt")} = ${value("was_updatedAt", current.updatedAt)}`,
      current.revision === undefined
        ? `attribute_not_exists(${name("revision")})`
        : `${name("revision")} = ${value("was_revision", current.revision)}`,
    ];
    names["#subscriptionId"] = "subscriptionId";
    return {
      TableName: this.options.tables.subscriptions,
      Key: { subscriptionId: current.subscriptionId },
      UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
      ConditionExpression: asRead.join(" AND "),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private chargeCheck(current: StoredSubscription, condition: "not-in-flight" | "absent") {
    return {
      TableName: this.options.tables.charges,
      Key: { subscriptionId: current.subscriptionId, periodStart: current.nextPeriodStart },
      ConditionExpression:
        condition === "absent"
          ? "attribute_not_exists(subscriptionId)"
          : "attribute_not_exists(subscriptionId) OR NOT (#state IN (:pending, :in_doubt))",
      ...(condition === "not-in-flight" && {
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":pending": IN_FLIGHT[0], ":in_doubt": IN_FLIGHT[1] },
      }),
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    };
  }

  private async read(subscriptionId: string): Promise<Record<string, unknown> | null> {
    try {
      const result = await this.send((doc) =>
        doc.send(
          new GetCommand({
            TableName: this.options.tables.subscriptions,
            Key: { subscriptionId },
            ConsistentRead: true,
          }),
        ),
      );
      return result.Item ?? null;
    } catch (error) {
      throw storeError("read", subscriptionId, error);
    }
  }

  /**
   * A request, sent again after a backoff while DynamoDB throttles it or its answer is lost. Safe because
   * every write here is conditional: a repeat of one that landed fails its condition, and the caller
   * re-reads (a change then finds itself made; a creation finds its own record).
   */
  private send<T>(request: (doc: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
    return retryTransient(() => request(this.options.doc), this.options.backoff);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function sameItem(a: Readonly<Record<string, unknown>>, b: object): boolean {
  const other = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(other)]);
  return [...keys].every((key) => a[key] === other[key]);
}

function storeError(what: string, subscriptionId: string, error: unknown): BillingJobError {
  if (error instanceof BillingJobError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SubscriptionStoreError(`could not ${what} subscription ${subscriptionId} (${detail})`, {
    cause: error,
  });
}

/**
 * The DynamoDB schema, in one place. The CDK stack (lib/) and the DynamoDB Local harness (dev/) both build
 * their tables from these specs, so the tests run against exactly the keys and indexes that deploy.
 *
 * Plain data on purpose: no CDK or SDK types here, so the Lambda bundle does not pull in either.
 */

export type AttributeType = "S" | "N";

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexSpec {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /**
   * The attributes copied into the index besides the keys. DynamoDB writes an index entry only when its
   * keys or these attributes change, so a small projection keeps the index out of most writes.
   */
  readonly projection:
    { readonly type: "KEYS_ONLY" } | { readonly type: "INCLUDE"; readonly attributes: readonly string[] };
}

export interface TableSpec {
  /** Stable id: the CDK construct id, and the default table name locally. */
  readonly id: string;
  /** Environment variable through which the Lambda learns the deployed table's name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Attribute holding an epoch-seconds expiry that DynamoDB's TTL may delete after. Clean-up only. */
  readonly timeToLiveAttribute?: string;
  readonly indexes: readonly IndexSpec[];
}

/**
 * Leases. Two records per lease key: the lease itself (holder, fence, expiry, checkpoint, TTL) and the
 * fence record, which has no TTL and so keeps the highest fence ever issued when the lease record is
 * deleted by the TTL or by hand. See docs/lease-protocol.md.
 */
export const LEASE_TABLE = {
  id: "Leases",
  envVar: "LEASE_TABLE_NAME",
  partitionKey: { name: "leaseKey", type: "S" },
  sortKey: { name: "record", type: "S" },
  timeToLiveAttribute: "ttl",
  indexes: [],
} as const satisfies TableSpec;

/** The two record kinds stored under one lease key (the sort key's values). */
export const LEASE_RECORD = { lease: "lease", fence: "fence" } as const;

/**
 * Subscriptions, one item per subscription. The sparse `due` index holds only subscriptions that are
 * billable (an active subscription carries `dueShard`; past-due, quarantined or canceled ones drop it),
 * sorted by the time of their next charge attempt, so a leader queries what is due in its shard page by
 * page without a scan.
 */
export const SUBSCRIPTION_TABLE = {
  id: "Subscriptions",
  envVar: "SUBSCRIPTIONS_TABLE_NAME",
  partitionKey: { name: "subscriptionId", type: "S" },
  indexes: [
    {
      indexName: "due",
      partitionKey: { name: "dueShard", type: "S" },
      sortKey: { name: "nextAttemptAt", type: "S" },
      // The leader needs only ids from it and reads each subscription strongly consistently.
      projection: { type: "KEYS_ONLY" },
    },
  ],
} as const satisfies TableSpec;

/**
 * The charge ledger: one record per subscription and billing period. The sparse `attention` index holds
 * records that are not settled for good (pending, in doubt, declined awaiting retry, needs customer
 * action, quarantined), so operators and the resolver find them without a scan. It is keyed on the
 * claim's time and holds keys only (and `retryAt`, for the status counts): recording a PaymentIntent on a
 * pending record changes neither, so that write costs no index write; readers fetch the records
 * themselves (cli/attention.ts).
 */
export const CHARGE_TABLE = {
  id: "Charges",
  envVar: "CHARGES_TABLE_NAME",
  partitionKey: { name: "subscriptionId", type: "S" },
  sortKey: { name: "periodStart", type: "S" },
  indexes: [
    {
      indexName: "attention",
      partitionKey: { name: "attention", type: "S" },
      sortKey: { name: "createdAt", type: "S" },
      projection: { type: "INCLUDE", attributes: ["retryAt"] },
    },
  ],
} as const satisfies TableSpec;

export const ALL_TABLES: readonly TableSpec[] = [LEASE_TABLE, SUBSCRIPTION_TABLE, CHARGE_TABLE];

/** The names the running code uses: from the environment when deployed, the spec ids locally. */
export interface TableNames {
  readonly leases: string;
  readonly subscriptions: string;
  readonly charges: string;
}

export function tableNamesFromEnv(env: Record<string, string | undefined> = process.env): TableNames {
  return {
    leases: env[LEASE_TABLE.envVar] ?? LEASE_TABLE.id,
    subscriptions: env[SUBSCRIPTION_TABLE.envVar] ?? SUBSCRIPTION_TABLE.id,
    charges: env[CHARGE_TABLE.envVar] ?? CHARGE_TABLE.id,
  };
}

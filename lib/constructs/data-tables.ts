/**
 * The DynamoDB tables, built from the specs in functions/schema/tables.ts: the keys, indexes and TTL
 * attribute are read from there, never restated, so the deployed schema is the one the tests run against.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
  type Attribute,
} from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { ALL_TABLES, type KeyAttribute, type TableSpec } from "../../functions/schema/tables";

export interface DataTable {
  readonly spec: TableSpec;
  readonly table: Table;
}

export class DataTables extends Construct {
  readonly all: readonly DataTable[];

  constructor(scope: Construct, id: string, specs: readonly TableSpec[] = ALL_TABLES) {
    super(scope, id);
    this.all = specs.map((spec) => ({ spec, table: tableFromSpec(this, spec) }));
  }
}

/**
 * Every table is billing data or guards it, so all get the same protection:
 * - RETAIN and deletion protection: deleting the stack, or replacing a table by a careless change, must
 *   not delete the ledger. The lease table is retained too, although it is tiny: its fence records are
 *   what keeps fencing tokens increasing forever (docs/design.md#invariant-3). A recreated lease table would
 *   issue fence 1 again while charge records written under higher fences still exist.
 * - Point-in-time recovery: the way back from a bad deploy or a bad manual edit.
 * - Encryption with the AWS managed key (aws/dynamodb): KMS encryption at rest with every key use in
 *   CloudTrail, no key policy to keep right and no key whose deletion could make the retained ledger
 *   unreadable. The tables hold no card data (Stripe does), so a customer managed key buys little here.
 * - On-demand billing: an hourly burst of work, idle in between.
 */
function tableFromSpec(scope: Construct, spec: TableSpec): Table {
  const table = new Table(scope, spec.id, {
    partitionKey: attribute(spec.partitionKey),
    ...(spec.sortKey && { sortKey: attribute(spec.sortKey) }),
    ...(spec.timeToLiveAttribute && { timeToLiveAttribute: spec.timeToLiveAttribute }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    encryption: TableEncryption.AWS_MANAGED,
  });
  for (const index of spec.indexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey && { sortKey: attribute(index.sortKey) }),
      // As in dev/dynamodb-local.ts: the spec's projection.
      ...(index.projection.type === "KEYS_ONLY"
        ? { projectionType: ProjectionType.KEYS_ONLY }
        : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection.attributes] }),
    });
  }
  return table;
}

function attribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === "S" ? AttributeType.STRING : AttributeType.NUMBER };
}

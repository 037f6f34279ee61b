/**
 * The deployed tables are the specs of functions/schema/tables.ts, with exactly the keys and indexes
 * that the DynamoDB Local harness creates for the tests (dev/dynamodb-local.ts createTableInput).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createTableInput } from "../../dev/dynamodb-local";
import { ALL_TABLES, LEASE_TABLE } from "../../functions/schema/tables";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

let synthesized: Synthesized;
beforeAll(() => {
  synthesized = synthesize();
});

const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
  String(a.AttributeName).localeCompare(String(b.AttributeName));

describe.each(ALL_TABLES)("table $id", (spec) => {
  const table = () =>
    onlyResource(synthesized.template, "AWS::DynamoDB::Table", (p) => {
      const keys = p.KeySchema as { AttributeName: string; KeyType: string }[];
      return (
        keys.some((k) => k.KeyType === "HASH" && k.AttributeName === spec.partitionKey.name) &&
        keys.length === (spec.sortKey ? 2 : 1) &&
        (!spec.sortKey || keys.some((k) => k.KeyType === "RANGE" && k.AttributeName === spec.sortKey!.name))
      );
    });

  it("has the keys, attributes and indexes the local harness creates", () => {
    const { properties } = table();
    const local = createTableInput(spec, "ignored");
    expect(properties.KeySchema).toEqual(local.KeySchema);
    expect([...(properties.AttributeDefinitions as object[])].sort(byName)).toEqual(
      [...local.AttributeDefinitions!].sort(byName),
    );
    expect(properties.GlobalSecondaryIndexes ?? []).toEqual(local.GlobalSecondaryIndexes ?? []);
    expect((properties.GlobalSecondaryIndexes as unknown[] | undefined)?.length ?? 0).toBe(
      spec.indexes.length,
    );
    expect(properties.BillingMode).toBe("PAY_PER_REQUEST");
  });

  it("is protected: retained, deletion protection, point-in-time recovery, encrypted with KMS", () => {
    const { resource, properties } = table();
    expect(resource.DeletionPolicy).toBe("Retain");
    expect(resource.UpdateReplacePolicy).toBe("Retain");
    expect(properties.DeletionProtectionEnabled).toBe(true);
    expect(properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    // SSEEnabled true without a key id: KMS with the AWS managed key aws/dynamodb.
    expect(properties.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it("has the TTL attribute of the spec, and no other", () => {
    const { properties } = table();
    if (spec.timeToLiveAttribute) {
      expect(properties.TimeToLiveSpecification).toEqual({
        AttributeName: spec.timeToLiveAttribute,
        Enabled: true,
      });
    } else {
      expect(properties.TimeToLiveSpecification).toBeUndefined();
    }
  });
});

describe("tables", () => {
  it("are exactly the specs, and the lease table has its TTL", () => {
    expect(Object.keys(synthesized.template.findResources("AWS::DynamoDB::Table"))).toHaveLength(
      ALL_TABLES.length,
    );
    expect(LEASE_TABLE.timeToLiveAttribute).toBe("ttl");
    synthesized.template.hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
    });
  });

  it("are named in the stack outputs", () => {
    const outputs = synthesized.template.findOutputs("*");
    for (const spec of ALL_TABLES) {
      const output = outputs[`${spec.id}TableName`];
      expect(output, spec.id).toBeDefined();
      expect(output!.Value).toEqual({ Ref: expect.stringMatching(new RegExp(`^Tables${spec.id}`)) });
    }
  });
});

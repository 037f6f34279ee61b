/**
 * The JSON Schema files under schema/ are generated from the zod definition the billing run and the
 * client share, so they cannot drift: this fails when a committed file differs from what
 * `npm run schema:subscription` generates now. It also checks the facts the files must state (the fields,
 * which are required, what else is allowed), so a generator that wrote the wrong thing would fail too.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { schemaFileText, subscriptionSchemas } from "../../dev/subscription-json-schema";

const ROOT = join(import.meta.dirname, "..", "..");

describe("schema/*.schema.json", () => {
  it.each(subscriptionSchemas().map((s) => [s.path, s] as const))(
    "%s is what the zod definition generates (run npm run schema:subscription)",
    async (path, { schema }) => {
      const committed = await readFile(join(ROOT, path), "utf8");
      expect(committed).toBe(await schemaFileText(path, schema));
    },
  );

  it("the input schema names every field a user writes, refuses others, and requires the terms", () => {
    const [input] = subscriptionSchemas();
    expect(input!.schema).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: [
        "subscriptionId",
        "customerId",
        "paymentMethodId",
        "amount",
        "currency",
        "interval",
        "nextPeriodStart",
      ],
    });
    expect(Object.keys(input!.schema.properties!)).toEqual([
      "subscriptionId",
      "customerId",
      "paymentMethodId",
      "amount",
      "currency",
      "interval",
      "nextPeriodStart",
      "anchorDay",
      "anchorMonth",
      "status",
      "shard",
    ]);
  });

  it("the record schema lets the index key and bookkeeping through, typed, and requires what the run reads", () => {
    const [, record] = subscriptionSchemas();
    expect(record!.schema.additionalProperties).toEqual({});
    expect(record!.schema.properties).toMatchObject({
      dueShard: { type: "string", pattern: "^shard-\\d+$" },
      revision: { type: "integer", minimum: 1 },
      status: { enum: ["active", "paused", "past_due", "needs_customer_action", "quarantined", "canceled"] },
    });
    expect(record!.schema.required).toEqual([
      "subscriptionId",
      "shard",
      "status",
      "customerId",
      "paymentMethodId",
      "currency",
      "amount",
      "interval",
      "anchorDay",
      "nextPeriodStart",
      "nextAttemptAt",
      "createdAt",
      "updatedAt",
    ]);
  });
});

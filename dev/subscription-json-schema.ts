/**
 * Writes schema/subscription-input.schema.json and schema/subscription-record.schema.json from the zod
 * definition the billing run and the client share (functions/core/billing/subscription-schema.ts), for
 * teams that write subscriptions from other languages. `npm run schema:subscription` regenerates them;
 * test/client/json-schema.test.ts fails when a committed file differs from what this generates.
 *
 * JSON Schema carries the types, ranges, enumerations and patterns. The rules that relate two fields (an
 * amount at least the currency's Stripe minimum, a period start on the anchor, a yearly anchor that
 * exists, nextAttemptAt not before nextPeriodStart) are zod refinements JSON Schema cannot express: each
 * file's description lists them, and docs/subscriptions.md explains them.
 */
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { format, resolveConfig } from "prettier";
import { z } from "zod";
import {
  subscriptionBookkeepingSchema,
  subscriptionInputSchema,
  subscriptionRecordSchema,
} from "../functions/core/billing/subscription-schema";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const CROSS_FIELD_RULES = [
  "amount is at least the currency's Stripe minimum (docs/billing-policy.md, 'Amounts and currencies')",
  "a yearly anchor exists (29 February does; 30 February does not)",
  "nextPeriodStart is on the anchor (clamped to the month's last day when the month is shorter)",
];

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown> };

function generated(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "throw" }) as JsonSchema;
}

/** The two schema files: path relative to the repository, and the JSON Schema. */
export function subscriptionSchemas(): { readonly path: string; readonly schema: JsonSchema }[] {
  const input = generated(subscriptionInputSchema, "input");
  const record = generated(subscriptionRecordSchema, "input");
  const bookkeeping = generated(subscriptionBookkeepingSchema, "input");
  return [
    {
      path: "schema/subscription-input.schema.json",
      schema: {
        title: "Subscription (what a user writes)",
        description:
          "One subscription as the client's create and `ops subscriptions import` take it (one CSV row or one " +
          "JSON Lines object). Everything else on the stored record is computed. Also checked, beyond this " +
          `schema: ${[...CROSS_FIELD_RULES, "anchorMonth is given for yearly subscriptions only"].join("; ")}. ` +
          "See docs/subscriptions.md.",
        ...input,
      },
    },
    {
      path: "schema/subscription-record.schema.json",
      schema: {
        title: "Subscription (the stored item the billing run reads)",
        description:
          "An item of the Subscriptions table as the billing run validates it before billing; a record that " +
          "fails is quarantined. The last properties are the index key and bookkeeping, written by the client " +
          "and the run, never by hand. Also checked, beyond this schema: " +
          `${[...CROSS_FIELD_RULES, "anchorMonth is required when interval is year", "nextAttemptAt is not before nextPeriodStart"].join("; ")}. ` +
          "See docs/subscriptions.md.",
        ...record,
        properties: { ...record.properties, ...bookkeeping.properties },
      },
    },
  ];
}

/** The file's text, formatted as the repository's Prettier settings format JSON. */
export async function schemaFileText(path: string, schema: JsonSchema): Promise<string> {
  const absolute = join(ROOT, path);
  const options = (await resolveConfig(absolute)) ?? {};
  return format(JSON.stringify(schema), { ...options, filepath: absolute });
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;

if (invokedDirectly) {
  for (const { path, schema } of subscriptionSchemas()) {
    await writeFile(join(ROOT, path), await schemaFileText(path, schema));
    process.stdout.write(`wrote ${path}\n`);
  }
}

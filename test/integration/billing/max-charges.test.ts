/**
 * A console rerun's `maxCharges` is a hard cap, on DynamoDB Local and the emulator over HTTP. Invariant 6
 * (docs/design.md): nothing is charged that nobody decided to charge; a rerun asked for two charges makes
 * two, however many renewals its workers run at once. Its own tables: the rest of the book stays due.
 */
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed } from "../../../dev/seed";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { startContender } from "../../support/billing";
import { seedWithTestKey } from "../../support/seeding";

let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("cap", (started) => ({ tables, emulator } = started));

const paidAtStripe = (id: string) =>
  emulator
    .snapshot()
    .paymentIntents.filter((pi) => pi.metadata.subscription_id === id && pi.status === "succeeded").length;

describe("a rerun capped by maxCharges", () => {
  it("charges no more than asked, however many renewals run at once; the next run bills the rest", async () => {
    const ids = ["cap_a", "cap_b", "cap_c", "cap_d", "cap_e", "cap_f"];
    const start = new Date(Date.now() - 86_400_000);
    await seedWithTestKey(
      tables,
      emulator.url,
      ids.map((id) => monthlySeed(id, start, { amount: 1200 })),
    );
    // 32 renewals at once (the default): every worker passes the cap check before any has claimed.
    const capped = await startContender(tables, emulator.url, {
      runId: "rerun:cap2",
      asOf: new Date().toISOString(),
      maxCharges: 2,
    }).report;
    expect(capped.tally.succeeded).toBe(2);
    expect(ids.map(paidAtStripe).reduce((a, b) => a + b, 0)).toBe(2);

    await startContender(tables, emulator.url, {
      runId: "scheduled:after",
      asOf: new Date().toISOString(),
    }).report;
    expect(ids.map(paidAtStripe)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

/**
 * `ops subscriptions import` on DynamoDB Local: bad rows are reported by line and field and nothing is
 * written for them, a dry run writes nothing, a second run loads nothing twice, a row that differs from
 * the stored record is reported and the record left alone, and throttling and lost answers (the chaos
 * suite's fault proxy between the SDK and DynamoDB Local) neither lose a row nor load one twice.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { scanAll } from "../../dev/invariants";
import { startDynamoFaultProxy } from "../../dev/chaos/dynamo-fault-proxy";
import { classify } from "../../functions/core/billing-run/due";
import { createTestTables, type TestTables } from "../support/dynamo";
import { json, ops, tableFlags } from "./ops-harness";

let tables: TestTables;
let dir: string;

beforeEach(async () => {
  tables = await createTestTables("cli-import");
  dir = await mkdtemp(join(tmpdir(), "import-"));
});

const HEADER =
  "subscriptionId,customerId,paymentMethodId,amount,currency,interval,nextPeriodStart,anchorDay,anchorMonth,status,shard";

async function file(name: string, lines: readonly string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

async function stored(): Promise<Record<string, unknown>[]> {
  return (await scanAll(tables.doc, tables.names.subscriptions)).sort((a, b) =>
    String(a.subscriptionId).localeCompare(String(b.subscriptionId)),
  );
}

/** Every kind of mistake, one per line (line numbers: the header is line 1). */
const MISTAKES = [
  HEADER,
  "sub_ok_1,cus_a,pm_card_visa,1200,usd,month,2026-01-31T00:00:00.000Z,31,,active,", // 2 good
  ",cus_b,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,,,,", // 3 missing id
  "sub_type,cus_c,pm_card_visa,12.50,usd,month,2026-01-15T00:00:00.000Z,,,,", // 4 bad type
  "sub_currency,cus_d,pm_card_visa,1200,USD,month,2026-01-15T00:00:00.000Z,,,,", // 5 bad currency
  "sub_negative,cus_e,pm_card_visa,-1200,usd,month,2026-01-15T00:00:00.000Z,,,,", // 6 negative amount
  "sub_date,cus_f,pm_card_visa,1200,usd,month,2026-02-30T00:00:00.000Z,,,,", // 7 impossible date
  "sub_ok_1,cus_g,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,,,,", // 8 duplicate id
  "sub_status,cus_h,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,,,suspended,", // 9 unknown status
  "sub_job_status,cus_i,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,,,past_due,", // 10 job's status
  "sub_cells,cus_j,pm_card_visa,1200,usd", // 11 too few cells
  'sub_quote,cus_k,pm_card_visa,1200,usd,month,"2026-01-15T00:00:00.000Z"x,,,,', // 12 broken quote
  "sub_minimum,cus_l,pm_card_visa,29,gbp,month,2026-01-15T00:00:00.000Z,,,,", // 13 below Stripe's minimum
  "sub_anchor,cus_m,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,31,,,", // 14 not on the anchor
  "sub_shard,cus_n,pm_card_visa,1200,usd,month,2026-01-15T00:00:00.000Z,,,,3", // 15 no run bills shard 3
  "sub_customer,customer-9,card_9,1200,usd,week,2026-01-15T00:00:00.000Z,,,,", // 16 three fields at once
  'sub_ok_2,cus_o,pm_card_visa,"2500",eur,year,2027-02-28T00:00:00.000Z,29,2,paused,', // 17 good (quoted)
];

describe("ops subscriptions import: bad rows", () => {
  it("reports every bad row by line and field, loads the good ones, and writes nothing for the bad", async () => {
    const path = await file("mistakes.csv", MISTAKES);
    const result = await ops(["subscriptions", "import", path, "--execute", ...tableFlags(tables)]);
    expect(result.code).toBe(1);
    const out = result.stdout;
    const expected = [
      "line 3: subscriptionId: subscriptionId is missing",
      'line 4 (sub_type): amount: amount must be a number of minor units, got string "12.50"',
      'line 5 (sub_currency): currency: currency "USD" is not a supported lowercase ISO code',
      "line 6 (sub_negative): amount: amount must be positive, got -1200",
      'line 7 (sub_date): nextPeriodStart: nextPeriodStart must be a UTC timestamp like 2026-01-31T00:00:00.000Z in the years 2000 to 9999, got "2026-02-30T00:00:00.000Z"',
      "line 8 (sub_ok_1): subscriptionId: sub_ok_1 is already on line 2 of this file",
      'line 9 (sub_status): status: status must be one of active, paused, canceled (the others are set by the job), got "suspended"',
      'line 10 (sub_job_status): status: status must be one of active, paused, canceled (the others are set by the job), got "past_due"',
      "line 11: row: 5 cells, but the header names 11 fields",
      "line 12: row: text after a closing quote in field 7",
      "line 13 (sub_minimum): amount: amount £0.29 is below Stripe's minimum charge of £0.30",
      "line 14 (sub_anchor): nextPeriodStart: nextPeriodStart 2026-01-15T00:00:00.000Z is not on the anchor (day 31)",
      "line 15 (sub_shard): shard: shard 3 is billed by no run: SHARD_COUNT is 1 (shards 0 to 0)",
      'line 16 (sub_customer): customerId: customerId must be a Stripe customer id (cus_...), got "customer-9"',
      'line 16 (sub_customer): paymentMethodId: paymentMethodId must be a Stripe payment method (pm_...), got "card_9"',
      'line 16 (sub_customer): interval: interval must be "month" or "year", got "week"',
    ];
    for (const line of expected) expect(out).toContain(line);
    // One line per problem, nothing else reported about any row.
    expect(out.split("\n").filter((l) => l.startsWith("line "))).toHaveLength(expected.length);
    expect(out).toMatch(/created\s+2\b/);
    expect(out).toMatch(/bad rows\s+14\b/);

    const records = await stored();
    expect(records.map((r) => r.subscriptionId)).toEqual(["sub_ok_1", "sub_ok_2"]);
    // The first sub_ok_1 (line 2) was loaded, not the duplicate of line 8.
    expect(records[0]).toMatchObject({
      customerId: "cus_a",
      anchorDay: 31,
      dueShard: "shard-0",
      status: "active",
    });
    // The quoted "2500" is a CSV cell like any other; paused records are out of the due index.
    expect(records[1]).toMatchObject({ amount: 2500, status: "paused", anchorMonth: 2 });
    expect(records[1]).not.toHaveProperty("dueShard");
  });

  it("JSON Lines: types are the file's own, and extra or computed fields are refused", async () => {
    const good = {
      subscriptionId: "sub_json",
      customerId: "cus_json",
      paymentMethodId: "pm_card_visa",
      amount: 990,
      currency: "jpy",
      interval: "month",
      nextPeriodStart: "2026-03-31T06:00:00.000Z",
      anchorDay: 31,
    };
    const path = await file("rows.jsonl", [
      JSON.stringify(good),
      "{not json",
      JSON.stringify([good]),
      JSON.stringify({ ...good, subscriptionId: "sub_extra", colour: "red", dueShard: "shard-0" }),
      JSON.stringify({ ...good, subscriptionId: "sub_string_amount", amount: "990" }),
      "",
      JSON.stringify({ ...good, subscriptionId: "sub_null", customerId: null }),
    ]);
    const result = await ops(["subscriptions", "import", path, "--execute", "--json", ...tableFlags(tables)]);
    expect(result.code).toBe(1);
    const report = json<{ counts: Record<string, number>; events: { line: number; problems: unknown[] }[] }>(
      result,
    );
    expect(report.counts).toEqual({
      rows: 6,
      bad: 5,
      created: 1,
      wouldCreate: 0,
      unchanged: 0,
      different: 0,
    });
    expect(report.events).toEqual([
      {
        kind: "bad",
        line: 2,
        subscriptionId: null,
        problems: [{ field: "row", reason: expect.stringMatching(/^not JSON/) }],
      },
      {
        kind: "bad",
        line: 3,
        subscriptionId: null,
        problems: [{ field: "row", reason: "not a JSON object" }],
      },
      {
        kind: "bad",
        line: 4,
        subscriptionId: "sub_extra",
        problems: [
          { field: "colour", reason: "colour is not a field of a subscription" },
          {
            field: "dueShard",
            reason: "dueShard is computed (by the client or the billing run), never written",
          },
        ],
      },
      {
        kind: "bad",
        line: 5,
        subscriptionId: "sub_string_amount",
        problems: [{ field: "amount", reason: 'amount must be a number of minor units, got string "990"' }],
      },
      {
        kind: "bad",
        line: 7,
        subscriptionId: "sub_null",
        problems: [
          { field: "customerId", reason: "customerId must be a Stripe customer id (cus_...), got null" },
        ],
      },
    ]);
    expect((await stored()).map((r) => r.subscriptionId)).toEqual(["sub_json"]);
  });
});

describe("ops subscriptions import: dry run, twice, and rows that differ", () => {
  const rows = [
    HEADER,
    "sub_a,cus_a,pm_card_visa,1200,usd,month,2026-01-31T00:00:00.000Z,31,,,",
    "sub_b,cus_b,pm_card_mastercard,5000,eur,year,2026-06-15T12:00:00.000Z,,,,",
    "sub_c,cus_c,pm_card_visa,300,sek,month,2030-01-01T00:00:00.000Z,,,canceled,",
  ];

  it("a dry run reads and checks but writes nothing; --execute then loads exactly the file", async () => {
    const path = await file("book.csv", rows);
    const dry = await ops(["subscriptions", "import", path, ...tableFlags(tables)]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("dry run, nothing written");
    expect(dry.stdout).toMatch(/would be created\s+3\b/);
    expect(await stored()).toEqual([]);

    const run = await ops(["subscriptions", "import", path, "--execute", ...tableFlags(tables)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/created\s+3\b/);
    const records = await stored();
    expect(records.map((r) => [r.subscriptionId, r.status, r.dueShard, r.nextAttemptAt])).toEqual([
      ["sub_a", "active", "shard-0", "2026-01-31T00:00:00.000Z"],
      ["sub_b", "active", "shard-0", "2026-06-15T12:00:00.000Z"],
      ["sub_c", "canceled", undefined, "2030-01-01T00:00:00.000Z"],
    ]);
    // Each is what the run bills or leaves alone on purpose, by its own classification.
    for (const r of records) expect(classify(r, 0, "2026-12-01T00:00:00.000Z").kind).not.toBe("invalid");
    expect(records[1]).toMatchObject({ anchorDay: 15, anchorMonth: 6 });
  });

  it("run twice, the second run loads nothing and changes nothing", async () => {
    const path = await file("book.csv", rows);
    await ops(["subscriptions", "import", path, "--execute", ...tableFlags(tables)]);
    const first = await stored();
    const again = await ops(["subscriptions", "import", path, "--execute", "--json", ...tableFlags(tables)]);
    expect(again.code).toBe(0);
    expect(json<{ counts: unknown }>(again).counts).toEqual({
      rows: 3,
      bad: 0,
      created: 0,
      wouldCreate: 0,
      unchanged: 3,
      different: 0,
    });
    expect(await stored()).toEqual(first);
  });

  it("a row that differs from the stored record is reported, and the record is left as stored", async () => {
    await ops(["subscriptions", "import", await file("book.csv", rows), "--execute", ...tableFlags(tables)]);
    const before = await stored();
    const changed = await file("changed.csv", [
      HEADER,
      "sub_a,cus_a,pm_card_visa,1500,usd,month,2026-01-31T00:00:00.000Z,31,,,",
      "sub_b,cus_b,pm_card_mastercard,5000,eur,year,2026-06-15T12:00:00.000Z,,,,",
      "sub_c,cus_c,pm_card_visa,300,sek,month,2030-01-01T00:00:00.000Z,,,active,",
    ]);
    const result = await ops(["subscriptions", "import", changed, "--execute", ...tableFlags(tables)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "line 2 (sub_a): already stored with other values, left as stored: amount 1500 in the file, 1200 stored",
    );
    expect(result.stdout).toContain(
      'line 4 (sub_c): already stored with other values, left as stored: status "active" in the file, "canceled" stored',
    );
    expect(result.stdout).toMatch(/already stored, the same\s+1\b/);
    expect(await stored()).toEqual(before);
  });
});

describe("ops subscriptions import under DynamoDB faults", () => {
  it("throttling and lost answers neither lose a row nor load one twice", async () => {
    const count = 200;
    const lines = [HEADER];
    for (let i = 0; i < count; i++) {
      lines.push(
        `sub_${String(i).padStart(4, "0")},cus_${i},pm_card_visa,${500 + i},usd,month,2026-01-01T00:00:00.000Z,,,,`,
      );
    }
    const path = await file("faults.csv", lines);
    const proxy = await startDynamoFaultProxy({
      target: tables.endpoint,
      seed: 17,
      rates: { throttleRate: 0.3, error500Rate: 0, dropResponseRate: 0.1 },
    });
    try {
      const flags = [...tableFlags(tables), "--endpoint", proxy.endpoint];
      const result = await ops(["subscriptions", "import", path, "--execute", "--json", ...flags]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const counts = json<{ counts: Record<string, number> }>(result).counts;
      // A put whose answer was lost is retried by the SDK and finds its own record: the same, unchanged.
      expect(counts.created! + counts.unchanged!).toBe(count);
      expect(counts.bad).toBe(0);
      expect(counts.different).toBe(0);
      const faults = proxy.counts();
      expect(faults.throttle).toBeGreaterThan(0);
      expect(faults["drop-response"]).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
    const records = await stored();
    expect(records).toHaveLength(count);
    expect(records.map((r) => r.amount)).toEqual(Array.from({ length: count }, (_, i) => 500 + i));
  });
});

/**
 * Large import files are streamed, never read whole: the reader hands rows on while most of the file is
 * still unread, the import works through a file batch by batch (its first batch is settled long before
 * the file is read to the end), and progress is reported on stderr along the way. On DynamoDB Local.
 */
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { SubscriptionsClient } from "../../functions/client/subscriptions-client";
import { importSubscriptions } from "../../cli/subscriptions/import";
import { readRows } from "../../cli/subscriptions/read-rows";
import { PROGRESS_EVERY_ROWS } from "../../cli/commands/subscriptions";
import { createTestTables, type TestTables } from "../support/dynamo";
import { ops, tableFlags } from "./ops-harness";

const ROWS = 60_000;
let tables: TestTables;
let csv: string;
let jsonl: string;

/** Writes `count` rows, one bad in every thousand, without holding them in memory either. */
async function generate(path: string, count: number, format: "csv" | "jsonl"): Promise<void> {
  const out = createWriteStream(path);
  if (format === "csv")
    out.write("subscriptionId,customerId,paymentMethodId,amount,currency,interval,nextPeriodStart\n");
  for (let i = 0; i < count; i++) {
    const row = {
      subscriptionId: `sub_${String(i).padStart(7, "0")}`,
      customerId: `cus_${i}`,
      paymentMethodId: "pm_card_visa",
      amount: i % 1000 === 999 ? -1 : 500 + (i % 5000),
      currency: "usd",
      interval: "month",
      nextPeriodStart: "2026-01-01T00:00:00.000Z",
    };
    const line = format === "csv" ? Object.values(row).join(",") : JSON.stringify(row);
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  out.end();
  await finished(out);
}

beforeAll(async () => {
  tables = await createTestTables("cli-import-stream");
  const dir = await mkdtemp(join(tmpdir(), "import-stream-"));
  csv = join(dir, "large.csv");
  jsonl = join(dir, "large.jsonl");
  await Promise.all([generate(csv, ROWS, "csv"), generate(jsonl, ROWS, "jsonl")]);
});

describe("reading a large file", () => {
  it.each(["csv", "jsonl"] as const)(
    "%s: rows come while most of the file is still unread",
    async (format) => {
      const path = format === "csv" ? csv : jsonl;
      const size = (await stat(path)).size;
      const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
      let rows = 0;
      for await (const row of readRows(stream, format)) {
        expect(row.kind).toBe("row");
        if (++rows === 2_000) break;
      }
      // 2,000 rows of about 100 bytes were handed on after at most a few 64 KB chunks of several MB.
      expect(stream.bytesRead).toBeLessThan(size / 10);
      expect(stream.destroyed).toBe(true);
    },
  );
});

describe("importing a large file", () => {
  it("works through it batch by batch: its first batch is settled with most of the file unread", async () => {
    const size = (await stat(csv)).size;
    const stream = createReadStream(csv, { highWaterMark: 64 * 1024 });
    const client = new SubscriptionsClient({ doc: tables.doc, tables: tables.names, shardCount: 4 });
    const readAtBatch: number[] = [];
    const counts = await importSubscriptions(
      readRows(stream, "csv"),
      {
        client,
        doc: tables.doc,
        subscriptionsTable: tables.names.subscriptions,
        shardCount: 4,
        now: () => new Date().toISOString(),
        execute: false,
        concurrency: 8,
      },
      { event: () => undefined, progress: () => void readAtBatch.push(stream.bytesRead) },
    );
    expect(counts).toMatchObject({ rows: ROWS, bad: ROWS / 1000, wouldCreate: ROWS - ROWS / 1000 });
    // Batches of 100 rows: hundreds of them, the first while under a tenth of the file had been read.
    expect(readAtBatch.length).toBeGreaterThan(ROWS / 200);
    expect(readAtBatch[0]).toBeLessThan(size / 10);
    expect(readAtBatch.at(-1)).toBe(size);
  });

  it("ops shows progress on stderr as it goes, and the counts at the end", async () => {
    const result = await ops(["subscriptions", "import", jsonl, ...tableFlags(tables)]);
    expect(result.code).toBe(1); // one row in a thousand is bad
    const progress = result.stderr.split("\n").filter((l) => l.startsWith("import: "));
    expect(progress).toHaveLength(Math.floor(ROWS / PROGRESS_EVERY_ROWS));
    expect(progress[0]).toMatch(
      /^import: 10\d{3} rows to line 10\d{3}: 10\d{3} to create, 0 unchanged, 0 different, 10 bad$/,
    );
    expect(result.stdout).toMatch(/rows read\s+60000\b/);
    expect(result.stdout).toMatch(/would be created\s+59940\b/);
    expect(result.stdout.split("\n").filter((l) => l.startsWith("line "))).toHaveLength(60);
  });
});

/**
 * The rows of an import file, read as a stream: CSV (a header line naming the fields) or JSON Lines (one
 * JSON object per line). The file is never read whole; each row is handed on as soon as its line is
 * read, numbered by the line it starts on, so a file of any size goes through in constant memory.
 *
 * CSV has no types: cells of the numeric fields that are written as plain whole numbers become numbers,
 * anything else stays text (so "12.50" in `amount` is reported as not a number of minor units, never
 * rounded). An empty cell is a field not given.
 */
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { CsvRecordReader } from "./csv";

export type ImportFormat = "csv" | "jsonl";

export type RowRead =
  | { readonly kind: "row"; readonly line: number; readonly fields: Readonly<Record<string, unknown>> }
  /** A line that is not a row at all (bad JSON, a broken quote, the wrong number of cells). */
  | { readonly kind: "unreadable"; readonly line: number; readonly reason: string };

const NUMERIC_FIELDS = new Set(["amount", "shard", "anchorDay", "anchorMonth"]);
const WHOLE_NUMBER = /^-?\d+$/;

/** The format a file name implies, or null. */
export function formatOf(path: string): ImportFormat | null {
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(jsonl|ndjson)$/i.test(path)) return "jsonl";
  return null;
}

export async function* readRows(input: Readable, format: ImportFormat): AsyncGenerator<RowRead> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    yield* format === "csv" ? csvRows(lines) : jsonRows(lines);
  } finally {
    // Also when the caller stops early: the file is let go of, not left open half read.
    lines.close();
    input.destroy();
  }
}

async function* jsonRows(lines: AsyncIterable<string>): AsyncGenerator<RowRead> {
  let line = 0;
  for await (const text of lines) {
    line += 1;
    const trimmed = (line === 1 ? stripBom(text) : text).trim();
    if (trimmed === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      yield { kind: "unreadable", line, reason: `not JSON (${(error as Error).message})` };
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      yield { kind: "unreadable", line, reason: "not a JSON object" };
      continue;
    }
    yield { kind: "row", line, fields: value as Record<string, unknown> };
  }
}

async function* csvRows(lines: AsyncIterable<string>): AsyncGenerator<RowRead> {
  const records = new CsvRecordReader();
  let header: readonly string[] | null = null;
  let line = 0;
  let start = 1;
  for await (const text of lines) {
    line += 1;
    if (records.pendingLines === 0) {
      start = line;
      if (text.trim() === "") continue;
    }
    const record = records.push(line === 1 ? stripBom(text) : text);
    if (record === null) continue;
    if (!record.ok) {
      yield { kind: "unreadable", line: start, reason: record.reason };
      continue;
    }
    if (header === null) {
      header = record.cells.map((c) => c.trim());
      const repeated = header.find((name, i) => header!.indexOf(name) !== i);
      if (repeated !== undefined || header.includes("")) {
        yield {
          kind: "unreadable",
          line: start,
          reason:
            repeated !== undefined ? `the header names ${repeated} twice` : "the header has an empty name",
        };
        return;
      }
      continue;
    }
    if (record.cells.length !== header.length) {
      yield {
        kind: "unreadable",
        line: start,
        reason: `${record.cells.length} cells, but the header names ${header.length} fields`,
      };
      continue;
    }
    yield { kind: "row", line: start, fields: fieldsOf(header, record.cells) };
  }
  if (records.pendingLines > 0) {
    yield {
      kind: "unreadable",
      line: start,
      reason: "a quoted field is not closed before the end of the file",
    };
  }
}

function fieldsOf(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const cell = cells[i]!.trim();
    if (cell === "") return;
    fields[name] = NUMERIC_FIELDS.has(name) && WHOLE_NUMBER.test(cell) ? Number(cell) : cell;
  });
  return fields;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * CSV as RFC 4180 writes it, one record at a time: comma-separated, fields optionally in double quotes,
 * `""` for a quote inside quotes, and quoted fields may span lines. The caller feeds physical lines
 * (readline has already dropped the line ends); a record is complete when no quote is left open.
 */

export type CsvRecord =
  { readonly ok: true; readonly cells: readonly string[] } | { readonly ok: false; readonly reason: string };

/** A quoted field longer than this many lines is taken for a quote that was never closed. */
export const MAX_RECORD_LINES = 100;

/** Collects physical lines into records. */
export class CsvRecordReader {
  private buffered: string[] = [];

  /** The record that `line` completes, or null while a quoted field is still open. */
  push(line: string): CsvRecord | null {
    this.buffered.push(line);
    const text = this.buffered.join("\n");
    if (quotesOpen(text)) {
      if (this.buffered.length < MAX_RECORD_LINES) return null;
      this.buffered = [];
      return { ok: false, reason: `a quoted field is not closed within ${MAX_RECORD_LINES} lines` };
    }
    this.buffered = [];
    return parseRecord(text);
  }

  /** Lines of a record that never closed its quote (at the end of the file), if any. */
  get pendingLines(): number {
    return this.buffered.length;
  }
}

/** Whether the text ends inside a quoted field (only a quote at a field's start opens one). */
function quotesOpen(text: string): boolean {
  let quoted = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') i += 1;
      else if (char === '"') quoted = false;
      continue;
    }
    if (char === '"' && fieldStart) quoted = true;
    fieldStart = char === ",";
  }
  return quoted;
}

/** One record's cells. A quote inside an unquoted field, or text after a closing quote, is an error. */
export function parseRecord(text: string): CsvRecord {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let cell = "";
      i += 1;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end === -1) return { ok: false, reason: "a quoted field is not closed" };
        cell += text.slice(i, end);
        if (text[end + 1] === '"') {
          cell += '"';
          i = end + 2;
          continue;
        }
        i = end + 1;
        break;
      }
      cells.push(cell);
      if (i < text.length && text[i] !== ",") {
        return { ok: false, reason: `text after a closing quote in field ${cells.length}` };
      }
    } else {
      const end = text.indexOf(",", i);
      const cell = end === -1 ? text.slice(i) : text.slice(i, end);
      if (cell.includes('"'))
        return { ok: false, reason: `a quote inside unquoted field ${cells.length + 1}` };
      cells.push(cell);
      i = end === -1 ? text.length : end;
    }
    if (i >= text.length) return { ok: true, cells };
    i += 1; // the comma
  }
}

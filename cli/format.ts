/** Plain-text output for people: aligned tables, times with how long ago, nothing that needs a terminal. */

export type Cell = string | number | null | undefined;

/** An aligned table with a header row and a rule under it. Numbers are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === "number"));
  return columns([headers, ...text], { right: numeric, rule: true }).join("\n");
}

/**
 * Rows of cells in aligned columns, two spaces apart, one line each: the one text-table renderer of the
 * ops CLI, `npm start`'s summary and the benchmark. `right` marks right-aligned columns; `rule` puts a
 * line of dashes under the first row (the header).
 */
export function columns(
  rows: readonly (readonly string[])[],
  options: { readonly right?: readonly boolean[]; readonly rule?: boolean } = {},
): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (options.right?.[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const lines = rows.map(line);
  if (options.rule && lines.length > 0) lines.splice(1, 0, line(widths.map((w) => "-".repeat(w))));
  return lines;
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined || cell === "") return "-";
  return String(cell);
}

/** "in 12s", "3m ago": how far `at` is from `now`. */
export function relative(at: number, now: number): string {
  const delta = at - now;
  const span = duration(Math.abs(delta));
  return delta >= 0 ? `in ${span}` : `${span} ago`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? ` ${s % 60}s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d`;
}

/** An epoch-ms instant as ISO-8601 with its distance from now, or "-" when unset. */
export function when(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined || at === 0) return "-";
  return `${new Date(at).toISOString()} (${relative(at, now)})`;
}

/** "succeeded=3 declined=1": a record of counts, zeroes left out. */
export function counts(record: Readonly<Record<string, number>> | undefined): string {
  if (!record) return "-";
  const parts = Object.entries(record)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(" ") : "nothing";
}

/** Minor units with the currency, e.g. "1999 usd". */
export function money(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return "-";
  return `${amount} ${currency ?? "?"}`;
}

/**
 * Date-times written in events: ISO-8601 with a zone (`2026-11-23T12:00:00Z`, `...T13:00:00.5+01:00`).
 * `Date.parse` alone rolls impossible dates over (2026-02-30 becomes 2 March, 24:00 the next day), so
 * every written part must come back unchanged from the instant it names.
 */

export const MIN_YEAR = 2000;
export const MAX_YEAR = 9999;
/** Real zone offsets run from -12:00 to +14:00. */
const MAX_OFFSET_MINUTES = 14 * 60;

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds since the epoch, or null when `text` is not a possible date-time with a zone. */
export function parseDateTime(text: string): number | null {
  const match = PATTERN.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second = "0", fraction = "0", sign, offsetH, offsetM] = match;
  const written = [year, month, day, hour, minute, second].map(Number);
  const [y = NaN, mo = NaN, d = NaN, h = NaN, mi = NaN, s = NaN] = written;
  if (y < MIN_YEAR || y > MAX_YEAR) return null;
  const local = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, "0")));
  if (!roundTrips(new Date(local), written)) return null;
  const offset = offsetMinutes(sign, offsetH, offsetM);
  return offset === null ? null : local - offset * 60_000;
}

/** The date's parts, as written: false when Date.UTC had to roll an impossible part over. */
function roundTrips(date: Date, written: readonly number[]): boolean {
  const back = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  return back.every((value, i) => value === written[i]);
}

function offsetMinutes(sign?: string, hours?: string, minutes?: string): number | null {
  if (sign === undefined) return 0; // "Z"
  const m = Number(minutes);
  const total = Number(hours) * 60 + m;
  if (m > 59 || total > MAX_OFFSET_MINUTES) return null;
  return sign === "-" ? -total : total;
}

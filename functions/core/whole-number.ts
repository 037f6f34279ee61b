/**
 * Reading a whole number that someone typed: an environment variable, a command-line flag, a CDK context
 * value. One reading for every tool, so that "0x10", "1e3", "12.0" or a number too large to be exact are
 * refused alike everywhere; each caller says what is wrong in its own error type, naming its own setting.
 */
import { z } from "zod";

/** Decimal digits (spaces around them ignored), exactly representable. */
const DIGITS = z
  .string()
  .trim()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER));

export type WholeNumberReading =
  | { readonly ok: true; readonly value: number }
  /** Not written in decimal digits, or too large to be exact. */
  | { readonly ok: false; readonly problem: "not-whole" }
  /** A whole number, outside [min, max]. */
  | { readonly ok: false; readonly problem: "out-of-range"; readonly value: number };

export function readWholeNumber(
  raw: string,
  min = 0,
  max: number = Number.MAX_SAFE_INTEGER,
): WholeNumberReading {
  const parsed = DIGITS.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: "not-whole" };
  const value = parsed.data;
  return value < min || value > max ? { ok: false, problem: "out-of-range", value } : { ok: true, value };
}

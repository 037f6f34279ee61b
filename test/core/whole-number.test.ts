/**
 * The one reading of a typed whole number (functions/core/whole-number.ts) that the CLI, `npm start`,
 * `npm run chaos`, the function's configuration and the CDK context all use.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readWholeNumber } from "../../functions/core/whole-number";

describe("readWholeNumber", () => {
  it("reads every safe whole number written in digits, whatever spaces surround it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom("", " ", "\t"),
        (n, pad) => {
          expect(readWholeNumber(`${pad}${n}${pad}`)).toEqual({ ok: true, value: n });
        },
      ),
    );
  });

  it.each([
    "",
    " ",
    "-1",
    "+1",
    "1.0",
    "1.5",
    "1e3",
    "0x10",
    "0b1",
    "1_000",
    "Infinity",
    "NaN",
    "１２",
    "9007199254740992",
  ])("refuses %j as not a whole number", (raw) => {
    expect(readWholeNumber(raw)).toEqual({ ok: false, problem: "not-whole" });
  });

  it("tells a whole number outside the range from one that is not whole, keeping the value", () => {
    expect(readWholeNumber("0", 1, 10)).toEqual({ ok: false, problem: "out-of-range", value: 0 });
    expect(readWholeNumber("11", 1, 10)).toEqual({ ok: false, problem: "out-of-range", value: 11 });
    expect(readWholeNumber("1", 1, 10)).toEqual({ ok: true, value: 1 });
    expect(readWholeNumber("10", 1, 10)).toEqual({ ok: true, value: 10 });
  });
});

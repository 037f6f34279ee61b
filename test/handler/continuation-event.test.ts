/**
 * The continuation link's event, as strict as the others: what continuationEvent builds always parses
 * back to the run it continues (a scheduled run's, or a rerun's with its own fields), and anything
 * malformed is refused naming the field, before any lease or charge (invariant 6, docs/design.md).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  continuationEvent,
  InvalidEventError,
  parseBillingEvent,
  type BillingRequest,
} from "../../functions/handler/billing-event";
import { MAX_CLOCK_SKEW_MS } from "../../functions/core/clock";

const NOW = Date.parse("2026-11-23T12:30:00.000Z");
const AS_OF = "2026-11-23T12:00:00.000Z";
const SCHEDULED_RUN = `scheduled:${AS_OF}`;
const RERUN = "rerun:2026-11-23T12:00:00.000Z:3f1c9a2b";

const link = (fields: Record<string, unknown> = {}) => ({
  action: "continue",
  runId: SCHEDULED_RUN,
  link: 1,
  asOf: AS_OF,
  ...fields,
});

function refused(event: unknown, shardCount = 4): string {
  try {
    parseBillingEvent(event, NOW, shardCount);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return (error as InvalidEventError).message;
  }
  throw new Error(`accepted: ${JSON.stringify(event)}`);
}

describe("a continuation link's event", () => {
  it("continues a scheduled run: its id, its instant, its kind, and the link's place in the chain", () => {
    expect(parseBillingEvent(link({ link: 3 }), NOW, 1)).toEqual({
      kind: "scheduled",
      asOf: AS_OF,
      dryRun: false,
      continuation: { runId: SCHEDULED_RUN, link: 3 },
    });
  });

  it("continues a rerun with the rerun's own fields", () => {
    const event = link({
      runId: RERUN,
      subscriptionIds: ["sub_1", "sub_2"],
      maxCharges: 4,
      shards: [1],
      reason: "ticket 4711",
    });
    expect(parseBillingEvent(event, NOW, 2)).toEqual({
      kind: "rerun",
      asOf: AS_OF,
      dryRun: false,
      subscriptionIds: ["sub_1", "sub_2"],
      maxCharges: 4,
      shards: [1],
      reason: "ticket 4711",
      continuation: { runId: RERUN, link: 1 },
    });
  });

  it("bills a late link as of its run's instant, and a link from a fast clock as of now", () => {
    expect(parseBillingEvent(link(), Date.parse("2026-11-24T09:00:00Z"), 1).asOf).toBe(AS_OF);
    const ahead = new Date(NOW + MAX_CLOCK_SKEW_MS - 1000).toISOString();
    expect(parseBillingEvent(link({ asOf: ahead }), NOW, 1).asOf).toBe(new Date(NOW).toISOString());
  });

  it.each<[string, unknown, RegExp]>([
    ["no run id", { action: "continue", link: 1, asOf: AS_OF }, /runId: is required/],
    ["a run id the function never gives", link({ runId: "manual:1" }), /runId: must be a run id/],
    ["a run id with a space", link({ runId: "scheduled:2026 11" }), /runId: must be a run id/],
    ["link 0 (the run's first invocation is no link)", link({ link: 0 }), /link: must be at least 1/],
    ["a fractional link", link({ link: 1.5 }), /link: must be a whole number/],
    ["a link beyond any chain", link({ link: 1001 }), /link: must be at most 1000/],
    ["a link as a string", link({ link: "2" }), /link: /],
    ["no instant", { action: "continue", runId: SCHEDULED_RUN, link: 1 }, /asOf: is required/],
    ["an instant in the future", link({ asOf: "2026-11-23T13:00:00Z" }), /asOf: must not be in the future/],
    ["a date that does not exist", link({ asOf: "2026-02-30T00:00:00Z" }), /asOf: must be an ISO-8601/],
    ["a dry run (a link always bills)", link({ dryRun: true }), /unknown field\(s\): dryRun/],
    ["an unknown field", link({ attempt: 2 }), /unknown field\(s\): attempt/],
    [
      "a scheduled run's link carrying a rerun's fields",
      link({ subscriptionIds: ["sub_1"], maxCharges: 3 }),
      /subscriptionIds: a scheduled run's continuation carries no rerun fields.*maxCharges: /,
    ],
    [
      "a rerun link with a shard out of range",
      link({ runId: RERUN, shards: [9] }),
      /shards\[0\]: there are 4/,
    ],
    [
      "a rerun link naming a subscription twice",
      link({ runId: RERUN, subscriptionIds: ["a", "a"] }),
      /subscriptionIds\[1\]: "a" is listed twice/,
    ],
    ["a rerun link with a cap of 0", link({ runId: RERUN, maxCharges: 0 }), /maxCharges: must be at least 1/],
  ])("refuses %s, naming the field", (_what, event, message) => {
    expect(refused(event)).toMatch(message);
  });

  it("parses back exactly what continuationEvent builds, for any run it continues", () => {
    const ids = fc.uniqueArray(fc.stringMatching(/^sub_[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 5 });
    const requests = fc.record(
      {
        kind: fc.constantFrom<"scheduled" | "rerun">("scheduled", "rerun"),
        asOfMs: fc.integer({ min: Date.UTC(2001, 0, 1), max: NOW }),
        subscriptionIds: ids,
        maxCharges: fc.integer({ min: 1, max: 100_000 }),
        shards: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
        reason: fc.string({ minLength: 1, maxLength: 50 }),
        link: fc.integer({ min: 1, max: 1000 }),
      },
      { requiredKeys: ["kind", "asOfMs", "link"] },
    );
    fc.assert(
      fc.property(requests, (r) => {
        const asOf = new Date(r.asOfMs).toISOString();
        const runId = r.kind === "scheduled" ? `scheduled:${asOf}` : `rerun:${asOf}:abcd1234`;
        const rerunFields =
          r.kind === "rerun"
            ? {
                ...(r.subscriptionIds && { subscriptionIds: r.subscriptionIds }),
                ...(r.shards && { shards: r.shards }),
                ...(r.reason && { reason: r.reason }),
              }
            : {};
        const request: BillingRequest = { kind: r.kind, asOf, dryRun: false, ...rerunFields };
        const maxCharges = r.kind === "rerun" ? r.maxCharges : undefined;
        const event = continuationEvent(runId, request, r.link, maxCharges);
        // The event crosses Lambda as JSON.
        const parsed = parseBillingEvent(JSON.parse(JSON.stringify(event)), NOW, 4);
        expect(parsed).toEqual({
          ...request,
          ...(maxCharges !== undefined && { maxCharges }),
          continuation: { runId, link: r.link },
        });
      }),
      { numRuns: 300 },
    );
  });
});

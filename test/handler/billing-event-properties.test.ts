/**
 * The event parser, by property: any JSON, and every mutation of a valid event (a field added, dropped
 * or of another type, a date far ahead or impossible, a duplicated id or shard, a huge string), is either
 * refused with a bounded InvalidEventError or accepted with exactly the meaning of a valid event, never
 * billing later than now. Then, through the real handler on DynamoDB Local and the Stripe emulator: a
 * refused event changes no table and sends Stripe nothing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import {
  InvalidEventError,
  parseBillingEvent,
  type BillingRequest,
} from "../../functions/handler/billing-event";
import { dueSubscriptions } from "../../dev/seed";
import { arbitraryEvent, mutations, validEvent, type Case } from "./event-arbitraries";
import { handlerEnvironment, lambdaContext, loadHandler, settle, stackState, seedStack } from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const nows = fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(9990, 0, 1) });
const shardCounts = fc.integer({ min: 1, max: 8 });

function outcome(event: unknown, now: number, shardCount: number): BillingRequest | InvalidEventError {
  try {
    return parseBillingEvent(event, now, shardCount);
  } catch (error) {
    if (error instanceof InvalidEventError) return error;
    throw error; // anything else is a bug the property reports
  }
}

/** A refusal is bounded: a few short problems, the message under 2 KB. */
function expectBounded(error: InvalidEventError): void {
  expect(Buffer.byteLength(error.message)).toBeLessThan(2048);
  expect(error.problems.length).toBeLessThanOrEqual(11);
  expect(error.problems.length).toBeGreaterThan(0);
}

describe("parseBillingEvent", () => {
  it("gives every valid event exactly its meaning, never later than now", () => {
    fc.assert(
      fc.property(
        nows.chain((now) => shardCounts.chain((n) => validEvent(now, n).map((v) => ({ now, n, v })))),
        ({ now, n, v }) => {
          const request = parseBillingEvent(v.event, now, n);
          expect(request).toEqual(v.request);
          expect(Date.parse(request.asOf)).toBeLessThanOrEqual(now);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses every mutation that breaks an event, and reads the rest exactly as the valid event they are", () => {
    fc.assert(
      fc.property(
        nows.chain((now) => shardCounts.chain((n) => mutations(now, n).map((c) => ({ now, n, c })))),
        ({ now, n, c }: { now: number; n: number; c: Case }) => {
          const result = outcome(c.event, now, n);
          if (c.expected === "refused") {
            expect(result, c.what).toBeInstanceOf(InvalidEventError);
            if (result instanceof InvalidEventError) expectBounded(result);
          } else {
            expect(result, c.what).toEqual(c.expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("refuses arbitrary JSON with a bounded message, or accepts it only with a meaning a valid event has", () => {
    fc.assert(
      fc.property(arbitraryEvent, nows, shardCounts, (event, now, n) => {
        const result = outcome(event, now, n);
        if (result instanceof InvalidEventError) return expectBounded(result);
        // Accepted: only a rerun's own fields can have made it, and it bills no later than now.
        expect(result.kind).toBe("rerun");
        expect(Date.parse(result.asOf)).toBeLessThanOrEqual(now);
        expect(outcome({ ...rebuilt(result) }, now, n)).toEqual(result);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The rerun event that means `request`. */
function rebuilt(request: BillingRequest): Record<string, unknown> {
  const { kind: _kind, eventId: _eventId, ...fields } = request;
  return { action: "rerun", ...fields };
}

describe("refused events through the handler", () => {
  let stack: TablesAndEmulator;
  beforeAll(async () => {
    stack = await startTablesAndEmulator("event-props");
    // Due work on every shard: an event wrongly accepted would write and call Stripe.
    await seedStack(stack, dueSubscriptions(4, "2026-11-23T12:00:00.000Z", 2));
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await stack?.emulator.stop();
  });

  it("leaves every table and the emulator untouched", { timeout: 120_000 }, async () => {
    const handler = await loadHandler(handlerEnvironment(stack, { SHARD_COUNT: "2", LOG_LEVEL: "SILENT" }));
    const before = await stackState(stack);
    // A minute ahead of the handler's clock: far-future dates stay far ahead while the property runs.
    const now = Date.now() + 60_000;
    const refusedEvents = fc.oneof(
      mutations(now, 2)
        .filter((c) => c.expected === "refused")
        .map((c) => c.event),
      arbitraryEvent.filter((e) => outcome(e, Date.now(), 2) instanceof InvalidEventError),
    );
    await fc.assert(
      fc.asyncProperty(refusedEvents, async (event) => {
        const { error } = await settle(handler(event, lambdaContext()));
        expect(error?.name).toBe("InvalidEventError");
        expect(await stackState(stack)).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });
});

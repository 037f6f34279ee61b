/**
 * A continuation link is only another contender of its run, so Lambda's at-least-once delivery can do
 * no harm (invariants 1, 2 and 6, docs/design.md): a link delivered twice at once races for the lease and
 * every period is charged once; a link that arrives after a later run finished everything changes nothing
 * and sends Stripe nothing; a stale link bills only what was due at its own instant, and the run it
 * finishes satisfies no later run. Through the real handler, on DynamoDB Local and the Stripe emulator.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dueSubscriptions, seedSubscriptions, stripeClient, type SubscriptionSeed } from "../../../dev/seed";
import { checkInvariants, fetchProviderRecord } from "../../../dev/invariants";
import {
  budgetContext,
  captureOutput,
  HANDLER_KEY,
  handlerEnvironment,
  loadHandler,
  scheduledEvent,
  stackState,
} from "../../handler/harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../../support/emulator";

const AS_OF = "2026-11-23T12:00:00.000Z";
/** The next hourly tick. */
const NEXT_TICK = "2026-11-23T13:00:00.000Z";
const LINK = { action: "continue", runId: `scheduled:${AS_OF}`, link: 1, asOf: AS_OF };

let stack: TablesAndEmulator;

beforeEach(async () => {
  stack = await startTablesAndEmulator("links");
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await stack?.emulator.stop();
});

async function seed(subscriptions: readonly SubscriptionSeed[]): Promise<void> {
  await seedSubscriptions(
    stack.tables.doc,
    stack.tables.names,
    stripeClient(HANDLER_KEY, stack.emulator.url),
    subscriptions,
  );
}

/** A fresh handler (its own cold start) on this stack; it sends no link of its own (the harness allows none). */
const handler = () => loadHandler(handlerEnvironment(stack));
const run = async (event: unknown) =>
  (await captureOutput(async () => (await handler())(event, budgetContext(120_000)))).result;

async function invariantsAt(asOf: string) {
  const provider = await fetchProviderRecord(stack.emulator.url);
  return checkInvariants(stack.tables.doc, stack.tables.names, provider, asOf);
}

describe("continuation links delivered more than once, late or stale", () => {
  it("a link delivered twice at once: both contend for the lease, each period is charged once", async () => {
    await seed(dueSubscriptions(30, AS_OF));
    const [a, b] = await Promise.all([handler(), handler()]);
    const results = await captureOutput(() =>
      Promise.all([a(LINK, budgetContext(120_000)), b(LINK, budgetContext(120_000))]),
    );
    const led = results.result.flatMap((r) => (r as { led: { outcome: string }[] }).led);
    expect(led.filter((s) => s.outcome === "complete")).toHaveLength(1);
    const report = await invariantsAt(AS_OF);
    expect(report.violations).toEqual([]);
    expect(report.counts.providerSucceeded).toBe(30);
  });

  it("a link that arrives after the next tick finished everything changes nothing and sends nothing", async () => {
    await seed(dueSubscriptions(10, AS_OF));
    expect(await run(scheduledEvent(NEXT_TICK))).toMatchObject({ led: [{ outcome: "complete" }] });
    const before = await stackState(stack);
    const late = await run(LINK);
    expect(late).toMatchObject({
      led: [],
      stoodBy: [{ shard: 0, reason: expect.stringMatching(/finished everything due at 2026-11-23T13:00/) }],
    });
    // No lease taken, no fence raised, no write, no Stripe request.
    expect(await stackState(stack)).toEqual(before);
  });

  it("a stale link bills only what was due at its instant, and its finished run satisfies no later run", async () => {
    const onTime = dueSubscriptions(8, AS_OF, 1, "due");
    // Due only after the stale link's instant, before the next tick's.
    const later = dueSubscriptions(6, AS_OF, 1, "later").map((s) => ({
      ...s,
      anchorDay: 23,
      nextPeriodStart: "2026-11-23T12:30:00.000Z",
    }));
    await seed([...onTime, ...later]);

    expect(await run(LINK)).toMatchObject({ asOf: AS_OF, led: [{ outcome: "complete" }] });
    const afterLink = await fetchProviderRecord(stack.emulator.url);
    const charged = afterLink.paymentIntents.filter((pi) => pi.status === "succeeded");
    expect(charged.map((pi) => pi.metadata.subscription_id).sort()).toEqual(
      onTime.map((s) => s.subscriptionId).sort(),
    );

    // The link's run was complete as of 12:00 only: the 13:00 tick is not satisfied by it, and bills the rest.
    expect(await run(scheduledEvent(NEXT_TICK))).toMatchObject({
      led: [{ outcome: "complete", tally: { succeeded: later.length } }],
    });
    const report = await invariantsAt(NEXT_TICK);
    expect(report.violations).toEqual([]);
    expect(report.counts.providerSucceeded).toBe(onTime.length + later.length);
  });
});

/**
 * What operators' hand-written events did before (issue 12), through the real handler on DynamoDB Local
 * and the Stripe emulator: a scheduled event a year ahead, a scheduled event carrying rerun fields, an
 * impossible date, a 1 MB key name, and log lines labelled with the previous invocation's run. Each is
 * refused with nothing written and nothing sent to Stripe, or bills as of no later than now.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { dueSubscriptions, monthlySeed, type SubscriptionSeed } from "../../dev/seed";
import { scanAll } from "../../dev/invariants";
import {
  captureOutput,
  handlerEnvironment,
  lambdaContext,
  loadHandler,
  logLines,
  scheduledEvent,
  settle,
  stackState,
  seedStack,
} from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const PAST = "2026-11-23T12:00:00.000Z";
const YEAR_MS = 365 * 86_400_000;
let stack: TablesAndEmulator;

/** A subscription whose next period starts `inMs` from now. */
function startingIn(inMs: number, subscriptionId: string): SubscriptionSeed {
  return monthlySeed(subscriptionId, new Date(Date.now() + inMs), { amount: 1500 });
}

beforeAll(async () => {
  stack = await startTablesAndEmulator("event-regressions");
  await seedStack(stack, [...dueSubscriptions(3, PAST), startingIn(2 * 60_000, "sub_starts_in_2_minutes")]);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await stack?.emulator.stop();
});

async function handler() {
  return loadHandler(handlerEnvironment(stack));
}

/** Refused, naming what `message` matches, with every table and the emulator exactly as before. */
async function expectRefusedChangingNothing(event: unknown, message: RegExp): Promise<Error> {
  const invoke = await handler();
  const before = await stackState(stack);
  const { error } = await settle(invoke(event, lambdaContext()));
  expect(error?.name).toBe("InvalidEventError");
  expect(error?.message).toMatch(message);
  expect(await stackState(stack)).toEqual(before);
  return error ?? new Error("unreachable");
}

describe("a scheduled event from the future", () => {
  it.each([
    ["a year ahead", new Date(Date.now() + YEAR_MS).toISOString()],
    ["in 2099", "2099-01-01T00:00:00Z"],
    ["six minutes ahead", new Date(Date.now() + 6 * 60_000).toISOString()],
  ])("is refused when its time is %s, charging and writing nothing", async (_name, time) => {
    await expectRefusedChangingNothing(scheduledEvent(time), /time: must not be in the future/);
  });

  it("bills a few minutes of clock skew as of now, so a period starting in two minutes is not charged", async () => {
    const invoke = await handler();
    const time = new Date(Date.now() + 3 * 60_000).toISOString();
    const result = z
      .object({ status: z.literal("ok"), asOf: z.string() })
      .parse(await invoke(scheduledEvent(time), lambdaContext()));
    expect(Date.parse(result.asOf)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(result.asOf)).toBeLessThan(Date.parse(time));
    const charges = await scanAll(stack.tables.doc, stack.tables.names.charges);
    expect(charges.map((c) => c.subscriptionId)).not.toContain("sub_starts_in_2_minutes");
    const intents = stack.emulator.snapshot().paymentIntents;
    expect(JSON.stringify(intents)).not.toContain("sub_starts_in_2_minutes");
  });

  it("has a rerun's dry run a few minutes ahead report as of now, without the period not yet begun", async () => {
    const invoke = await handler();
    const asOf = new Date(Date.now() + 4 * 60_000).toISOString();
    const before = await stackState(stack);
    const result = z
      .object({ status: z.literal("dry-run"), asOf: z.string() })
      .loose()
      .parse(await invoke({ action: "rerun", asOf, dryRun: true }, lambdaContext()));
    expect(Date.parse(result.asOf)).toBeLessThanOrEqual(Date.now());
    expect(JSON.stringify(result)).not.toContain("sub_starts_in_2_minutes");
    expect(await stackState(stack)).toEqual(before);
  });
});

describe("a scheduled event carrying other fields", () => {
  it.each([
    ["dryRun", true],
    ["subscriptionIds", ["sub_00000"]],
    ["maxCharges", 1],
    ["shards", [0]],
    ["replay-name", "archive"],
    ["anything", { nested: 1 }],
  ])("is refused naming %s, charging nothing", async (field, value) => {
    const event = { ...scheduledEvent(PAST), [field]: value };
    await expectRefusedChangingNothing(event, new RegExp(`unknown field\\(s\\): ${field}`));
  });

  it("is refused when its detail is not empty", async () => {
    const event = { ...scheduledEvent(PAST), detail: { dryRun: true } };
    await expectRefusedChangingNothing(event, /unknown field\(s\) in detail: dryRun/);
  });
});

describe("impossible dates", () => {
  it.each([
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T23:59:60Z",
    "1999-12-31T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-04-31T12:00:00+02:00",
    "2026-11-23T12:00:00+15:00",
  ])("refuses %s as a scheduled time and as a rerun's asOf", async (date) => {
    await expectRefusedChangingNothing(scheduledEvent(date), /time: must be an ISO-8601 date-time/);
    await expectRefusedChangingNothing({ action: "rerun", asOf: date, dryRun: true }, /asOf: must be/);
  });
});

describe("huge input", () => {
  it("keeps the error and the log line short when an unknown key name is 1 MB", async () => {
    const key = "k".repeat(1_000_000);
    const { result: error, output } = await captureOutput(() =>
      expectRefusedChangingNothing({ action: "rerun", [key]: 1 }, /unknown field\(s\): k{40}\.\.\./),
    );
    expect(Buffer.byteLength(error.message)).toBeLessThan(2048);
    const refused = output.split("\n").filter((line) => line.includes('"event refused"'));
    expect(refused).toHaveLength(1);
    for (const line of refused) expect(Buffer.byteLength(line)).toBeLessThan(4096);
    expect(output).not.toContain("k".repeat(100));
  });

  it("lists at most ten problems and counts the rest", async () => {
    const event = { action: "rerun", subscriptionIds: Array.from({ length: 1000 }, () => "") };
    const error = await expectRefusedChangingNothing(event, /and 990 more/);
    expect(Buffer.byteLength(error.message)).toBeLessThan(2048);
  });

  it("refuses duplicated shards and ids, naming the first duplicate", async () => {
    await expectRefusedChangingNothing(
      { action: "rerun", shards: [0, 0, 0] },
      /shards\[1\]: 0 is listed twice/,
    );
    const ids = Array.from({ length: 50 }, () => "sub_00000");
    await expectRefusedChangingNothing(
      { action: "rerun", subscriptionIds: ids },
      /subscriptionIds\[1\]: "sub_00000" is listed twice/,
    );
  });
});

describe("per-invocation log keys", () => {
  it("are reset: an 'event refused' line carries no runId, owner or asOf of the invocation before", async () => {
    const invoke = await handler();
    const { output } = await captureOutput(async () => {
      await invoke({ action: "rerun", asOf: PAST, dryRun: true }, lambdaContext());
      await settle(invoke({ action: "rerun", nonsense: true }, lambdaContext()));
    });
    const lines = logLines(output);
    const dryRun = lines.find((l) => l.message === "dry run");
    const refused = lines.find((l) => l.message === "event refused");
    // The first invocation's lines did carry its keys, so their absence below means they were reset.
    expect(dryRun).toMatchObject({ runId: expect.any(String), owner: expect.any(String), asOf: PAST });
    expect(refused).toBeDefined();
    for (const key of ["runId", "owner", "asOf", "kind"]) expect(refused).not.toHaveProperty(key);
  });
});

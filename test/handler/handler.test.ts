/**
 * The Lambda handler as the console and EventBridge call it, against DynamoDB Local and the emulator:
 * malformed events are refused before any lease or charge, dry runs change nothing, and the Stripe key
 * never reaches a log line, including on error paths.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { dueSubscriptions } from "../../dev/seed";
import {
  HANDLER_KEY as KEY,
  handlerEnvironment,
  lambdaContext as context,
  loadHandler,
  scheduledEvent,
  stackState,
  seedStack,
} from "./harness";
import { startTablesAndEmulator, type TablesAndEmulator } from "../support/emulator";

const AS_OF = "2026-11-23T12:00:00.000Z";
let stack: TablesAndEmulator;

function environment(extra: Record<string, string> = {}): Record<string, string> {
  return handlerEnvironment(stack, extra);
}

beforeAll(async () => {
  stack = await startTablesAndEmulator("handler");
  await seedStack(stack, dueSubscriptions(5, AS_OF));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await stack?.emulator.stop();
});

describe("malformed console events", () => {
  const { time: _time, ...withoutTime } = scheduledEvent(AS_OF);
  const malformed: [string, unknown, RegExp][] = [
    ["an empty object", {}, /action: is required/],
    ["wrong types", { action: "rerun", dryRun: "yes", maxCharges: "10" }, /dryRun: .*boolean.*maxCharges: /s],
    ["an unknown field", { action: "rerun", subscriptionId: "sub_1" }, /unknown field\(s\): subscriptionId/],
    [
      "a date that is not a date",
      { action: "rerun", asOf: "2026-13-45T99:00:00Z" },
      /asOf: must be an ISO-8601 date-time/,
    ],
    ["a negative limit", { action: "rerun", maxCharges: -5 }, /maxCharges: must be at least 1/],
    ["an empty id list", { action: "rerun", subscriptionIds: [] }, /subscriptionIds: must list at least one/],
    [
      "an asOf in the future",
      { action: "rerun", asOf: "2099-01-01T00:00:00Z" },
      /asOf: must not be in the future/,
    ],
    ["an unknown action", { action: "charge-everyone" }, /action: must be "rerun"/],
    ["a scheduled event without a time", withoutTime, /time: is required/],
    ["not an object", "rerun", /must be a JSON object/],
  ];

  it.each(malformed)(
    "refuses %s, naming the field, with no table write and no Stripe request",
    async (_name, event, message) => {
      const handler = await loadHandler(environment());
      const before = await stackState(stack);
      await expect(handler(event, context())).rejects.toThrow(message);
      await expect(handler(event, context())).rejects.toMatchObject({ name: "InvalidEventError" });
      expect(await stackState(stack)).toEqual(before);
    },
  );
});

describe("dry run", () => {
  it("reports what would be charged and changes nothing", async () => {
    const handler = await loadHandler(environment());
    const before = await stackState(stack);
    const result = z
      .object({ status: z.string(), counts: z.object({ charge: z.number() }) })
      .parse(await handler({ action: "rerun", asOf: AS_OF, dryRun: true }, context()));
    expect(result.status).toBe("dry-run");
    expect(result.counts.charge).toBe(5);
    expect(await stackState(stack)).toEqual(before);
  });
});

describe("the Stripe key", () => {
  it("never appears in the logs of a run, a rerun, or a failing run", async () => {
    let logs = "";
    const capture = (chunk: string | Uint8Array) => ((logs += chunk.toString()), true);
    const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
    const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
    const errors: string[] = [];
    try {
      const handler = await loadHandler(environment());
      await handler(scheduledEvent(AS_OF), context());
      await handler({ action: "rerun", asOf: AS_OF }, context());
      await handler({ action: "rerun", nonsense: KEY }, context()).catch((e: Error) =>
        errors.push(e.message),
      );

      // Stripe failing on every request: the run fails or leaves charges in doubt; either way, no key.
      stack.emulator.setFaults({ error500Rate: 1 });
      const broken = await loadHandler(environment());
      await broken({ action: "rerun", asOf: AS_OF }, context()).catch((e: Error) => errors.push(e.message));
      stack.emulator.setFaults({});

      // DynamoDB unreachable: the run fails.
      const unreachable = await loadHandler(environment({ DYNAMODB_ENDPOINT: "http://127.0.0.1:9" }));
      await unreachable({ action: "rerun", asOf: AS_OF }, context()).catch((e: Error) =>
        errors.push(e.message),
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain("run finished"); // the capture really saw the handler's logs
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(logs).not.toContain(KEY);
    for (const message of errors) expect(message).not.toContain(KEY);
  });
});

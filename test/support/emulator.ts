/**
 * A Stripe emulator for a test file, with the hooks that start, clear and stop it: alone for the suites
 * that talk to Stripe only, or beside fresh DynamoDB Local tables for the billing suites. One copy of the
 * hooks, so every suite starts from the same clean state and leaves no emulator running.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import {
  startStripeEmulator,
  type StripeEmulator,
  type StripeEmulatorOptions,
} from "../../dev/stripe-emulator";
import { createTestTables, type TestTables } from "./dynamo";

/**
 * One emulator for a test file: started before its tests, stopped after, and cleared before each test
 * (objects, keys, one-shot and held requests dropped, faults off). `set` receives it.
 */
export function useEmulator(
  set: (emulator: StripeEmulator) => void,
  options: StripeEmulatorOptions = {},
): void {
  let current: StripeEmulator | undefined;
  beforeAll(async () => {
    current = await startStripeEmulator(options);
    set(current);
  });
  afterAll(async () => {
    await current?.stop();
  });
  beforeEach(() => {
    current?.reset();
    current?.setFaults({});
  });
}

export interface TablesAndEmulator {
  readonly tables: TestTables;
  readonly emulator: StripeEmulator;
}

export interface TablesAndEmulatorOptions {
  readonly emulator?: StripeEmulatorOptions;
  /** New tables and a new emulator for every test, instead of one pair for the file. */
  readonly each?: boolean;
}

/** Fresh tables named after `label` and a started emulator, made side by side. */
export async function startTablesAndEmulator(
  label: string,
  options: StripeEmulatorOptions = {},
): Promise<TablesAndEmulator> {
  const [tables, emulator] = await Promise.all([createTestTables(label), startStripeEmulator(options)]);
  return { tables, emulator };
}

/**
 * Tables of the file's own (named after `label`) and an emulator, made before the file's tests (or each
 * test) and the emulator stopped after. `set` receives them before the file's own later hooks (its
 * seeding) run: vitest runs a suite's before-hooks one after another, in order.
 */
export function useTablesAndEmulator(
  label: string,
  set: (started: TablesAndEmulator) => void,
  options: TablesAndEmulatorOptions = {},
): void {
  let emulator: StripeEmulator | undefined;
  const start = async () => {
    const started = await startTablesAndEmulator(label, options.emulator);
    emulator = started.emulator;
    set(started);
  };
  const stop = async () => {
    await emulator?.stop();
  };
  if (options.each) {
    beforeEach(start);
    afterEach(stop);
  } else {
    beforeAll(start);
    afterAll(stop);
  }
}

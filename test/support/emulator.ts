/**
 * A Stripe emulator for a test file, with the hooks that start, clear and stop it, for the suites that
 * talk to Stripe only. One copy of the hooks, so every suite starts from the same clean state and leaves
 * no emulator running.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import {
  startStripeEmulator,
  type StripeEmulator,
  type StripeEmulatorOptions,
} from "../../dev/stripe-emulator";

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

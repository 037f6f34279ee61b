/** Seeding for the suites: through the Stripe emulator with the tests' key, into the suite's tables. */
import { seedSubscriptions, stripeClient, type InvalidSeed, type SubscriptionSeed } from "../../dev/seed";
import { TEST_API_KEY } from "./billing";
import type { TestTables } from "./dynamo";

/** Customers with saved cards in the emulator at `emulatorUrl`, and the subscriptions in `tables`. */
export function seedWithTestKey(
  tables: TestTables,
  emulatorUrl: string,
  seeds: readonly SubscriptionSeed[],
  invalid: readonly InvalidSeed[] = [],
): Promise<void> {
  return seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulatorUrl), seeds, invalid);
}

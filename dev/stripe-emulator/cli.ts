/**
 * Runs the emulator until SIGINT or SIGTERM:
 *
 *   npx tsx dev/stripe-emulator/cli.ts --port 12111 [--host 127.0.0.1] [--latency-ms 50]
 *     [--rate-limit 25] [--seed 7] [--state-file .stripe-emulator.json] [--search-delay-ms 1000]
 *     [--single-account]
 *
 * It prints one line when it is ready: `stripe-emulator listening on http://127.0.0.1:12111 (API version ...)`.
 */
import { parseArgs } from "node:util";
import { startStripeEmulator, type FaultPlan } from "./index";
import { PINNED_API_VERSION } from "./api-version";

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`stripe-emulator: --${name} needs a number >= 0, got ${raw}`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      "latency-ms": { type: "string" },
      "rate-limit": { type: "string" },
      seed: { type: "string" },
      "state-file": { type: "string" },
      "search-delay-ms": { type: "string" },
      "single-account": { type: "boolean" },
    },
    strict: true,
  });
  const latencyMs = number("latency-ms", values["latency-ms"]);
  const rps = number("rate-limit", values["rate-limit"]);
  const faults: FaultPlan = {
    ...(latencyMs !== undefined && { latencyMs }),
    ...(rps !== undefined && rps > 0 && { rateLimit: { requestsPerSecond: rps } }),
  };
  const seed = number("seed", values.seed);
  const searchDelay = number("search-delay-ms", values["search-delay-ms"]);
  const emulator = await startStripeEmulator({
    port: number("port", values.port) ?? 0,
    host: values.host,
    faults,
    ...(seed !== undefined && { seed }),
    ...(values["state-file"] !== undefined && { stateFile: values["state-file"] }),
    ...(searchDelay !== undefined && { searchIndexingDelayMs: searchDelay }),
    ...(values["single-account"] === true && { singleAccount: true }),
  });
  console.log(`stripe-emulator listening on ${emulator.url} (API version ${PINNED_API_VERSION})`);

  const shutdown = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  console.error("stripe-emulator:", error instanceof Error ? error.message : error);
  process.exit(1);
});

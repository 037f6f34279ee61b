/**
 * The function's config for in-process contenders on this machine: DynamoDB Local's tables and the Stripe
 * emulator at a URL, the key given outright. The benchmark and the integration tests both build one; only
 * the key, the budget, the timeout and the timings differ, so the wiring is written once here.
 */
import type { FunctionConfig } from "../functions/handler/config";
import type { TableNames } from "../functions/schema/tables";

export interface LocalConfigOptions {
  readonly apiKey: string;
  /** The account's Stripe budget, shared by every leader (config.stripe.accountRequestsPerSecond). */
  readonly accountRequestsPerSecond: number;
  readonly timeoutMs: number;
  readonly lease: FunctionConfig["lease"];
  readonly run: FunctionConfig["run"];
}

export function localFunctionConfig(
  tables: { readonly endpoint: string; readonly names: TableNames },
  emulatorUrl: string,
  options: LocalConfigOptions,
): FunctionConfig {
  const url = new URL(emulatorUrl);
  return {
    tables: tables.names,
    dynamoEndpoint: tables.endpoint,
    stripe: {
      key: { from: "env", value: options.apiKey },
      host: url.hostname,
      port: Number(url.port),
      protocol: "http",
      accountRequestsPerSecond: options.accountRequestsPerSecond,
      timeoutMs: options.timeoutMs,
      maxNetworkRetries: 2,
    },
    lease: options.lease,
    run: options.run,
  };
}

/** Runs the ops CLI in-process (its exported `main`) and captures what it prints. */
import { main } from "../../cli/ops";
import type { TestTables } from "../support/dynamo";

export interface OpsResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function ops(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<OpsResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env,
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Parses the JSON a `--json` command printed, failing the test with its output if it is not JSON. */
export function json<T = Record<string, unknown>>(result: OpsResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** The flags that point the CLI at a test's tables on DynamoDB Local. */
export function tableFlags(tables: TestTables): string[] {
  return [
    "--endpoint",
    tables.endpoint,
    "--leases-table",
    tables.names.leases,
    "--subscriptions-table",
    tables.names.subscriptions,
    "--charges-table",
    tables.names.charges,
  ];
}

/** The table flags plus the Stripe emulator's address. */
export function localFlags(tables: TestTables, emulatorUrl: string): string[] {
  const url = new URL(emulatorUrl);
  return [
    ...tableFlags(tables),
    "--stripe-host",
    url.hostname,
    "--stripe-port",
    url.port,
    "--stripe-protocol",
    url.protocol.replace(":", ""),
  ];
}

/**
 * README's path from a CSV to a billed local run, as a user runs it: `npm run local-stack` (kept up),
 * `ops subscriptions import examples/subscriptions.csv --execute` against it, then `npm run local-stack
 * -- bill`, which fires contender processes running the real handler and checks every invariant from the
 * tables and the emulator's record. Ctrl-C then takes the stack down.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { freePort } from "../../dev/dynamodb-local";
import { ops } from "../cli/ops-harness";
import { REPO } from "../support/command";
import { portClosed } from "./runner";

function node(args: readonly string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "dev/local-stack/main.ts", ...args], {
    cwd: REPO,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, stdout, stderr })),
  );
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (stdout.includes(text) ? resolve() : undefined);
      child.stdout.on("data", check);
      check();
      void done.then((out) =>
        reject(new Error(`ended (${out.code}) before printing "${text}":\n${out.stderr}`)),
      );
    });
  return { child, done, printed };
}

describe("npm run local-stack", () => {
  it(
    "a CSV of subscriptions to a billed run in three commands, every invariant checked",
    { timeout: 240_000 },
    async () => {
      const [dynamoPort, stripePort] = [await freePort(), await freePort()];
      const endpoint = `http://127.0.0.1:${dynamoPort}`;
      const stripeUrl = `http://127.0.0.1:${stripePort}`;
      const stack = node(["--dynamo-port", String(dynamoPort), "--stripe-port", String(stripePort)]);
      try {
        await stack.printed("local stack up");

        const imported = await ops([
          "subscriptions",
          "import",
          "examples/subscriptions.csv",
          "--execute",
          "--endpoint",
          endpoint,
        ]);
        expect(imported.stderr).toBe("");
        expect(imported.code).toBe(0);
        expect(imported.stdout).toMatch(/created\s+6\b/);

        const billed = await node(["bill", "--endpoint", endpoint, "--stripe-url", stripeUrl]).done;
        expect(billed.stderr).toBe("");
        expect(billed.code).toBe(0);
        expect(billed.stdout).toMatch(
          /round 1 as of .*: r1\.c\d led shard 0 with fence 1 \(complete\); .*due left: 0/,
        );
        expect(billed.stdout).toContain("invariants: PASS");
        // Every due subscription of the file was charged once per period owed, or its decline recorded.
        expect(billed.stdout).toMatch(
          /ledger: declined=1 succeeded=\d+; \d+ PaymentIntents succeeded at the emulator/,
        );
      } finally {
        stack.child.kill("SIGINT");
      }
      const stopped = await stack.done;
      expect(stopped.code).toBe(130);
      expect(await portClosed(endpoint)).toBe(true);
      expect(await portClosed(stripeUrl)).toBe(true);
    },
  );
});

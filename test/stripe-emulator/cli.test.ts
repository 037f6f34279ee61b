/**
 * The CLI starts, announces itself on one line, answers the SDK and the admin API, and exits cleanly on
 * SIGTERM, leaving no process behind. It runs as one node process (`node --import tsx`), so killing
 * that process is killing the emulator.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";
import { afterAll, expect, it } from "vitest";
import { raw } from "./support/http";

const CLI = fileURLToPath(new URL("../../dev/stripe-emulator/cli.ts", import.meta.url));
let child: ChildProcess | undefined;

afterAll(() => {
  // Only if the test failed half-way: never leave the emulator running.
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function firstLine(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once("line", (line) => {
      lines.close();
      resolve(line);
    });
    proc.once("exit", (code) => reject(new Error(`the CLI exited (${code}) before it was ready`)));
  });
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once("exit", (code) => resolve(code));
  });
}

it("starts, answers, and stops on SIGTERM without leaving a process", async () => {
  child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "--port", "0", "--latency-ms", "1", "--rate-limit", "100", "--seed", "5"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await firstLine(child);
  const match = /^stripe-emulator listening on (http:\/\/127\.0\.0\.1:(\d+)) \(API version (.+)\)$/.exec(
    line,
  );
  expect(match, line).not.toBeNull();
  const [, url, port, version] = match!;
  expect(version).toBe(Stripe.API_VERSION);

  const stripe = new Stripe("sk_test_cli", {
    host: "127.0.0.1",
    port: Number(port),
    protocol: "http",
    maxNetworkRetries: 0,
    telemetry: false,
  });
  const pi = await stripe.paymentIntents.create({
    amount: 700,
    currency: "usd",
    payment_method: "pm_card_visa",
    allowed_payment_method_types: ["card"],
    confirm: true,
    off_session: true,
  });
  expect(pi.status).toBe("succeeded");
  const state = await raw(url!, { path: "/__emulator/state" });
  expect((state.body as { faults: unknown }).faults).toEqual({
    latencyMs: 1,
    rateLimit: { requestsPerSecond: 100 },
  });

  child.kill("SIGTERM");
  expect(await exited(child)).toBe(0);
  await expect(raw(url!, { path: "/__emulator/state" })).rejects.toMatchObject({ code: "ECONNREFUSED" });
}, 30_000);

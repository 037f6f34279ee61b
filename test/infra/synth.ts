/**
 * Runs the real CDK CLI (`npx cdk synth`, the version pinned in package-lock.json) on this repository,
 * offline, into a temporary directory, and finds the billing function's bundle in the cloud assembly.
 * Synthesizes once per process; the directory is removed when the process exits.
 *
 * For tests that need the deployable artifact, e.g. to load `handlerFile` and invoke its `handler`.
 */
import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LEASE_TABLE } from "../../functions/schema/tables";
import { REPO_ROOT } from "./fixture";

export interface SynthesizedBundle {
  /** The cloud assembly (`cdk synth -o`). */
  readonly outDir: string;
  /** The billing function's asset directory: what is zipped and deployed. */
  readonly bundleDir: string;
  /** The bundle's entry, a CommonJS module exporting `handler`. */
  readonly handlerFile: string;
}

/** The stack `cdk synth` builds with cdk.json's context (the default of context `stackName`). */
export const DEFAULT_STACK_NAME = "LeaseBilling";

let synthesized: Promise<SynthesizedBundle> | undefined;

export function synthesizeBundle(): Promise<SynthesizedBundle> {
  synthesized ??= synthesizeOnce();
  return synthesized;
}

/**
 * Runs `cdk synth` with `context` (`-c key=value` each) into a new temporary directory, and returns it.
 * Rejects with the CLI's output when the synthesis fails.
 */
export async function cdkSynth(context: Record<string, string> = {}): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), "lease-billing-cdk-"));
  process.once("exit", () => rmSync(outDir, { recursive: true, force: true }));
  const contextArgs = Object.entries(context).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
  await run("npx", [
    "--no-install",
    "cdk",
    "synth",
    "--quiet",
    "--no-notices",
    ...contextArgs,
    "--output",
    outDir,
  ]);
  return outDir;
}

async function synthesizeOnce(): Promise<SynthesizedBundle> {
  const outDir = await cdkSynth();

  const templateFile = join(outDir, `${DEFAULT_STACK_NAME}.template.json`);
  const template = JSON.parse(await readFile(templateFile, "utf8")) as {
    Resources: Record<
      string,
      { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
    >;
  };
  // The billing function is the one that is told where the lease table is.
  const functions = Object.values(template.Resources).filter(
    (r) =>
      r.Type === "AWS::Lambda::Function" &&
      (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[
        LEASE_TABLE.envVar
      ] !== undefined,
  );
  const assetPath = functions.length === 1 ? functions[0]!.Metadata?.["aws:asset:path"] : undefined;
  if (typeof assetPath !== "string") {
    throw new Error(`cdk synth: no single billing function with an asset path in ${templateFile}`);
  }
  const bundleDir = join(outDir, assetPath);
  const handlerFile = join(bundleDir, "index.js");
  if (!existsSync(handlerFile)) throw new Error(`cdk synth: no bundle at ${handlerFile}`);
  return { outDir, bundleDir, handlerFile };
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: REPO_ROOT,
        // Offline and quiet: no version check, no telemetry, no notices fetched.
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: "1", CDK_DISABLE_CLI_TELEMETRY: "true" },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as { code?: unknown }).code;
          reject(
            new Error(`${command} ${args.join(" ")} failed (exit ${String(code)}):\n${stderr}\n${stdout}`),
          );
        } else resolve();
      },
    );
  });
}

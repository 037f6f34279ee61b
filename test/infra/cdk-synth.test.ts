/**
 * The real `cdk synth` (the pinned CLI, offline): it succeeds, cdk-nag included, and produces a
 * self-contained bundle of the handler.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cdkSynth, synthesizeBundle, type SynthesizedBundle } from "./synth";

let bundle: SynthesizedBundle;
beforeAll(async () => {
  bundle = await synthesizeBundle();
}, 120_000);

describe("cdk synth", () => {
  it("bundles the handler into index.js, with its source map", () => {
    expect(readdirSync(bundle.bundleDir).sort()).toEqual(["index.js", "index.js.map"]);
    expect(bundle.handlerFile).toBe(join(bundle.bundleDir, "index.js"));
  });

  it("bundles every module, the AWS SDK included: nothing is left to the runtime", () => {
    const code = readFileSync(bundle.handlerFile, "utf8");
    // Calls only: the SDK's error messages quote `[require("@aws-sdk/signature-v4-crt");]` as advice.
    const required = [...code.matchAll(/(?<!\[)\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    const packages = required.filter((name) => !name.startsWith("node:") && !isNodeBuiltin(name));
    expect(packages).toEqual([]);
    expect(code).toContain("DynamoDB");
  });

  it("exports the handler from a CommonJS module", () => {
    const loaded = createRequire(import.meta.url)(bundle.handlerFile) as { handler?: unknown };
    expect(typeof loaded.handler).toBe("function");
  });

  it("writes the stack template and a clean validation report", () => {
    const files = readdirSync(bundle.outDir);
    expect(files).toContain("LeaseBilling.template.json");
    const report = JSON.parse(readFileSync(join(bundle.outDir, "validation-report.json"), "utf8")) as {
      pluginReports: unknown[];
    };
    expect(report.pluginReports).toEqual([]);
  });
});

describe("cdk synth refuses settings that can never bill", () => {
  it.each([
    ["functionTimeoutSeconds", "59", /Invalid CDK context "functionTimeoutSeconds": must be at least 60/],
    ["scheduleCron", "cron(0 0 30 2 ? *)", /Invalid CDK context "scheduleCron": it never fires/],
  ])(
    "-c %s=%s, naming the key",
    async (key, value, message) => {
      await expect(cdkSynth({ [key]: value })).rejects.toThrow(message);
    },
    120_000,
  );
});

function isNodeBuiltin(name: string): boolean {
  return builtinModules.includes(name.split("/")[0]!);
}

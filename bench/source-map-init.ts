/**
 * Where the function's source map costs its CPU: `npx tsx bench/source-map-init.ts [--runs 3]`.
 *
 * Bundles functions/handler/index.ts as the stack does (lib/constructs/billing-function.ts: CommonJS,
 * minified, a linked source map without sources), then loads it in fresh node processes, with and without
 * `--enable-source-maps`, and prints two figures per process: Init (loading the module, its warm-up
 * included) and the first `Error.stack` read after Init (of an error the handler throws for its missing
 * settings). With the flag, Node decodes the map at the first stack a process reads; the warm-up
 * (functions/handler/warm-up.ts) makes that read part of Init, so the one after it, which in a leader would
 * be stripe-node's at its first charge, costs what it costs without the flag. A second bundle with the
 * warm-up stubbed out shows where that cost lands otherwise. Figures, not assertions.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build, type Plugin } from "esbuild";
import { wholeNumber } from "../cli/args";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = wholeNumber("--runs", values.runs, 1) ?? 3;

/** Runs in the child: loads the bundle, then reads the stack of the first error the handler throws. */
const PROBE = `
const t0 = performance.now();
const { handler } = require(process.argv[1]);
const init = performance.now() - t0;
const context = { awsRequestId: "probe", getRemainingTimeInMillis: () => 60000 };
handler({}, context).then(
  () => { throw new Error("the handler ran without its settings"); },
  (error) => {
    const t1 = performance.now();
    void error.stack;
    console.log(JSON.stringify({ init, firstStack: performance.now() - t1 }));
  },
);`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "source-map-init-"));
  try {
    const bundle = await bundleHandler(join(dir, "index.js"), true);
    const stubbed = await bundleHandler(join(dir, "no-warm-up", "index.js"), false);
    const mb = (path: string) => (statSync(path).size / 1e6).toFixed(1);
    console.log(
      `bundle ${mb(bundle)} MB, source map ${mb(`${bundle}.map`)} MB; ${runs} fresh process(es) each`,
    );
    const cases = [
      { label: "--enable-source-maps", flags: ["--enable-source-maps"], file: bundle },
      { label: "--enable-source-maps, warm-up stubbed out", flags: ["--enable-source-maps"], file: stubbed },
      { label: "no flag", flags: [], file: bundle },
    ];
    for (const { label, flags, file } of cases) {
      const figures = Array.from({ length: runs }, () => probe(flags, file));
      const show = (key: "init" | "firstStack") => figures.map((f) => f[key].toFixed(1)).join(", ");
      console.log(`${label}: Init ${show("init")} ms; first Error.stack after Init ${show("firstStack")} ms`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The stack's bundling options; `warmUp: false` replaces functions/handler/warm-up.ts with a no-op. */
async function bundleHandler(outfile: string, warmUp: boolean): Promise<string> {
  const stub: Plugin = {
    name: "no-warm-up",
    setup(b) {
      b.onLoad({ filter: /handler[\\/]warm-up\.ts$/ }, () => ({
        contents: "export function warmStackTraces(): void {}",
        loader: "ts",
      }));
    },
  };
  await build({
    entryPoints: [resolve(import.meta.dirname, "..", "functions", "handler", "index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    logLevel: "error",
    plugins: warmUp ? [] : [stub],
  });
  return outfile;
}

function probe(flags: string[], bundle: string): { init: number; firstStack: number } {
  // The handler logs its refusal; only the probe's own line (the last) is read.
  const out = execFileSync(process.execPath, [...flags, "-e", PROBE, bundle], {
    env: { PATH: process.env.PATH, POWERTOOLS_LOG_LEVEL: "SILENT" },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as { init: number; firstStack: number };
}

await main();

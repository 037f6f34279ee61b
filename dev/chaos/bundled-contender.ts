/**
 * Faster contender processes for long chaos runs. dev/cluster spawns each contender as
 * `node --import tsx dev/cluster/contender-process.ts`, which compiles and resolves hundreds of modules at
 * every start (about a second of CPU each). The chaos suite starts thousands, so by default it bundles
 * that same entry (dev/cluster/contender-process.ts, and with it the real handler) once with esbuild, the
 * way the stack bundles the function for Lambda (CommonJS, everything included), and starts plain
 * `node <bundle>` instead: the same code, five times less start-up CPU.
 *
 * The process is started by dev/cluster's spawnContender, only with another command line; `--tsx` on the
 * command line runs the sources through tsx instead.
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import {
  REPO_ROOT,
  spawnContender,
  type ContenderProcess,
  type ContenderSpec,
  type FunctionEnvironment,
} from "../cluster/contenders";

/** How a contender process is started: dev/cluster's spawnContender has this shape. */
export type Spawner = (
  env: FunctionEnvironment,
  spec: ContenderSpec & { readonly requestId: string },
  clock: () => number,
) => ContenderProcess;

/** Bundles dev/cluster/contender-process.ts (the real handler inside) into one CommonJS file; returns its path. */
export async function buildContenderBundle(
  dir = join(tmpdir(), `lease-billing-chaos-${process.pid}`),
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, "contender-process.cjs");
  await build({
    entryPoints: [resolve(REPO_ROOT, "dev", "cluster", "contender-process.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: [],
    logLevel: "error",
    // No source map, unlike the stack's bundle: Node decodes a map at the first `Error.stack` a process
    // reads, a fraction of a second of a core (docs/lease-protocol.md, "Stalls"), which the Lambda pays
    // during Init (functions/handler/warm-up.ts). The suite starts thousands of processes; its stack
    // traces point at the bundle instead.
  });
  return outfile;
}

/** Contenders that run the prebuilt bundle with plain node: dev/cluster's spawnContender, another command. */
export function bundledSpawner(bundle: string): Spawner {
  return (env, spec, clock) => spawnContender(env, spec, clock, [bundle]);
}

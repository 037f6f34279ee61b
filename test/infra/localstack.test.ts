/**
 * The LocalStack deployment, as far as it can be checked without a Docker engine: the compose file (pinned
 * images, the network LocalStack starts the Lambda containers on, health checks, the emulator run from the
 * project's own sources), deploy.sh's CDK context synthesized into the function's environment, the
 * stack's refusal of plain http to Stripe outside a local deployment, and shellcheck over the scripts.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readConfig as readFunctionConfig } from "../../functions/handler/config";
import { readConfig } from "../../lib/config";
import { stripeSideOf } from "../../localstack/deployment";
import { onlyResource, REPO_ROOT, synthesize, type Synthesized } from "./fixture";

const LOCALSTACK_DIR = join(REPO_ROOT, "localstack");
const STRIPE_VARIABLES = ["STRIPE_API_HOST", "STRIPE_API_PORT", "STRIPE_API_PROTOCOL"];

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: string[];
  healthcheck?: { test?: string[] };
}
interface Compose {
  services: Record<string, Service>;
  networks?: Record<string, { name?: string }>;
}

const compose = parse(readFileSync(join(LOCALSTACK_DIR, "docker-compose.yml"), "utf8")) as Compose;
const emulator = compose.services["stripe-emulator"]!;

/**
 * The image a reference names when no variable is set (`${VAR:-default}` is the default), if it is pinned
 * to an explicit tag other than `latest`; otherwise why not.
 */
function pinnedImage(reference: string): { image: string } | { problem: string } {
  const resolved = reference.replace(/\$\{[A-Z0-9_]+:?-([^}]*)\}/g, "$1");
  if (resolved.includes("$")) return { problem: `"${reference}" has a variable without a default` };
  const match =
    /^[a-z0-9]+(?:[._/-][a-z0-9]+)*:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/.exec(
      resolved,
    );
  if (!match) return { problem: `"${resolved}" names no explicit tag` };
  if (match[1] === "latest") return { problem: `"${resolved}" is pinned to latest, which moves` };
  return { image: resolved };
}

/** The value that follows `flag` in a command. */
function argument(command: readonly string[], flag: string): string | undefined {
  const at = command.indexOf(flag);
  return at < 0 ? undefined : command[at + 1];
}

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", ...env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** deploy.sh's CDK context for a deployment, as `key=value` lines turned into a context object. */
async function deployContext(
  args: string[],
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  const { code, stdout, stderr } = await run(
    "bash",
    ["localstack/deploy.sh", ...args, "--print-context"],
    env,
  );
  if (code !== 0) throw new Error(`deploy.sh --print-context exited ${code}: ${stderr}`);
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
}

const variables = (s: Synthesized) =>
  (
    onlyResource(s.template, "AWS::Lambda::Function").properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

describe("the compose file", () => {
  it("pins every image to an explicit tag, and builds nothing", () => {
    const services = Object.entries(compose.services);
    expect(services.map(([name]) => name).sort()).toEqual(["localstack", "stripe-emulator"]);
    for (const [name, service] of services) {
      expect(service.build, `${name} must not need a build step`).toBeUndefined();
      expect(pinnedImage(service.image ?? ""), name).toHaveProperty("image");
    }
    expect(pinnedImage(compose.services.localstack!.image!)).toEqual({
      image: "localstack/localstack:4.14.0",
    });
  });

  it("the pin check refuses what would move or is not there", () => {
    for (const reference of ["node", "node:latest", "${IMAGE}", "${IMAGE:-node}", "localstack/localstack"]) {
      expect(pinnedImage(reference), reference).toHaveProperty("problem");
    }
    expect(pinnedImage("${X:-node:22.14.0-bookworm-slim}")).toEqual({ image: "node:22.14.0-bookworm-slim" });
  });

  it("starts LocalStack's Lambda containers on the network the emulator is on", () => {
    const network = compose.networks?.billing?.name;
    expect(network).toBe("lease-billing-localstack");
    expect(compose.services.localstack!.environment?.LAMBDA_DOCKER_NETWORK).toBe(network);
    for (const service of Object.values(compose.services)) expect(service.networks).toEqual(["billing"]);
  });

  it("gives each service a health check: LocalStack's health endpoint, the emulator's admin API", () => {
    expect(compose.services.localstack!.healthcheck?.test?.join(" ")).toContain(
      "http://127.0.0.1:4566/_localstack/health",
    );
    const port = argument(emulator.command ?? [], "--port");
    expect(emulator.healthcheck?.test?.join(" ")).toContain(`http://127.0.0.1:${port}/__emulator/`);
  });

  it("runs the project's emulator from its sources, with the tsx package-lock.json pins, on all interfaces", () => {
    const command = emulator.command ?? [];
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    expect(command.slice(0, 3)).toEqual([
      "npx",
      "--yes",
      `tsx@${lock.packages["node_modules/tsx"]!.version}`,
    ]);
    expect(existsSync(join(REPO_ROOT, command[3]!))).toBe(true);
    expect(command[3]).toBe("dev/stripe-emulator/cli.ts");
    expect(argument(command, "--host")).toBe("0.0.0.0");
    // Mounted read-only from the repository; never the host's node_modules (native binaries of its OS).
    const mounts = (emulator.volumes ?? []).filter((v) => v.startsWith("../"));
    expect(mounts.length).toBeGreaterThan(0);
    for (const mount of mounts) {
      const [source, target, mode] = mount.split(":");
      expect(existsSync(join(LOCALSTACK_DIR, source!)), source).toBe(true);
      expect(target!.startsWith("/app/")).toBe(true);
      expect(mode).toBe("ro");
      expect(mount).not.toContain("node_modules");
    }
    expect(emulator.ports).toEqual([
      `127.0.0.1:${argument(command, "--port")}:${argument(command, "--port")}`,
    ]);
  });
});

describe("deploy.sh's context, synthesized", () => {
  let asEmulator: Synthesized;
  let asTestMode: Synthesized;
  let emulatorContext: Record<string, string>;
  beforeAll(async () => {
    emulatorContext = await deployContext([]);
    asEmulator = synthesize(emulatorContext);
    asTestMode = synthesize(await deployContext([], { STRIPE_SECRET_KEY: "sk_test_fromTheShell" }));
  });

  it("without a Stripe key, points the function at the compose file's emulator over the compose network", () => {
    const port = argument(emulator.command ?? [], "--port");
    expect(emulatorContext).toEqual({
      local: "true",
      stripeApiHost: "stripe-emulator",
      stripeApiPort: port,
      stripeApiProtocol: "http",
    });
    // The service name is the host name on the compose network.
    expect(compose.services[emulatorContext.stripeApiHost!]).toBe(emulator);
    expect(variables(asEmulator)).toMatchObject({
      STRIPE_API_HOST: "stripe-emulator",
      STRIPE_API_PORT: port,
      STRIPE_API_PROTOCOL: "http",
    });
    expect(stripeSideOf(variables(asEmulator) as Record<string, string>)).toEqual({
      kind: "emulator",
      functionCalls: `http://stripe-emulator:${port}`,
    });
  });

  it("the function's own configuration reads that environment as the emulator", () => {
    const env = Object.fromEntries(
      Object.entries(variables(asEmulator)).map(([k, v]) => [k, typeof v === "string" ? v : `resolved-${k}`]),
    );
    const { stripe } = readFunctionConfig(env);
    expect([stripe.host, stripe.port, stripe.protocol]).toEqual([
      "stripe-emulator",
      Number(argument(emulator.command ?? [], "--port")),
      "http",
    ]);
  });

  it("with a Stripe test key, leaves the function on api.stripe.com, as without any context", () => {
    const defaults = synthesize();
    for (const s of [asTestMode, defaults]) {
      for (const name of STRIPE_VARIABLES) expect(variables(s)).not.toHaveProperty(name);
      expect(stripeSideOf(variables(s) as Record<string, string>)).toEqual({ kind: "test-mode" });
    }
  });

  it("--stripe emulator wins over a key in the shell; live keys and unknown modes are refused", async () => {
    expect(await deployContext(["--stripe", "emulator"], { STRIPE_SECRET_KEY: "sk_test_x" })).toEqual(
      emulatorContext,
    );
    const live = await run("bash", ["localstack/deploy.sh", "--print-context"], {
      STRIPE_SECRET_KEY: "sk_live_x",
    });
    expect(live.code).not.toBe(0);
    expect(live.stderr).toMatch(/test-mode key.*live keys are refused/);
    const unknown = await run("bash", ["localstack/deploy.sh", "--stripe", "prod", "--print-context"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('--stripe must be emulator or test, got "prod"');
  });
});

describe("deploy.sh's steps, with curl, npx and node stubbed (no LocalStack here)", () => {
  /** Runs deploy.sh with stubs that log each call instead of reaching LocalStack; returns the log. */
  async function deployWithStubs(args: string[], env: Record<string, string> = {}): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), "deploy-stubs-"));
    const log = join(dir, "calls.log");
    const stub = (name: string, line: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\necho "${line}" >> "${log}"\n`, { mode: 0o755 });
    };
    stub("curl", "curl $*");
    stub("npx", "npx $*");
    stub("node", "node secret=$SECRET_VALUE outputs=$OUTPUTS endpoint=$AWS_ENDPOINT_URL");
    const result = await run("bash", ["localstack/deploy.sh", ...args], {
      ...env,
      PATH: `${dir}:/usr/bin:/bin`,
    });
    if (result.code !== 0) throw new Error(`deploy.sh exited ${result.code}: ${result.stderr}`);
    return readFileSync(log, "utf8").trim().split("\n");
  }
  const cdklocal = "npx --yes aws-cdk-local@3.0.4";

  it("against the emulator: waits for both services, deploys with the emulator's context, puts a test key", async () => {
    expect(await deployWithStubs(["-c", "contenders=2"])).toEqual([
      "curl -fsS http://localhost:4566/_localstack/health",
      "curl -fsS http://127.0.0.1:12111/__emulator/held",
      `${cdklocal} bootstrap aws://000000000000/us-east-1`,
      `${cdklocal} deploy --require-approval never --outputs-file cdk.out/localstack-outputs.json ` +
        "-c local=true -c stripeApiHost=stripe-emulator -c stripeApiPort=12111 -c stripeApiProtocol=http " +
        "-c contenders=2",
      "node secret=sk_test_localstack_emulator outputs=cdk.out/localstack-outputs.json endpoint=http://localhost:4566",
    ]);
  });

  it("against Stripe's test mode: no emulator, no Stripe context, the shell's test key in the secret", async () => {
    expect(await deployWithStubs([], { STRIPE_SECRET_KEY: "sk_test_fromTheShell" })).toEqual([
      "curl -fsS http://localhost:4566/_localstack/health",
      `${cdklocal} bootstrap aws://000000000000/us-east-1`,
      `${cdklocal} deploy --require-approval never --outputs-file cdk.out/localstack-outputs.json -c local=true`,
      "node secret=sk_test_fromTheShell outputs=cdk.out/localstack-outputs.json endpoint=http://localhost:4566",
    ]);
  });
});

describe("the Stripe endpoint's context keys", () => {
  it("refuse plain http outside a local deployment, naming the key", () => {
    const http = { stripeApiHost: "stripe-emulator", stripeApiPort: "12111", stripeApiProtocol: "http" };
    expect(() => synthesize(http)).toThrow(/Invalid CDK context "stripeApiProtocol": "http" .*-c local=true/);
    expect(() => synthesize({ ...http, local: "false" })).toThrow(/"stripeApiProtocol"/);
    expect(variables(synthesize({ ...http, local: true }))).toMatchObject({ STRIPE_API_PROTOCOL: "http" });
  });

  it.each([
    [{ stripeApiHost: "http://stripe-emulator" }, "stripeApiHost"],
    [{ stripeApiHost: "stripe-emulator:12111" }, "stripeApiHost"],
    [{ stripeApiPort: "0" }, "stripeApiPort"],
    [{ stripeApiPort: "70000" }, "stripeApiPort"],
    [{ stripeApiProtocol: "ftp" }, "stripeApiProtocol"],
    [{ local: "yes" }, "local"],
  ])("refuse %j, naming %s", (context, key) => {
    expect(() => readConfig((k) => (context as Record<string, unknown>)[k])).toThrow(
      new RegExp(`Invalid CDK context "${key}"`),
    );
  });

  it("default to api.stripe.com over https on 443, which needs no setting at all", () => {
    expect(readConfig(() => undefined).stripeApi).toBeUndefined();
    const spelledOut = { stripeApiHost: "api.stripe.com", stripeApiPort: 443, stripeApiProtocol: "https" };
    expect(readConfig((k) => (spelledOut as Record<string, unknown>)[k]).stripeApi).toBeUndefined();
    expect(readConfig((k) => ({ stripeApiHost: "stripe.internal" })[k as "stripeApiHost"]).stripeApi).toEqual(
      {
        host: "stripe.internal",
        port: 443,
        protocol: "https",
      },
    );
  });

  it("never yield plain http unless the deployment is local, whatever else is set", () => {
    const value = fc.oneof(fc.constant(undefined), fc.constant(""), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(
        fc.record({
          local: fc.oneof(value, fc.boolean(), fc.constantFrom("true", "false")),
          stripeApiHost: fc.oneof(value, fc.constantFrom("api.stripe.com", "stripe-emulator", "10.0.0.7")),
          stripeApiPort: fc.oneof(value, fc.integer({ min: -1, max: 70_000 }).map(String)),
          stripeApiProtocol: fc.oneof(value, fc.constantFrom("http", "https", "HTTP")),
        }),
        (context) => {
          let endpoint;
          try {
            endpoint = readConfig((k) => (context as Record<string, unknown>)[k]).stripeApi;
          } catch (error) {
            expect((error as Error).message).toMatch(
              /^Invalid CDK context "(local|stripeApiHost|stripeApiPort|stripeApiProtocol)"/,
            );
            return;
          }
          if (endpoint?.protocol === "http") expect([true, "true"]).toContain(context.local);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("shellcheck", () => {
  const scripts = readdirSync(LOCALSTACK_DIR)
    .filter((f) => f.endsWith(".sh"))
    .map((f) => `localstack/${f}`);

  /** Runs shellcheck, or fails saying how to install it (.ci/run installs Debian's). */
  async function shellcheck(files: string[]) {
    try {
      return await run("shellcheck", files);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      throw new Error("shellcheck is not installed: `apt-get install -y shellcheck` (.ci/run installs it)");
    }
  }

  it("passes every script in localstack/", async () => {
    expect(scripts).toEqual(expect.arrayContaining(["localstack/deploy.sh", "localstack/fire.sh"]));
    const result = await shellcheck(scripts);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("would catch a script's mistake", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shellcheck-"));
    const bad = join(dir, "bad.sh");
    writeFileSync(bad, '#!/usr/bin/env bash\nrm -rf $1/\necho "$undefined_here"\n');
    const result = await shellcheck([bad]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("SC2086");
  });
});

/**
 * Bad input is refused with exit code 2 and a message naming the flag, before anything is read or
 * written; the real `npm run ops` script starts and prints its help.
 */
import { spawn } from "node:child_process";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestTables, type TestTables } from "../support/dynamo";
import { ops, tableFlags } from "./ops-harness";

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables("cli-usage");
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** An environment where the AWS SDK finds neither a region nor credentials, without any network call. */
function stubNoAws(): void {
  for (const name of [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
  ]) {
    vi.stubEnv(name, undefined);
  }
  vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/aws-config");
  vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials");
  vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
}

describe("usage errors exit 2 and name what is wrong", () => {
  it("no command, an unknown command, an unknown flag, another command's flag", async () => {
    const none = await ops([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("a command is needed");

    const unknown = await ops(["stauts"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "stauts"');

    const flag = await ops(["status", "--verbose"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--verbose");

    const other = await ops(["status", "--force", ...tableFlags(tables)]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('--force is not an option of "status"');

    const stray = await ops(["status", "extra", ...tableFlags(tables)]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('status takes no arguments, got "extra"');
  });

  it("reconcile: --from missing, not a date, after --to; --to not a date", async () => {
    const env = { STRIPE_SECRET_KEY: "sk_test_unused" };
    const missing = await ops(["reconcile", ...tableFlags(tables)], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("reconcile needs --from");

    const notADate = await ops(["reconcile", "--from", "yesterday", ...tableFlags(tables)], env);
    expect(notADate.code).toBe(2);
    expect(notADate.stderr).toContain('--from: "yesterday" is not a date');

    const impossible = await ops(["reconcile", "--from", "2026-02-30", ...tableFlags(tables)], env);
    expect(impossible.code).toBe(2);
    expect(impossible.stderr).toContain('--from: "2026-02-30" is not a date');

    const noZone = await ops(["reconcile", "--from", "2026-11-01T00:00:00", ...tableFlags(tables)], env);
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toContain("--from");

    const reversed = await ops(
      ["reconcile", "--from", "2026-11-02", "--to", "2026-11-01T00:00:00Z", ...tableFlags(tables)],
      env,
    );
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain(
      "--from (2026-11-02T00:00:00.000Z) is after --to (2026-11-01T00:00:00.000Z)",
    );

    const badTo = await ops(
      ["reconcile", "--from", "2026-11-01", "--to", "soon", ...tableFlags(tables)],
      env,
    );
    expect(badTo.code).toBe(2);
    expect(badTo.stderr).toContain('--to: "soon" is not a date');
  });

  it("a missing Stripe key, and a malformed one, are named without printing the value", async () => {
    const none = await ops(["reconcile", "--from", "2026-11-01", ...tableFlags(tables)], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no Stripe key: set STRIPE_SECRET_KEY, or pass --stripe-secret-arn");

    const bad = await ops(["reconcile", "--from", "2026-11-01", ...tableFlags(tables)], {
      STRIPE_SECRET_KEY: "pk_live_notasecret",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("STRIPE_SECRET_KEY does not hold a Stripe secret key");
    expect(bad.stderr).not.toContain("pk_live_notasecret");
  });

  it("against AWS: no table names, no region, no credentials, --stack", async () => {
    stubNoAws();
    const noTables = await ops(["status"], {});
    expect(noTables.code).toBe(2);
    expect(noTables.stderr).toContain(
      "no table names: pass --leases-table, --subscriptions-table, --charges-table",
    );
    expect(noTables.stderr).toContain("--function NAME");

    const names = ["--leases-table", "L", "--subscriptions-table", "S", "--charges-table", "C"];
    const noRegion = await ops(["status", ...names], {});
    expect(noRegion.code).toBe(2);
    expect(noRegion.stderr).toContain("no AWS region: pass --region, set AWS_REGION");

    const noCredentials = await ops(["status", ...names, "--region", "eu-west-1"], {});
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.stderr).toContain("no AWS credentials found");
    expect(noCredentials.stderr).toContain("AWS_PROFILE");

    const stack = await ops(["status", "--stack", "BillingStack"], {});
    expect(stack.code).toBe(2);
    expect(stack.stderr).toContain("--stack is not supported: name the deployed function instead");
  });

  it("bad numbers and endpoints name their flag", async () => {
    const shards = await ops(["status", "--shard-count", "two", ...tableFlags(tables)]);
    expect(shards.code).toBe(2);
    expect(shards.stderr).toContain('--shard-count must be a whole number of at least 1, got "two"');

    const endpoint = await ops(["status", "--endpoint", "localhost"]);
    expect(endpoint.code).toBe(2);
    expect(endpoint.stderr).toContain("--endpoint must be a URL");

    const wait = await ops(["resolve-in-doubt", "--wait", "-3", ...tableFlags(tables)]);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain("--wait");
  });
});

describe("help", () => {
  it("--help and help COMMAND print usage and exit 0", async () => {
    const general = await ops(["--help"]);
    expect(general.code).toBe(0);
    expect(general.stdout).toContain("Usage: npm run ops -- <command> [flags]");
    for (const command of ["status", "release", "reconcile", "resolve-in-doubt", "rerun"]) {
      const own = await ops(["help", command]);
      expect(own.code).toBe(0);
      expect(own.stdout).toContain(`Usage: ops ${command}`);
      expect((await ops([command, "--help"])).stdout).toBe(own.stdout);
    }
    expect((await ops(["help", "nope"])).code).toBe(2);
  });

  it("the real `npm run ops -- --help` runs the script", async () => {
    const child = spawn("npm", ["run", "--silent", "ops", "--", "--help"], {
      cwd: process.cwd(),
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr.replace(/^npm warn .*$/gm, "").trim()).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("ops: operate the lease-billing job");
    expect(stdout).toContain("Usage: npm run ops -- <command> [flags]");
  });
});

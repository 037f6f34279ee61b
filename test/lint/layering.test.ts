/**
 * The layering rule in eslint.config.js, run through ESLint's own Node API against the repository's real
 * configuration: code under functions/core/ may import core, plain libraries and node:*, but never the
 * adapters (functions/aws/, functions/stripe/), the handler, or an AWS SDK, Powertools, Stripe or CDK
 * package, however many folders up the relative path climbs and whatever form the import takes.
 * Each forbidden case must produce exactly one error from the rule, so a pattern that stopped matching
 * (the old one matched only one folder up) fails here.
 */
import { fileURLToPath } from "node:url";
import { ESLint, type Linter } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Where the snippets claim to live; the files need not exist. */
const FIXTURE = "functions/core/billing-run/fixture.ts";

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

async function lint(code: string, filePath = FIXTURE): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (!result) throw new Error("ESLint returned no result");
  return result.messages;
}

/** A snippet that uses what it imports, so that no rule but the layering one has anything to say. */
function importing(source: string): string {
  return `import { Thing } from "${source}";\nexport const used = Thing;\n`;
}

/** The same import written each way ESLint's rule inspects. */
const FORMS: Record<string, (source: string) => string> = {
  "import { x }": importing,
  "import type": (source) => `import type { Thing } from "${source}";\nexport type Used = Thing;\n`,
  "import for side effects": (source) => `import "${source}";\n`,
  "export { x } from": (source) => `export { Thing } from "${source}";\n`,
  "export * from": (source) => `export * from "${source}";\n`,
};

const ADAPTER_MESSAGE = "functions/core must not import the adapters (aws/, stripe/) or the handler.";
const PACKAGE_MESSAGE = "functions/core must not import an AWS SDK, Powertools, Stripe or CDK package.";

function expectRefused(messages: Linter.LintMessage[], message: string): void {
  expect(messages).toHaveLength(1);
  expect(messages[0]).toMatchObject({ ruleId: "no-restricted-imports", severity: 2, line: 1 });
  expect(messages[0]!.message).toContain(message);
}

describe("functions/core may not reach into the adapters or the handler", () => {
  // From functions/core/billing-run/fixture.ts: the paths that resolve there, and the ones a file one
  // folder shallower or deeper would write (the rule cannot tell where a path lands, only that it climbs).
  const targets = ["aws/fenced-writer", "aws/dynamo-lease-store", "stripe/stripe-gateway", "handler/config"];
  const climbs = ["../", "../../", "../../../", "./../../", "../../../functions/", "../../../../functions/"];
  for (const target of targets) {
    for (const climb of climbs) {
      it(`refuses ${climb}${target}`, async () => {
        expectRefused(await lint(importing(`${climb}${target}`)), ADAPTER_MESSAGE);
      });
    }
  }

  it("refuses a climb into a layer folder itself, with no file named", async () => {
    for (const source of ["../../aws", "../../stripe", "../../handler", "../../aws/"]) {
      expectRefused(await lint(importing(source)), ADAPTER_MESSAGE);
    }
  });

  for (const [form, write] of Object.entries(FORMS)) {
    it(`refuses every form of import: ${form}`, async () => {
      expectRefused(await lint(write("../../aws/fenced-writer")), ADAPTER_MESSAGE);
    });
  }

  it("applies to every file under functions/core, at any depth", async () => {
    const cases: [file: string, source: string][] = [
      ["functions/core/clock.ts", "../aws/fenced-writer"],
      ["functions/core/billing-run/x.ts", "../../aws/fenced-writer"],
      ["functions/core/billing/deeper/x.ts", "../../../stripe/stripe-gateway"],
      ["functions/core/lease/a/b/x.ts", "../../../../handler/config"],
    ];
    for (const [file, source] of cases) {
      expectRefused(await lint(importing(source), file), ADAPTER_MESSAGE);
    }
  });
});

describe("functions/core may not import an SDK", () => {
  const packages = [
    "@aws-sdk/client-dynamodb",
    "@aws-sdk/lib-dynamodb",
    "@aws-sdk/client-secrets-manager",
    "@aws-lambda-powertools/logger",
    "@aws-lambda-powertools/parameters/secrets",
    "stripe",
    "stripe/cjs/stripe.cjs.node.js",
    "aws-cdk-lib",
    "aws-cdk-lib/aws-lambda",
    "constructs",
  ];
  for (const name of packages) {
    it(`refuses ${name}`, async () => {
      expectRefused(await lint(importing(name)), PACKAGE_MESSAGE);
    });
  }

  it("refuses a type-only import of an SDK too", async () => {
    expectRefused(await lint(FORMS["import type"]!("@aws-sdk/client-dynamodb")), PACKAGE_MESSAGE);
  });
});

describe("what core may import", () => {
  const allowed = [
    "./ports",
    "./heartbeat",
    "../clock",
    "../lease/lease-client",
    "../billing/retry-policy",
    "../payments/payment-gateway",
    "zod",
    "node:crypto",
  ];
  for (const source of allowed) {
    it(`allows ${source}`, async () => {
      expect(await lint(importing(source))).toEqual([]);
    });
  }

  it("allows names that only look like a layer: a core file called stripe, a package called stripe-ish", async () => {
    for (const source of [
      "./stripe",
      "../payments/stripe",
      "../aws-notes/x",
      "stripe-mock",
      "constructs-x",
    ]) {
      expect(await lint(importing(source))).toEqual([]);
    }
  });

  it("leaves the adapters and the handler free to import SDKs and each other", async () => {
    expect(await lint(importing("@aws-sdk/lib-dynamodb"), "functions/aws/x.ts")).toEqual([]);
    expect(await lint(importing("stripe"), "functions/stripe/x.ts")).toEqual([]);
    expect(await lint(importing("../aws/stripe-key"), "functions/handler/x.ts")).toEqual([]);
  });
});

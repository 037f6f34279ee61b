// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "cdk.out/", "dist/", "coverage/", "reports/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Pure protocol logic must stay free of AWS and Stripe so it can be tested without them: core imports
    // only core (and plain libraries such as zod and node:*), never an adapter, the handler or an SDK.
    // test/lint/layering.test.ts proves each pattern fires, at every depth.
    files: ["functions/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              // A step up (at any depth), optionally back through functions/, into a layer above core:
              // ../aws/x, ../../aws/x, ./../handler/x, ../../../functions/stripe/x...
              regex: "(?:^|/)\\.\\./(?:functions/)?(?:aws|stripe|handler)(?:/|$)",
              message: "functions/core must not import the adapters (aws/, stripe/) or the handler.",
            },
            {
              // A package, or any subpath of it: @aws-sdk/client-dynamodb, stripe, aws-cdk-lib/aws-lambda...
              regex: "^(?:@aws-sdk/|@aws-lambda-powertools/|(?:stripe|aws-cdk-lib|constructs)(?:/|$))",
              message: "functions/core must not import an AWS SDK, Powertools, Stripe or CDK package.",
            },
          ],
        },
      ],
    },
  },
);

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
    // Pure protocol logic must stay free of AWS and Stripe so it can be tested without them.
    files: ["functions/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["@aws-sdk/*", "stripe", "aws-cdk-lib", "aws-cdk-lib/*", "../aws/*", "../stripe/*"] },
      ],
    },
  },
);

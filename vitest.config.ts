import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // One DynamoDB Local for the run (test/support/global-setup.ts); each file makes its own tables.
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Node 20 is supported here on purpose; the SDK's notice about future releases is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});

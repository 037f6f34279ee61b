/**
 * One DynamoDB Local for the whole test run (a JVM start costs seconds). Each test file creates its own
 * tables under a unique prefix, so files never see each other's data.
 */
import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../../dev/dynamodb-local";

declare module "vitest" {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const dynamo = await startDynamoDbLocal();
  project.provide("dynamoEndpoint", dynamo.endpoint);
  return () => dynamo.stop();
}

/**
 * The CDK app's wiring, apart from bin/ so that the tests build exactly what `cdk synth` builds: the
 * configuration read from context, the stack, and cdk-nag's AWS Solutions checks over all of it.
 */
import { Validations, type App } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { BillingStack } from "./billing-stack";
import { readConfig } from "./config";

export function defineApp(app: App): BillingStack {
  const config = readConfig((key) => app.node.tryGetContext(key));
  const stack = new BillingStack(app, config.stackName, {
    config,
    description: "lease-billing: scheduled subscription billing with a DynamoDB lease leader",
  });
  // cdk-nag 3 runs as a CDK policy validation plugin: any unacknowledged finding fails the synthesis.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}

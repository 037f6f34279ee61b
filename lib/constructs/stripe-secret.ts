/**
 * Where the Stripe API key lives: an existing secret named by context `stripeSecretArn`, or one this stack
 * creates without a value. The key is never in the template, the synthesized assembly or the repository;
 * an operator puts it in (docs/deploy.md).
 */
import { Secret, type CfnSecret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Validations } from "aws-cdk-lib";
import type { Construct } from "constructs";

export function stripeSecret(scope: Construct, id: string, existingArn: string | undefined): ISecret {
  if (existingArn !== undefined) return Secret.fromSecretCompleteArn(scope, id, existingArn);

  const secret = new Secret(scope, id, {
    description:
      'Stripe secret API key for lease-billing: the bare key (sk_live_..., sk_test_..., rk_...) or JSON {"apiKey": "..."}.',
  });
  // CDK would have CloudFormation generate a random value; drop that, so the secret starts empty. It also
  // means a later update of the stack never writes a value over the key an operator put in.
  (secret.node.defaultChild as CfnSecret).addPropertyDeletionOverride("GenerateSecretString");
  Validations.of(secret).acknowledge({
    id: "AwsSolutions-SMG4",
    reason:
      "Stripe API keys are rolled in the Stripe dashboard, not by a Secrets Manager rotation function: the operator rolls the key there and puts the new one here (docs/deploy.md, Rotating the Stripe key).",
  });
  return secret;
}

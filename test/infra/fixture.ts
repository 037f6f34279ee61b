/**
 * Builds the app the way bin/app.ts does (lib/app.ts, with cdk-nag registered), under the feature flags
 * of cdk.json, so the templates asserted here are the ones `cdk synth` produces for the same context.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { defineApp } from "../../lib/app";
import type { BillingStack } from "../../lib/billing-stack";

/** CDK's context key listing the stacks whose assets are bundled; empty means none. */
const SKIP_BUNDLING = "aws:cdk:bundling-stacks";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The context of cdk.json: the feature flags every synthesis runs under. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, "utf8")) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface Synthesized {
  readonly app: App;
  readonly stack: BillingStack;
  readonly template: Template;
}

/**
 * One app per context. The function's code is not bundled here (esbuild through npx costs seconds per
 * app): templates do not depend on it, and cdk-synth.test.ts checks the real bundle.
 *
 * `change` alters the stack before its template is taken: how a test shows that a check would catch a
 * change someone might make.
 */
export function synthesize(
  context: Record<string, unknown> = {},
  change?: (stack: BillingStack) => void,
): Synthesized {
  const app = new App({ context: { ...cdkJsonContext(), [SKIP_BUNDLING]: [], ...context } });
  const stack = defineApp(app);
  change?.(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown> } & Record<string, unknown>
>;

/** The one resource of a type whose properties satisfy a predicate; fails unless exactly one does. */
export function onlyResource(
  template: Template,
  type: string,
  where: (properties: Record<string, unknown>) => boolean = () => true,
): { logicalId: string; resource: Resources[string]; properties: Record<string, unknown> } {
  const matches = Object.entries(template.findResources(type) as Resources).filter(([, r]) =>
    where(r.Properties ?? {}),
  );
  if (matches.length !== 1) throw new Error(`expected one ${type} to match, found ${matches.length}`);
  const [logicalId, resource] = matches[0]!;
  return { logicalId, resource, properties: resource.Properties ?? {} };
}

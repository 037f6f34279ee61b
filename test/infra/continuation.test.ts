/**
 * The stack's side of continuation links: the function may invoke itself and nothing else, Lambda's
 * recursive loop detection stays on, the function's own bound on links is set and capped below where that
 * detection would cut a chain, and a link is not retried by Lambda (the next tick is the fallback).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_CONTINUATION_LINKS } from "../../lib/config";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

const billingFunction = (s: Synthesized) => onlyResource(s.template, "AWS::Lambda::Function");
const variables = (s: Synthesized) =>
  (billingFunction(s).properties.Environment as { Variables: Record<string, unknown> }).Variables;

describe("continuation links in the stack", () => {
  it("lets the function invoke itself, unqualified, in a policy of its own on the function's role", () => {
    const fn = billingFunction(defaults);
    const role = onlyResource(defaults.template, "AWS::IAM::Role");
    const invoking = Object.values(defaults.template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes("lambda:"),
    );
    expect(invoking).toHaveLength(1);
    expect(invoking[0]!.Properties).toMatchObject({
      Roles: [{ Ref: role.logicalId }],
      PolicyDocument: {
        Statement: [
          {
            Sid: "ContinuationLink",
            Effect: "Allow",
            Action: "lambda:InvokeFunction",
            Resource: { "Fn::GetAtt": [fn.logicalId, "Arn"] },
          },
        ],
      },
    });
    // The function does not wait for that policy (it would wait for itself: a circular dependency).
    expect(JSON.stringify(fn.resource.DependsOn ?? [])).not.toMatch(/Continuation/);
  });

  it("keeps Lambda's recursive loop detection on", () => {
    expect(billingFunction(defaults).properties.RecursiveLoop).toBe("Terminate");
  });

  it("does not have Lambda retry a failed link, nor run one that waited past the next hourly tick", () => {
    expect(onlyResource(defaults.template, "AWS::Lambda::EventInvokeConfig").properties).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it("bounds a run's chain: 12 links by default, set by context, 0 for none", () => {
    expect(variables(defaults).MAX_CONTINUATION_LINKS).toBe("12");
    expect(variables(synthesize({ maxContinuationLinks: "15" })).MAX_CONTINUATION_LINKS).toBe("15");
    expect(variables(synthesize({ maxContinuationLinks: 0 })).MAX_CONTINUATION_LINKS).toBe("0");
  });

  it.each([
    [String(MAX_CONTINUATION_LINKS + 1), /must be at most 15, got 16: Lambda's recursive loop detection/],
    ["-1", /must be a whole number from 0 to 1000/],
    ["two", /must be a whole number from 0 to 1000/],
  ])("refuses maxContinuationLinks=%s at synthesis, naming the key", (value, message) => {
    expect(() => synthesize({ maxContinuationLinks: value })).toThrow(
      new RegExp(`Invalid CDK context "maxContinuationLinks": ${message.source}`),
    );
  });
});

/**
 * The CloudWatch dashboard (lib/constructs/billing-dashboard.ts) as synthesized: its graphs (backlog,
 * charges by outcome, requests against the budget, lease holders and takeovers, continuation links),
 * each drawing only metrics the handler emits (functions/observability/metric-names.ts) under its
 * namespace and `service` dimension, and the budget and the backlog alarm drawn where they are set.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../../functions/observability/metric-names";
import { onlyResource, synthesize, type Synthesized } from "./fixture";

interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title: string;
    readonly metrics: unknown[][];
    readonly annotations?: { horizontal: { value: number; label: string }[] };
  };
}

/** The dashboard's body as CloudWatch receives it, the region (a token) written as "REGION". */
function body(s: Synthesized): { widgets: Widget[] } {
  const dashboard = onlyResource(s.template, "AWS::CloudWatch::Dashboard");
  const join = dashboard.properties.DashboardBody as { "Fn::Join": [string, unknown[]] };
  const text = join["Fn::Join"][1].map((part) => (typeof part === "string" ? part : "REGION")).join("");
  return JSON.parse(text) as { widgets: Widget[] };
}

/** Each widget's metrics as [namespace, name, dimensions...]; math expressions are left out. */
function metricsOf(widget: Widget): string[][] {
  return widget.properties.metrics
    .filter((m) => typeof m[0] === "string")
    .map((m) => m.filter((part): part is string => typeof part === "string"));
}

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthesize();
});

describe("dashboard", () => {
  it("is one dashboard named after the stack", () => {
    expect(onlyResource(defaults.template, "AWS::CloudWatch::Dashboard").properties.DashboardName).toBe(
      "LeaseBilling-Billing",
    );
  });

  it("graphs the backlog, charges by outcome, requests against the budget, leases and continuation links", () => {
    const byTitle = new Map(body(defaults).widgets.map((w) => [w.properties.title, metricsOf(w)]));
    const names = (title: RegExp) =>
      [...byTitle].filter(([t]) => title.test(t)).flatMap(([, metrics]) => metrics.map((m) => m[1]));
    expect(names(/^Backlog/)).toEqual([METRIC.dueBacklog, METRIC.oldestDueAge]);
    expect(names(/^Charges by outcome/)).toEqual([
      METRIC.chargesSucceeded,
      METRIC.chargesDeclined,
      METRIC.chargesNeedingAction,
      METRIC.chargesInDoubt,
      METRIC.chargesQuarantined,
    ]);
    expect(names(/^Stripe requests/)).toEqual([METRIC.stripeRequests, METRIC.stripeRateLimited]);
    expect(names(/^Lease holders and takeovers/)).toEqual([
      METRIC.leadersActive,
      METRIC.leaseAcquired,
      METRIC.leaseTakeovers,
      METRIC.leaseLost,
    ]);
    expect(names(/^Continuation links/)).toEqual([
      METRIC.continuationLinksSent,
      METRIC.continuationLinksFailed,
    ]);
  });

  it("draws only metrics the handler emits, under its namespace and service dimension", () => {
    const emitted = new Set<string>(Object.values(METRIC));
    const all = body(defaults).widgets.flatMap(metricsOf);
    expect(all.length).toBeGreaterThan(0);
    for (const [namespace, name, ...dimensions] of all) {
      expect(namespace).toBe(METRICS_NAMESPACE);
      expect(emitted.has(name!)).toBe(true);
      expect(dimensions).toEqual(["service", SERVICE_NAME]);
    }
  });

  it("draws the account's budget and the backlog alarm's age where the context sets them", () => {
    const line = (s: Synthesized, title: RegExp) =>
      body(s).widgets.find((w) => title.test(w.properties.title))?.properties.annotations?.horizontal[0]
        ?.value;
    expect(line(defaults, /^Stripe requests/)).toBe(25);
    expect(line(defaults, /oldest due renewal/)).toBe(120);
    const tuned = synthesize({ stripeAccountRequestsPerSecond: "100", backlogAlarmMinutes: 45 });
    expect(line(tuned, /^Stripe requests/)).toBe(100);
    expect(line(tuned, /oldest due renewal/)).toBe(45);
  });
});

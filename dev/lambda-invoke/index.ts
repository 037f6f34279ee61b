/**
 * Continuation links as real processes: the local invoke server (server.ts), with each accepted
 * invocation started as one contender process by whoever runs the cluster (dev/cluster's Cluster, the
 * chaos suite's Fleet, a benchmark), under a label of its own (`link3`, `rlink1` for a rerun's chain,
 * `link3.2` for a second delivery of the same link). For chaos, a delivery can be doubled or put off.
 *
 *   const links = await startContinuationServer({
 *     start: (invocation, label) => cluster.invoke(invocation, label),
 *   });
 *   // contenders get LAMBDA_ENDPOINT=links.url; links.drained() waits for deliveries put off
 *   await links.stop();
 */
import {
  startInvokeServer,
  type Answer,
  type Invocation,
  type InvokeRequest,
  type InvokeServer,
} from "./server";

export {
  MAX_EVENT_PAYLOAD_BYTES,
  startInvokeServer,
  type Answer,
  type Invocation,
  type InvokeRequest,
  type InvokeServer,
  type InvokeServerCounts,
  type InvokeServerOptions,
} from "./server";

/** The name of the function a local contender process is (dev/cluster/contender-process.ts's context). */
export const LOCAL_FUNCTION_NAME = "lease-billing-local";

/** How an accepted invocation is delivered: Lambda's are at least once, and may wait in its queue. */
export interface LinkDelivery {
  /** 1 normally; 2 for a duplicate delivery. */
  readonly copies: number;
  /** How long the first copy waits before it starts (a later copy waits as long again). */
  readonly delayMs: number;
}

export interface ContinuationServerOptions {
  /** Starts one contender for `invocation`, labelled `label` (unique on this server). */
  readonly start: (invocation: Invocation, label: string) => void;
  /** How to answer each request (chaos: a 500, a dropped connection); default: accept. */
  readonly answer?: (request: InvokeRequest) => Answer;
  /** How to deliver an accepted invocation; default: once, at once. */
  readonly deliver?: (invocation: Invocation) => LinkDelivery;
  readonly port?: number;
}

export interface ContinuationServer extends InvokeServer {
  /** Deliveries put off that have not started yet. */
  pending(): number;
  /** Resolves once no delivery is put off any more (started, or dropped by stop()). */
  drained(): Promise<void>;
}

/** The label of a link's process: `link<n>` (`rlink<n>` in a rerun's chain), made unique with `.2`, `.3`. */
export function linkLabel(payload: unknown, taken: ReadonlySet<string>): string {
  const fields = (typeof payload === "object" && payload !== null ? payload : {}) as Record<string, unknown>;
  const link = typeof fields.link === "number" ? fields.link : "?";
  const rerun = typeof fields.runId === "string" && fields.runId.startsWith("rerun:");
  const base = `${rerun ? "rlink" : "link"}${link}`;
  if (!taken.has(base)) return base;
  for (let copy = 2; ; copy++) if (!taken.has(`${base}.${copy}`)) return `${base}.${copy}`;
}

export async function startContinuationServer(
  options: ContinuationServerOptions,
): Promise<ContinuationServer> {
  const labels = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let waiters: (() => void)[] = [];
  let stopped = false;
  const settleWaiters = () => {
    if (timers.size > 0) return;
    for (const resolve of waiters) resolve();
    waiters = [];
  };
  const launch = (invocation: Invocation) => {
    if (stopped) return;
    const label = linkLabel(invocation.payload, labels);
    labels.add(label);
    options.start(invocation, label);
  };
  const server = await startInvokeServer({
    functionName: LOCAL_FUNCTION_NAME,
    ...(options.port !== undefined && { port: options.port }),
    ...(options.answer && { answer: options.answer }),
    onInvoke: (invocation) => {
      const { copies, delayMs } = options.deliver?.(invocation) ?? { copies: 1, delayMs: 0 };
      for (let copy = 0; copy < copies; copy++) {
        const wait = delayMs * (copy + 1);
        if (wait <= 0) {
          launch(invocation);
          continue;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          launch(invocation);
          settleWaiters();
        }, wait);
        timers.add(timer);
      }
    },
  });
  return {
    ...server,
    get invocations() {
      return server.invocations;
    },
    pending: () => timers.size,
    drained: () =>
      timers.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    stop: async () => {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      settleWaiters();
      await server.stop();
    },
  };
}

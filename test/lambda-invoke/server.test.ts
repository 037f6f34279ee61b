/**
 * The local invoke server speaks enough of Lambda's Invoke API for the AWS SDK's LambdaClient, the way
 * the function sends its continuation links: an asynchronous invoke is accepted (202) and handed on, a
 * dry run runs nothing, another function or a synchronous invoke is refused as Lambda would; and the
 * continuation server labels each link's delivery, doubles or delays it when asked.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  linkLabel,
  startContinuationServer,
  startInvokeServer,
  type Invocation,
  type InvokeServer,
} from "../../dev/lambda-invoke";

const ARN = "arn:aws:lambda:us-east-1:000000000000:function:lease-billing-local";
const servers: InvokeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function client(url: string): LambdaClient {
  return new LambdaClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
}

const invoke = (
  url: string,
  functionName: string,
  type: "Event" | "DryRun" | "RequestResponse",
  payload: unknown,
) =>
  client(url).send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: type,
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );

/** The invoke server for "lease-billing-local", and the invocations it handed on. */
async function recordingServer(): Promise<{ server: InvokeServer; seen: Invocation[] }> {
  const seen: Invocation[] = [];
  const server = await startInvokeServer({
    functionName: "lease-billing-local",
    onInvoke: (i) => seen.push(i),
  });
  servers.push(server);
  return { server, seen };
}

describe("the local invoke server", () => {
  it("accepts an asynchronous invoke of its function (202) and hands the event on", async () => {
    const { server, seen } = await recordingServer();
    for (const name of [
      ARN,
      "lease-billing-local",
      "000000000000:function:lease-billing-local",
      `${ARN}:$LATEST`,
    ]) {
      const out = await invoke(server.url, name, "Event", { action: "continue", link: 1 });
      expect(out.StatusCode).toBe(202);
    }
    expect(seen.map((i) => [i.functionName, i.payload])).toEqual([
      [ARN, { action: "continue", link: 1 }],
      ["lease-billing-local", { action: "continue", link: 1 }],
      ["000000000000:function:lease-billing-local", { action: "continue", link: 1 }],
      [`${ARN}:$LATEST`, { action: "continue", link: 1 }],
    ]);
    expect(server.invocations).toEqual(seen);
  });

  it("runs nothing for a dry run, and refuses another function or a synchronous invoke as Lambda does", async () => {
    const { server, seen } = await recordingServer();
    expect((await invoke(server.url, ARN, "DryRun", {})).StatusCode).toBe(204);
    await expect(invoke(server.url, "another-function", "Event", {})).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(invoke(server.url, `${ARN}:live`, "Event", {})).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(invoke(server.url, ARN, "RequestResponse", {})).rejects.toMatchObject({
      name: "InvalidParameterValueException",
    });
    expect(seen).toEqual([]);
    expect(server.counts()).toMatchObject({ accepted: 0, dryRuns: 1, refused: 3 });
  });

  it("refuses an event over Lambda's 256 KB asynchronous payload limit (413) and hands nothing on", async () => {
    const { server, seen } = await recordingServer();
    await expect(invoke(server.url, ARN, "Event", { padding: "x".repeat(262_144) })).rejects.toMatchObject({
      name: "RequestTooLargeException",
    });
    expect((await invoke(server.url, ARN, "Event", { padding: "x".repeat(1_000) })).StatusCode).toBe(202);
    expect(seen).toHaveLength(1);
  });
});

describe("the continuation server", () => {
  it("labels links by number and chain, delivers a doubled link twice and a delayed one later", async () => {
    const started: [string, unknown][] = [];
    const links = await startContinuationServer({
      start: (invocation, label) => started.push([label, invocation.payload]),
      deliver: (invocation) => {
        const { runId, link } = invocation.payload as { runId: string; link: number };
        if (runId.startsWith("rerun:")) return { copies: 1, delayMs: 0 };
        return link === 1 ? { copies: 2, delayMs: 0 } : { copies: 1, delayMs: 50 };
      },
    });
    servers.push(links);
    await invoke(links.url, ARN, "Event", { runId: "scheduled:x", link: 1 });
    await invoke(links.url, ARN, "Event", { runId: "scheduled:x", link: 2 });
    expect(links.pending()).toBe(1);
    await links.drained();
    await invoke(links.url, ARN, "Event", { runId: "rerun:x:1", link: 1 });
    expect(started.map(([label]) => label)).toEqual(["link1", "link1.2", "link2", "rlink1"]);
    expect(links.pending()).toBe(0);
  });

  it("names a link's process from its event, uniquely", () => {
    expect(linkLabel({ runId: "scheduled:t", link: 3 }, new Set())).toBe("link3");
    expect(linkLabel({ runId: "scheduled:t", link: 3 }, new Set(["link3", "link3.2"]))).toBe("link3.3");
    expect(linkLabel({ runId: "rerun:t:a", link: 1 }, new Set())).toBe("rlink1");
  });
});

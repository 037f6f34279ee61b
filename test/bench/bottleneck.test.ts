/**
 * What the shard scenario names as the bottleneck, from the CPU shares and DynamoDB Local's ceiling
 * measured in the same run (bench/scenarios/shards.ts).
 */
import { describe, expect, it } from "vitest";
import type { DynamoCeiling } from "../../bench/dynamo-ceiling";
import { bottleneck, type CpuShares, type DynamoLoad } from "../../bench/scenarios/shards";

const ceiling: DynamoCeiling = {
  itemOperationsPerSecond: 2000,
  jvmCores: 1.0,
  transactionItems: 25,
  clients: 6,
  seconds: 5,
  idleRequestMs: 2,
};
const load: DynamoLoad = {
  itemOperationsPerSecond: 1400,
  itemOperationsPerCharge: 8,
  shareOfCeiling: 0.7,
  meanRequestMs: 4,
};

function shares(
  dynamodbLocal: number,
  contenders: number,
  emulatorAndBench: number,
  machine: number,
): CpuShares {
  return {
    dynamodbLocal,
    contenders,
    emulatorAndBench,
    total: dynamodbLocal + contenders + emulatorAndBench,
    machine,
    cores: 2,
  };
}

describe("bottleneck", () => {
  it("names DynamoDB Local when its JVM comes within 15% of the CPU it used saturated", () => {
    const text = bottleneck(shares(0.9, 0.6, 0.1, 1.6), load, ceiling);
    expect(text).toMatch(
      /^DynamoDB Local, saturated: 1400 item operations\/s \(8\.0 per charge\), 70% of the 2000\/s/,
    );
    expect(text).toContain("its JVM at 0.90 cores, 90% of saturated");
  });

  it("names DynamoDB Local when the items it served come within 15% of its saturated rate", () => {
    const busy: DynamoLoad = { ...load, itemOperationsPerSecond: 1900, shareOfCeiling: 0.95 };
    expect(bottleneck(shares(0.7, 0.6, 0.1, 1.4), busy, ceiling)).toMatch(
      /^DynamoDB Local, saturated: 1900 item operations\/s/,
    );
  });

  it("names the CPU and its biggest user when the cores are busy and DynamoDB Local is not saturated", () => {
    const text = bottleneck(shares(0.7, 0.95, 0.1, 1.8), load, ceiling);
    expect(text).toMatch(/^CPU: 1\.80 of 2 cores busy, most by the job's contenders/);
  });

  it("names DynamoDB Local when its requests queued (3 times idle or more) with cores to spare", () => {
    const queued: DynamoLoad = { ...load, meanRequestMs: 40 };
    expect(bottleneck(shares(0.7, 0.6, 0.1, 1.4), queued, ceiling)).toMatch(
      /^DynamoDB Local, requests queued: .*requests took 40\.0 ms on average, 2\.0 ms idle; 1\.40 of 2 cores busy/,
    );
  });

  it("names nothing local when nothing is saturated and DynamoDB answers promptly", () => {
    expect(bottleneck(shares(0.3, 0.3, 0.1, 0.7), load, ceiling)).toMatch(/^nothing local: 0\.70 of 2 cores/);
  });

  it("falls back to the CPU rule without a ceiling", () => {
    expect(bottleneck(shares(0.95, 0.5, 0.1, 1.6))).toMatch(/^nothing local/);
  });
});

/**
 * Process orchestration for local runs and chaos scenarios: infrastructure on free ports, contender
 * processes running the real handler with their parsed log streams, signals (SIGKILL, SIGSTOP, SIGCONT),
 * a timeline recorder, the HTML report, and clean shutdown.
 */
export { Cluster, scheduledEvent, type ClusterOptions, type Round, type RoundOptions } from "./cluster";
export {
  functionEnv,
  spawnContender,
  type ContenderExit,
  type ContenderProcess,
  type ContenderSpec,
  type FunctionEnvironment,
  type LeaseSettings,
} from "./contenders";
export {
  LOCAL_STRIPE_KEY,
  startInfrastructure,
  type Infrastructure,
  type StripeEmulator,
} from "./infrastructure";
export { parseLine, type ParsedLine, type RunFinished } from "./log-lines";
export {
  renderReport,
  renderTimelineSvg,
  writeReport,
  type ReportInput,
  type ReportTable,
} from "./report-html";
export { Shutdown } from "./shutdown";
export { pauseFor, sendSignal, sigcont, sigkill, sigstop } from "./signals";
export { Timeline, type LeaseInterval, type Takeover, type TimelineEntry } from "./timeline";

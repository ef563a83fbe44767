export {
  startTestServer,
  startWithConfigFile,
  serverBinary,
  rewriteAof,
  serverGroup,
  serverPool,
  loadRdb,
  TEST_CLUSTER_NODE_TIMEOUT_MS,
} from './server.js';
export type { StartTestServerOptions, TestServer, ServerFlavor, ConfigFileServer } from './server.js';
export { startTestCluster } from './cluster.js';
export type { StartTestClusterOptions, TestCluster, TestClusterNode } from './cluster.js';
export {
  registerPid,
  unregisterPid,
  unregisterExited,
  killRegistered,
  killProcess,
  registryDir,
  isRunning,
  waitForExit,
  stopChild,
  serverProcessesUnder,
  signalPending,
} from './processes.js';
export {
  freePort,
  freePorts,
  freeClusterPorts,
  listenOnFreePort,
  ephemeralPortRange,
  CLUSTER_BUS_OFFSET,
} from './ports.js';
export { waitFor, withDeadline, WaitTimeoutError, HANG_TIMEOUT_MS } from './wait.js';
export type { WaitOptions } from './wait.js';
export {
  encodeCommand,
  encodeCommands,
  parseReply,
  isCompleteReply,
  rawCommand,
  rawCommandSync,
  withoutValkeyHeader,
} from './resp.js';
export type { RespArg } from './resp.js';
export { createTestCertificates, tlsServerConfig } from './tls.js';
export type { TestCertificates } from './tls.js';
export { seededRandom } from './random.js';
export {
  writeDataset,
  writeClusterDataset,
  everyTypeDataset,
  buildDataset,
  buildClusterDataset,
  encodingsDataset,
  buildEncodingsDataset,
  FAR_EXPIRY_MS,
  FUNCTION_LIBRARY,
  ENCODINGS_FUNCTION_LIBRARY,
} from './dataset.js';
export type { DatasetCommand, DatasetPart, DatasetOptions } from './dataset.js';
export type { ServerTarget } from './client.js';
export {
  serverState,
  clusterDigest,
  keyState,
  normalizeStreamInfo,
  keyspaceState,
  keyspaceName,
  pickKeys,
  countTypes,
} from './state.js';
export type {
  ServerState,
  KeyState,
  StateView,
  ServerStateView,
  KeyStateView,
  KeyspaceEndpoint,
  KeyspaceOptions,
  KeyspaceKey,
  KeyspaceState,
} from './state.js';
export {
  LIMITS_CHECKED,
  LimitExceededError,
  checkLimit,
  withinTime,
  withinMemory,
  memoryGuard,
} from './limits.js';
export { startSentinelTopology } from './sentinel.js';
export type { SentinelTopology, StartSentinelTopologyOptions, TestSentinel } from './sentinel.js';

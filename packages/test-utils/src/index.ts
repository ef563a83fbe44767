export { startTestServer, freePort, rawCommand, serverBinary } from './server.js';
export type { StartTestServerOptions, TestServer, ServerFlavor } from './server.js';
export { startTestCluster } from './cluster.js';
export type { StartTestClusterOptions, TestCluster, TestClusterNode } from './cluster.js';
export { registerPid, unregisterPid, killRegistered, registryDir } from './registry.js';
export { createTestCertificates, tlsServerConfig } from './tls.js';
export type { TestCertificates } from './tls.js';
export { seededRandom } from './random.js';

import { installValkey, resolveBinary } from '@valkey-tools/binaries';

// #region resolve
// The first valkey-server 8.x found: an explicit path (VALKEY_TOOLS_SYSTEM_BINARY), the system
// (PATH, distribution and Homebrew locations), the cache, then a verified download.
const server = await resolveBinary({ version: '8' });
console.log(`${server.path} (${server.version}, found by the ${server.provider} provider)`);
// #endregion resolve

// #region install
// Make sure 8.0.x is in the cache (VALKEY_TOOLS_HOME, default ~/.valkey-tools): from a private
// mirror, checked against its sha256, extracted safely, shared by every process on the machine.
const installed = await installValkey({
  version: '8.0',
  mirror: 'https://mirror.internal.example/valkey',
  onStatus: (message) => console.error(message),
});
console.log(installed.binaries['valkey-server'], installed.downloaded ? 'downloaded' : 'cached');
// #endregion install

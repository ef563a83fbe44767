// Generate a valkey.conf from a preset, override a directive, and check it before writing.
import {
  formatIssue,
  preset,
  type ValkeyConfigInput,
  validateConfig,
  writeConfigFile,
} from '@valkey-tools/config';

const config: ValkeyConfigInput = {
  ...preset('cache', { port: 6380, maxmemory: '512mb' }),
  'maxmemory-policy': 'allkeys-lfu',
};

const errors = validateConfig(config).filter((issue) => issue.severity === 'error');
if (errors.length > 0) throw new Error(errors.map(formatIssue).join('\n'));

// Atomically, mode 0600 (configs hold passwords); serializeConfig(config) gives the text instead.
writeConfigFile('valkey.conf', config);

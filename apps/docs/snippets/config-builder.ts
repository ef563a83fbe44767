// Generate a valkey.conf from a preset, override a directive, and check it before writing.
import { writeFile } from 'node:fs/promises';
import {
  formatIssue,
  preset,
  serializeConfig,
  type ValkeyConfigInput,
  validateConfig,
} from '@valkey-tools/config';

// #region build
const config: ValkeyConfigInput = {
  ...preset('cache', { port: 6380, maxmemory: '512mb' }),
  'maxmemory-policy': 'allkeys-lfu',
};
// #endregion build

// #region validate
const errors = validateConfig(config).filter((issue) => issue.severity === 'error');
if (errors.length > 0) throw new Error(errors.map(formatIssue).join('\n'));
// #endregion validate

await writeFile('valkey.conf', serializeConfig(config));

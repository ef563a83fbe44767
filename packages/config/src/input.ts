import type { ValkeyDirectives } from './schema.generated.js';

export type { ValkeyDirectives } from './schema.generated.js';

/**
 * A config as plain data: directive name → value, typed per directive (`maxmemory: '256mb'` or
 * bytes, `'maxmemory-policy'` only its values). Repeatable directives take arrays
 * (`save: [[900, 1], [300, 10]]`, or `save: ''` to disable). Unknown names (module configs,
 * newer servers) are accepted and written as-is; `validateConfig` reports them.
 */
export type ValkeyConfigInput = ValkeyDirectives & { [extra: string]: unknown };

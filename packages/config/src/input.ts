import type { ValkeyDirectives } from './schema.generated.js';
import type { RawValue } from './values.js';

export type { ValkeyDirectives } from './schema.generated.js';

/**
 * Module configs, named the way the server names them: `<module>.<option>` (`search.timeout`).
 * Any dotted name is accepted with a raw value; the validator reports it unless allowed.
 */
export type ModuleDirectives = { [name: `${string}.${string}`]: RawValue | undefined };

/**
 * A config as plain data: directive name → value, typed per directive (`maxmemory: '256mb'` or
 * bytes, `'maxmemory-policy'` only its values). Repeatable directives take arrays
 * (`save: [[900, 1], [300, 10]]`, or `save: ''` to disable). A misspelled name fails to compile.
 * Module configs (`<module>.<option>`) are accepted as raw values; any other name the schema does
 * not know (a newer server's directive) goes through {@link untypedDirectives}.
 */
export type ValkeyConfigInput = ValkeyDirectives & ModuleDirectives;

/**
 * Directives outside the schema (a newer server's, or an alias in another case), as a
 * `ValkeyConfigInput` to spread or merge: `mergeConfigs(preset('cache'), untypedDirectives({ 'new-directive': 'yes' }))`.
 * Values are written as given; `validateConfig` still reports names the server would refuse
 * (pass `allow` to accept them).
 */
export function untypedDirectives(
  directives: Readonly<Record<string, RawValue | undefined>>,
): ValkeyConfigInput {
  return { ...directives } as ValkeyConfigInput;
}

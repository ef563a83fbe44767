export { ConfigError } from './errors.js';
export type { ConfigErrorCode } from './errors.js';
export { quoteArg, formatLine, splitArgs } from './quote.js';
export type { SplitResult } from './quote.js';
export { serializeConfig, directiveLines, assertDirectiveName } from './serialize.js';
export type { SerializeOptions } from './serialize.js';
export { writeConfigFile } from './write.js';
export type { WriteConfigOptions } from './write.js';
export { preset, mergeConfigs, PRESET_NAMES } from './presets.js';
export type { PresetName, PresetOptions } from './presets.js';
export type { ValkeyConfigInput, ValkeyDirectives, ModuleDirectives } from './input.js';
export { untypedDirectives } from './input.js';
export {
  DIRECTIVES,
  SCHEMA_SERVER_VERSION,
  getDirective,
  canonicalName,
  directiveNames,
  suggestDirectives,
} from './schema.js';
export type { DirectiveSpec, DirectiveType } from './schema-types.js';
export { parseConfig, parseConfigFile, isParsedConfig } from './parse.js';
export type { ParsedConfig, ParsedDirective, ParseOptions } from './parse.js';
export { toConfigInput, serializeParsed, inputToDirectives } from './model.js';
export { validateConfig, assertValidConfig } from './validate.js';
export type { ValidateOptions } from './validate.js';
export { formatIssue } from './issues.js';
export type { ConfigIssue, ConfigIssueCode } from './issues.js';
export { checkArgs, parseMemory, parseInteger, parsePercent, BINARY_SAFE_STRINGS } from './check.js';
export type { ConfigValue, ValueCheck } from './check.js';
export { expectedLiveValues, liveValueOf } from './normalize.js';
export { diffConfig, diffWithServer, fetchLiveConfig } from './diff.js';
export type { ConfigDifference, DiffOptions, FetchOptions } from './diff.js';
export type {
  MemoryUnit,
  MemoryValue,
  PercentValue,
  YesNo,
  IntegerValue,
  StringValue,
  SaveValue,
  ClientClass,
  ClientOutputBufferLimit,
  ClientOutputBufferLimitValue,
  ReplicaOfValue,
  RenameCommandValue,
  ModuleSpec,
  UserSpec,
  ListValue,
  RawValue,
} from './values.js';

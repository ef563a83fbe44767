export { ConfigError } from './errors.js';
export type { ConfigErrorCode } from './errors.js';
export { quoteArg, formatLine, splitArgs } from './quote.js';
export type { SplitResult } from './quote.js';
export { serializeConfig, directiveLines, assertDirectiveName } from './serialize.js';
export type { SerializeOptions } from './serialize.js';
export { preset, mergeConfigs, PRESET_NAMES } from './presets.js';
export type { PresetName, PresetOptions } from './presets.js';
export type { ValkeyConfigInput, SpecialDirectives, CommonDirectives } from './input.js';
export type {
  MemoryUnit,
  MemoryValue,
  PercentValue,
  YesNo,
  IntegerValue,
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

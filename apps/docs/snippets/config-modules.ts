// Directives outside the schema, explicitly: module configs and a newer server's directives.
import { mergeConfigs, preset, serializeConfig, untypedDirectives } from '@valkey-tools/config';

const config = mergeConfigs(preset('cache'), {
  loadmodule: ['/usr/lib/valkey/modules/search.so'],
  // Module configs are named <module>.<option>: any dotted name is accepted.
  'search.timeout': 500,
  // Anything else the schema does not know.
  ...untypedDirectives({ 'newer-directive': 'yes' }),
});

console.log(serializeConfig(config));

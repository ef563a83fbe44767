import { editDistance } from '@valkey-tools/core';
import type { DirectiveSpec } from './schema-types.js';
import { DIRECTIVES } from './schema.generated.js';

export { DIRECTIVES, SCHEMA_SERVER_VERSION } from './schema.generated.js';

/** The spec of a directive by any of its names (case-insensitive), or `undefined`. */
export function getDirective(name: string): DirectiveSpec | undefined {
  const lower = name.toLowerCase();
  return Object.hasOwn(DIRECTIVES, lower) ? DIRECTIVES[lower] : undefined;
}

/** The documented name for `name` (`slaveof` → `replicaof`); unknown names come back lower-cased. */
export function canonicalName(name: string): string {
  const spec = getDirective(name);
  return spec?.aliasOf ?? spec?.name ?? name.toLowerCase();
}

/** Names of every known directive (canonical ones only unless `withAliases`). */
export function directiveNames(options: { withAliases?: boolean } = {}): string[] {
  return Object.values(DIRECTIVES)
    .filter((d) => options.withAliases || !d.aliasOf)
    .map((d) => d.name);
}

/** Known directive names closest to `name` (for "did you mean"), best first. */
export function suggestDirectives(name: string, max = 3): string[] {
  const lower = name.toLowerCase().replace(/_/g, '-');
  const scored = directiveNames()
    .map((candidate) => {
      let score = editDistance(lower, candidate);
      if (candidate.includes(lower) || lower.includes(candidate)) score = Math.min(score, 2);
      return { candidate, score };
    })
    .filter(({ score, candidate }) => score <= Math.max(2, Math.floor(candidate.length / 3)))
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate));
  return scored.slice(0, max).map((s) => s.candidate);
}

import { resolve } from 'node:path';
import { formatIssue, parseConfigFile, validateConfig } from '@valkey-tools/config';
import { EXIT_FAILED } from '../errors.js';
import type { CommandContext } from '../main.js';

export async function run({ args, io, out }: CommandContext<'config check'>): Promise<number | undefined> {
  const file = args[0]!;
  const parsed = parseConfigFile(resolve(io.cwd, file));
  const issues = validateConfig(parsed);
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  out.result(
    {
      file,
      files: parsed.files,
      valid: errors === 0,
      directives: parsed.directives.length,
      errors,
      warnings,
      issues,
    },
    () => {
      for (const issue of issues) {
        const line = formatIssue(issue);
        out.line(issue.severity === 'error' ? out.style('red', line) : out.style('yellow', line));
      }
      const summary = `${file}: ${parsed.directives.length} directive${parsed.directives.length === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
      if (errors === 0) out.line(out.style('green', `${summary}: valid`));
      else out.info(summary);
    },
  );
  return errors > 0 ? EXIT_FAILED : undefined;
}

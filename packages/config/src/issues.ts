/** What kind of problem a config has. */
export type ConfigIssueCode =
  /** a line the server cannot split (unbalanced quotes) */
  | 'syntax'
  /** a directive the server does not know */
  | 'unknown-directive'
  /** too many or too few arguments */
  | 'wrong-arity'
  /** not a number / memory size / yes-no / ... */
  | 'wrong-type'
  /** a number outside the directive's range */
  | 'out-of-range'
  /** not one of the directive's allowed values */
  | 'bad-enum'
  /** a single-value directive given twice (the last one wins) */
  | 'duplicate'
  /** options that do not work together */
  | 'conflict'
  /** an include chain that loops */
  | 'include-cycle'
  /** an included file that cannot be read */
  | 'include-missing'
  /** a file or directory the server needs is not there (only with `checkFiles`) */
  | 'missing-file'
  /** accepted but ignored by the server */
  | 'deprecated';

export interface ConfigIssue {
  /** `error`: the server refuses to start or the setting cannot work; `warning`: it starts, but probably not as meant. */
  severity: 'error' | 'warning';
  code: ConfigIssueCode;
  /** The directive name as written. */
  directive: string;
  /** File and 1-based line (absent for object input). */
  file?: string;
  line?: number;
  column?: number;
  message: string;
  /** What to do about it (what is allowed). */
  hint: string;
}

/** `file:line: directive: message (hint)` — one line per issue, like a compiler. */
export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.file !== undefined
      ? `${issue.file}${issue.line !== undefined ? `:${issue.line}` : ''}${issue.column !== undefined ? `:${issue.column}` : ''}: `
      : '';
  return `${where}${issue.severity}: ${issue.directive}: ${issue.message}. ${issue.hint}`;
}

import { diffWithServer, formatIssue, parseConfigFile, validateConfig } from '@valkey-tools/config';

// #region check
// Reads the file as valkey-server does (quoting, escapes, case-insensitive names, include files)
// and keeps file and line for every directive.
const parsed = parseConfigFile('/etc/valkey/valkey.conf');
for (const issue of validateConfig(parsed)) console.error(formatIssue(issue));
// /etc/valkey/valkey.conf:42: maxmemory-policy: "allkeys-lr" is not one of ... (did you mean allkeys-lru?)
// #endregion check

// #region diff
// What does the running server do differently from the file?
for (const d of await diffWithServer(parsed, 'redis://127.0.0.1:6379')) {
  const where = d.file ? `${d.file}:${d.line}` : '(not in the file)';
  console.log(`${where} ${d.directive}: file says ${d.expected}, server runs ${d.actual ?? '(unknown)'}`);
}
// #endregion diff

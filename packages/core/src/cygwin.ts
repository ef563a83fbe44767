import { CoreError } from './errors.js';

function refuse(path: string, why: string): never {
  throw new CoreError('ERR_INVALID_PATH', `Cannot convert path "${path}": ${why}`, {
    details: { path },
    hint: 'Use an absolute drive path such as C:\\Users\\me\\valkey.conf',
  });
}

/**
 * Converts a Windows path to the form a Cygwin-built valkey-server understands:
 * `C:\Users\foo\valkey.conf` → `/cygdrive/c/Users/foo/valkey.conf`,
 * `\\server\share\dir` → `//server/share/dir`. Relative paths keep their form with `/` separators.
 */
export function toCygwinPath(windowsPath: string): string {
  if (windowsPath === '') refuse(windowsPath, 'it is empty');
  if (windowsPath.includes('\0')) refuse(windowsPath, 'it contains a NUL byte');
  const p = windowsPath.replace(/\\/g, '/');
  if (p.startsWith('/cygdrive/')) return p;
  if (/^\/\/[?.]\//.test(p)) refuse(windowsPath, 'device paths (\\\\?\\ and \\\\.\\) are not supported');
  if (p.startsWith('//')) {
    if (!/^\/\/[^/]+\/[^/]+/.test(p))
      refuse(windowsPath, 'a UNC path needs a server and a share (\\\\server\\share)');
    return p;
  }
  const drive = /^([A-Za-z]):(\/.*)?$/.exec(p);
  if (drive) {
    if (drive[2] === undefined) refuse(windowsPath, 'a drive-relative path (C:foo) is ambiguous');
    return `/cygdrive/${drive[1]!.toLowerCase()}${drive[2]}`;
  }
  if (/^[A-Za-z]:/.test(p)) refuse(windowsPath, 'a drive-relative path (C:foo) is ambiguous');
  if (p.startsWith('/')) refuse(windowsPath, 'a path rooted without a drive letter is ambiguous');
  return p;
}

/** The inverse of toCygwinPath: `/cygdrive/c/x` → `C:\x`, `//server/share` → `\\server\share`. */
export function fromCygwinPath(cygwinPath: string): string {
  if (cygwinPath === '') refuse(cygwinPath, 'it is empty');
  const drive = /^\/cygdrive\/([a-zA-Z])(\/.*)?$/.exec(cygwinPath);
  if (drive) return `${drive[1]!.toUpperCase()}:${(drive[2] ?? '/').replace(/\//g, '\\')}`;
  if (cygwinPath.startsWith('//')) return cygwinPath.replace(/\//g, '\\');
  if (cygwinPath.startsWith('/')) refuse(cygwinPath, 'only /cygdrive/<letter>/ paths map to a Windows drive');
  return cygwinPath.replace(/\//g, '\\');
}

import { parseConnectionUrl, redactUrl, ValkeyToolsError } from '@valkey-tools/core';

// #region urls
const target = parseConnectionUrl('valkeys://app:s3cret@cache.example.com:6380/2');
// { scheme: 'rediss', tls: true, host: 'cache.example.com', port: 6380, db: 2, username: 'app', password: 's3cret' }
console.log(redactUrl('valkeys://app:s3cret@cache.example.com:6380/2')); // valkeys://app:***@cache.example.com:6380/2
console.log(target.db);
// #endregion urls

// #region errors
try {
  parseConnectionUrl('redis://localhost:70000');
} catch (err) {
  if (ValkeyToolsError.isInstance(err)) {
    console.error(err.code); // ERR_INVALID_URL
    console.error(err.details); // { url: 'redis://localhost:70000', part: 'port' }
    console.error(err.hint); // Use redis://[user:password@]host[:port][/db], ...
  } else {
    throw err;
  }
}
// #endregion errors

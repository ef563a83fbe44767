import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { join, normalize } from 'node:path';
import { listenOnFreePort } from '@valkey-tools/test-utils';

/** What to do with the next request to a path, instead of serving it. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Send headers for the full file, then only `bytes` of the body, then drop the connection. */
  | { kind: 'truncate'; bytes: number }
  /** Claim the short body is the whole file (consistent headers, wrong bytes). */
  | { kind: 'short'; bytes: number }
  /** Never answer (timeout tests). */
  | { kind: 'hang' };

export interface RequestLog {
  path: string;
  range: string | undefined;
  status: number;
}

export interface MirrorServer {
  url: string;
  requests: RequestLog[];
  /** Queue faults for a path (served in order, then normal responses). */
  fault(path: string, ...faults: Fault[]): void;
  /** Map a request path to a file path (for official-release URL shapes). */
  alias(match: RegExp, file: string): void;
  /** Serve bodies slowly: `bytesPerTick` every 10 ms (only under `prefix` when given). */
  throttle(bytesPerTick: number | undefined, prefix?: string): void;
  /** `host:port` of every CONNECT tunnel opened through this server used as a proxy. */
  tunnels: string[];
  close(): Promise<void>;
}

/** A static file server over a mirror dir on 127.0.0.1 with Range support and scripted faults. */
export async function startMirrorServer(root: string): Promise<MirrorServer> {
  const faults = new Map<string, Fault[]>();
  const aliases: Array<[RegExp, string]> = [];
  const requests: RequestLog[] = [];
  // Per URL prefix ('' = everything).
  const slowByPrefix = new Map<string, number>();
  const hanging = new Set<ServerResponse>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: RequestLog = { path, range: req.headers.range, status: 200 };
    requests.push(log);
    const send = (status: number, body = '') => {
      log.status = status;
      res.writeHead(status, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const fault = faults.get(path)?.shift();
    if (fault?.kind === 'status') {
      log.status = fault.status;
      res.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      res.end('injected failure');
      return;
    }
    if (fault?.kind === 'hang') {
      hanging.add(res);
      return;
    }
    const alias = aliases.find(([m]) => m.test(path));
    // `/iso/<id>/...` serves the same files as `/...`: each test gets its own URLs, fault queues
    // and request log, so tests can run concurrently.
    const filePath = path.replace(/^\/iso\/[^/]+/, '');
    const file = alias ? alias[1] : join(root, normalize(filePath));
    let slow: number | undefined;
    for (const [prefix, bytes] of slowByPrefix) if (path.startsWith(prefix)) slow = bytes;
    let size: number;
    try {
      const s = statSync(file);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      send(404, 'not found');
      return;
    }
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Number(range[2]);
      if (start >= size) {
        log.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
      log.status = 206;
      res.writeHead(206, {
        'content-range': `bytes ${start}-${end}/${size}`,
        'content-length': end - start + 1,
      });
    } else if (fault?.kind === 'short') {
      end = fault.bytes - 1;
      res.writeHead(200, { 'content-length': fault.bytes });
    } else {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
    }
    if (fault?.kind === 'truncate') {
      // The connection is cut once every byte written has reached the socket (a busy machine
      // must not turn "cut after N bytes" into "cut before any byte").
      const stream = createReadStream(file, { start, end: start + fault.bytes - 1 });
      let pending = 0;
      let ended = false;
      const cut = () => setTimeout(() => res.socket?.destroy(), 20);
      stream.on('data', (chunk) => {
        pending++;
        res.write(chunk, () => {
          if (--pending === 0 && ended) cut();
        });
      });
      stream.on('end', () => {
        ended = true;
        if (pending === 0) cut();
      });
      return;
    }
    const stream = createReadStream(file, { start, end, ...(slow ? { highWaterMark: slow } : {}) });
    if (!slow) {
      stream.pipe(res);
      return;
    }
    stream.on('data', (chunk) => {
      stream.pause();
      res.write(chunk);
      setTimeout(() => stream.resume(), 10);
    });
    stream.on('end', () => res.end());
  };

  const server: Server = createServer(handler);
  // Forward proxy support (CONNECT), so proxy settings can be tested against the same server.
  const tunnels: string[] = [];
  server.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listenOnFreePort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fault: (path, ...list) => faults.set(path, [...(faults.get(path) ?? []), ...list]),
    alias: (match, file) => aliases.push([match, file]),
    throttle: (bytes, prefix = '') => {
      if (bytes === undefined) slowByPrefix.delete(prefix);
      else slowByPrefix.set(prefix, bytes);
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    tunnels,
  };
}

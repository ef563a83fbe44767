import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from './processes.js';

/**
 * Ports for test servers, one scheme for every test: a port (or a block of consecutive ports, with
 * their cluster bus ports) below the kernel's ephemeral range, so an outgoing connection never
 * takes it as its local port, and reserved for the life of this process in a directory every test
 * process on the machine shares (a file per port holding the owner's pid; a dead owner's are taken
 * over), so parallel suites never pick the same one. Each port is also bound once to prove that
 * nothing else (a service outside the tests) holds it.
 */

/** A cluster node's bus port is its port + 10000. */
export const CLUSTER_BUS_OFFSET = 10_000;
/** The lowest port handed out (clear of the well-known and the usual service ports). */
const LOW = 10_000;

const reserved = new Set<number>();
let reservationDir: string | undefined;

function dir(): string {
  if (!reservationDir) {
    reservationDir = join(tmpdir(), 'valkey-tools-test-ports');
    mkdirSync(reservationDir, { recursive: true });
    process.once('exit', () => {
      for (const port of reserved) rmSync(join(reservationDir!, String(port)), { force: true });
    });
  }
  return reservationDir;
}

/** The kernel's ephemeral (local) port range, where outgoing connections get their ports. */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low && high) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/** Takes the reservation of `port` for this process; false when a live process holds it. */
function reserve(port: number): boolean {
  if (reserved.has(port)) return false;
  const file = join(dir(), String(port));
  const claim = () => {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      reserved.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  };
  if (claim()) return true;
  let owner = 0;
  try {
    owner = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (owner === process.pid || (owner > 0 && isRunning(owner))) return false;
  rmSync(file, { force: true });
  return claim();
}

function release(port: number): void {
  reserved.delete(port);
  rmSync(join(dir(), String(port)), { force: true });
}

/** True when `port` can be bound on 127.0.0.1 right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Reserves `count` consecutive free loopback ports (with `bus`, their cluster bus ports too) and
 * returns the first. They stay reserved until this process exits, so a server restarted on its
 * port gets it back.
 */
export async function freePorts(count: number, options: { bus?: boolean } = {}): Promise<number> {
  const [ephemeralLow] = ephemeralPortRange();
  const high = ephemeralLow - (options.bus ? CLUSTER_BUS_OFFSET : 0) - count;
  if (high <= LOW) throw new Error(`no room for ${count} ports below the ephemeral range (${ephemeralLow})`);
  for (let attempt = 0; attempt < 500; attempt++) {
    const base = LOW + Math.floor(Math.random() * (high - LOW));
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      ports.push(base + i);
      if (options.bus) ports.push(base + i + CLUSTER_BUS_OFFSET);
    }
    const taken: number[] = [];
    let ok = true;
    for (const port of ports) {
      if (!reserve(port)) {
        ok = false;
        break;
      }
      taken.push(port);
      if (!(await bindable(port))) {
        ok = false;
        break;
      }
    }
    if (ok) return base;
    for (const port of taken) release(port);
  }
  throw new Error(`found no ${count} free consecutive ports below ${high} in 500 tries`);
}

/** One free loopback port, reserved for this process (see freePorts). */
export function freePort(): Promise<number> {
  return freePorts(1);
}

/** The first of `nodes` free ports whose cluster bus ports (+10000) are free too. */
export function freeClusterPorts(nodes: number): Promise<number> {
  return freePorts(nodes, { bus: true });
}

/**
 * Starts an in-process server (a fake peer) on a port the kernel picks on 127.0.0.1 and returns
 * the port: the server holds it from the start, so nothing can take it in between.
 */
export function listenOnFreePort(server: Server | HttpServer, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

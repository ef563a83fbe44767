// vitest.global-setup.ts: one server for the whole test run; tests read its URL with inject('valkeyUrl').
import { startServer } from '@valkey-tools/binaries';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    valkeyUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startServer({ name: `ci-${process.pid}`, port: 16379, removeDirOnStop: true });
  project.provide('valkeyUrl', server.url);
  return () => server.stop();
}

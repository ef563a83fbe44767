import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// In your project this file is just `defineConfig({})`. Inside the valkey-tools repository the
// examples resolve the @valkey-tools packages to their TypeScript sources, so no build is needed.
const conditions = ['@valkey-tools/source', 'module', 'node', 'development|production'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { include: ['*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});

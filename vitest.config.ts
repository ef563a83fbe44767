import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// One project per package: a package's tests import its siblings' source through the
// "@valkey-tools/source" export condition, so no build is needed to test a change.
const conditions = ['@valkey-tools/source', ...defaultServerConditions];

const projectDirs = ['packages', 'apps'].flatMap((root) =>
  existsSync(root) ? readdirSync(root).map((name) => `${root}/${name}`) : [],
);

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./packages/test-utils/src/global-setup.ts', import.meta.url))],
    projects: projectDirs
      .filter(
        (dir) => existsSync(`${dir}/package.json`) && (existsSync(`${dir}/src`) || existsSync(`${dir}/test`)),
      )
      .map((dir) => ({
        extends: true as const,
        resolve: { conditions },
        ssr: { resolve: { conditions, externalConditions: conditions } },
        test: {
          name: dir.split('/')[1]!,
          root: dir,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          // Limits that only catch a hang: a loaded 2-core machine (CI with busy neighbours) must
          // never trip them, so they are far above any test's normal time.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      })),
  },
});

import { defineConfig } from 'vitest/config';

// `npm run test:packages`: the published packages as users get them (packed tarballs installed into an
// empty project). Separate from `npm test` because it packs and installs (about a minute).
export default defineConfig({
  test: {
    include: ['test/packages/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});

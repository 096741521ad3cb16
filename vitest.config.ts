import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start their own dynalite/s3rver on loopback; keep them in separate workers.
    pool: 'forks',
    // s3rver's ListObjectsV2 continuation tokens use DES, which Node 22's OpenSSL 3 offers only
    // with the legacy provider (docs/operations.md); the workers that start s3rver need it.
    execArgv: ['--openssl-legacy-provider'],
    // CI also writes a machine-readable result, from which .ci/run prints one summary line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.ci/test-results.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

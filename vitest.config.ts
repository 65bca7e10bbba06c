import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // node:assert lets the contract cases run unchanged on Deno too.
        compatibilityFlags: ['nodejs_compat'],
        // Test-only settings: the entry-point tests read these through `env`.
        bindings: {
          UNITY_URL: 'https://unity.test/vu/public',
          UNITY_CLIENT_ID: 'relay-test',
          UNITY_CLIENT_SECRET: 'test-only client secret',
          STATE_SECRET: 'test-only-state-secret-0123456789abcdef',
          REFRESH_SEAL_SECRET: 'test-only-refresh-seal-secret-0123456789abcdef',
          RETURN_TO_ALLOWLIST: 'https://app.example.com',
          // Cases per endpoint in test/workers/fuzz.test.ts: a slice here, 10,000 in `npm run test:fuzz`.
          FUZZ_RUNS: process.env.FUZZ_RUNS ?? '1000',
        },
      },
    }),
  ],
  test: {
    include: ['test/workers/**/*.test.ts'],
  },
})

/**
 * The fuzz properties inside workerd on real local KV. `npm test` runs a slice of FUZZ_RUNS
 * (default 1,000) cases per endpoint; `npm run test:fuzz` runs 10,000.
 */
import { env } from 'cloudflare:workers'
import { describe, it } from 'vitest'
import { WORKERS_KV_KEY_PREFIX, WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import type { StoreHarness } from '../contract/cases.ts'
import { fuzzProperties } from '../fuzz/properties.ts'

const kv = env.AUTH_CODES
const workersKv: StoreHarness = {
  open: async () => ({
    store: new WorkersKvCodeStore(kv),
    raw: {
      get: (challenge) => kv.get(WORKERS_KV_KEY_PREFIX + challenge, 'json'),
      expiration: async () => undefined,
      count: async () => (await kv.list({ prefix: WORKERS_KV_KEY_PREFIX })).keys.length,
    },
  }),
}

const numRuns = Number(env.FUZZ_RUNS)

describe('fuzz properties on Workers KV', () => {
  for (const property of fuzzProperties(numRuns)) {
    it(property.name, { timeout: 900_000 }, () => property.run(workersKv))
  }
})

/**
 * The fuzz properties inside workerd on real local KV. `npm test` runs a slice of FUZZ_RUNS
 * (default 1,000) cases per endpoint; `npm run test:fuzz` runs 10,000.
 */
import { env } from 'cloudflare:workers'
import { describe, it } from 'vitest'
import { fuzzProperties } from '../fuzz/properties.ts'
import { workersKvHarness } from './store-harnesses.ts'

const numRuns = Number(env.FUZZ_RUNS)

describe('fuzz properties on Workers KV', () => {
  for (const property of fuzzProperties(numRuns)) {
    it(property.name, { timeout: 900_000 }, () => property.run(workersKvHarness))
  }
})

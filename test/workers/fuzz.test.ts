/**
 * The fuzz properties inside workerd on real local KV, and the parser properties behind /token.
 * `npm test` runs a slice of FUZZ_RUNS (default 1,000) cases per property; `npm run test:fuzz`
 * runs 10,000.
 */
import { env } from 'cloudflare:workers'
import { describe, it } from 'vitest'
import { parserProperties } from '../fuzz/parsers.ts'
import { fuzzProperties } from '../fuzz/properties.ts'
import { standardProperties } from '../fuzz/standard.ts'
import { workersKvHarness } from './store-harnesses.ts'

const numRuns = Number(env.FUZZ_RUNS)

describe('fuzz properties on Workers KV', () => {
  for (const property of fuzzProperties(numRuns)) {
    it(property.name, { timeout: 900_000 }, () => property.run(workersKvHarness))
  }
})

describe('fuzz properties of the standard flow’s validators', () => {
  for (const property of standardProperties(numRuns)) {
    it(property.name, { timeout: 900_000 }, () => property.run())
  }
})

describe('fuzz properties of the parsers behind /token', () => {
  for (const property of parserProperties(numRuns)) {
    it(property.name, { timeout: 900_000 }, () => property.run())
  }
})

/**
 * The shared HTTP contract, run inside workerd against real (local) Workers KV.
 */
import { describe, it } from 'vitest'
import { contractCases } from '../contract/cases.ts'
import { workersKvHarness } from './store-harnesses.ts'

describe('HTTP contract on Workers KV', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, () => contractCase.run(workersKvHarness))
  }
})

/**
 * The shared HTTP contract, run inside workerd on both Workers stores: real (local) Workers KV
 * and real (local) SQLite-backed Durable Objects.
 */
import { describe, it } from 'vitest'
import { contractCases } from '../contract/cases.ts'
import { durableObjectHarness, workersKvHarness } from './store-harnesses.ts'

describe('HTTP contract on Workers KV', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, () => contractCase.run(workersKvHarness))
  }
})

describe('HTTP contract on Durable Objects', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, () => contractCase.run(durableObjectHarness))
  }
})

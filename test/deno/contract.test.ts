/**
 * The shared HTTP contract, run on Deno against a real (in-memory) Deno KV.
 */
import { contractCases } from '../contract/cases.ts'
import { denoKvHarness } from './harness.ts'

for (const contractCase of contractCases) {
  Deno.test(`HTTP contract on Deno KV: ${contractCase.name}`, async () => {
    const harness = denoKvHarness()
    try {
      await contractCase.run(harness)
    } finally {
      harness.close()
    }
  })
}

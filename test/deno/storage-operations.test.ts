/**
 * Storage operations per completed login (with one pending poll) on Deno KV, counted on a real
 * in-memory Deno KV. docs/stores.md's store comparison quotes these figures.
 */
import { strict as assert } from 'node:assert'
import type { DenoKv, DenoKvAtomic } from '../../src/stores/deno-kv.ts'
import { loginWithOnePendingPoll } from '../contract/login-operations.ts'
import { denoKvHarness } from './harness.ts'

Deno.test('storage operations per completed login on Deno KV: 4 reads, 4 atomic commits and 1 set (the grant record)', async () => {
  const counts: Record<string, number> = {}
  const count = (operation: string) => (counts[operation] = (counts[operation] ?? 0) + 1)
  const countAtomic = (atomic: DenoKvAtomic): DenoKvAtomic => ({
    check: (...checks) => countAtomic(atomic.check(...checks)),
    set: (key, value, options) => countAtomic(atomic.set(key, value, options)),
    delete: (key) => countAtomic(atomic.delete(key)),
    commit: () => (count('atomic commit'), atomic.commit()),
  })
  const harness = denoKvHarness((kv): DenoKv => ({
    get: (key) => (count('get'), kv.get(key)),
    set: (key, value, options) => (count('set'), kv.set(key, value, options)),
    atomic: () => countAtomic(kv.atomic()),
  }))
  try {
    await loginWithOnePendingPoll(harness)
  } finally {
    harness.close()
  }
  console.log('Deno KV operations per login:', JSON.stringify(counts))
  assert.deepEqual(counts, { get: 4, 'atomic commit': 4, set: 1 })
})

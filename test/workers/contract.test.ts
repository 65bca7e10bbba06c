/**
 * The shared HTTP contract, run inside workerd against real (local) Workers KV.
 */
import { env } from 'cloudflare:workers'
import { describe, it } from 'vitest'
import { WORKERS_KV_KEY_PREFIX, WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import { contractCases } from '../contract/cases.ts'
import type { StoreHarness } from '../contract/cases.ts'

const workersKv: StoreHarness = {
  async open() {
    const kv = env.AUTH_CODES
    return {
      store: new WorkersKvCodeStore(kv),
      raw: {
        get: (challenge) => kv.get(WORKERS_KV_KEY_PREFIX + challenge, 'json'),
        async expiration(challenge) {
          const { keys } = await kv.list({ prefix: WORKERS_KV_KEY_PREFIX + challenge })
          return keys[0]?.expiration
        },
        async count() {
          return (await kv.list({ prefix: WORKERS_KV_KEY_PREFIX })).keys.length
        },
      },
    }
  },
}

describe('HTTP contract on Workers KV', () => {
  for (const contractCase of contractCases) {
    it(contractCase.name, () => contractCase.run(workersKv))
  }
})

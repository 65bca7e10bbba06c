/**
 * @module
 * The Workers store under test on its real local binding, with a raw view of what it holds.
 */
import { env } from 'cloudflare:workers'
import { WORKERS_KV_DEVICE_PREFIX, WORKERS_KV_KEY_PREFIX, WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import type { StoreHarness } from '../contract/cases.ts'

/** Workers KV through the `AUTH_CODES` binding. */
export const workersKvHarness: StoreHarness = {
  async open() {
    const kv = env.AUTH_CODES
    return {
      store: new WorkersKvCodeStore(kv),
      raw: {
        get: (challenge) => kv.get(WORKERS_KV_KEY_PREFIX + challenge, 'json'),
        getDevice: (userCode) => kv.get(WORKERS_KV_DEVICE_PREFIX + userCode, 'json'),
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

/**
 * @module
 * The Deno part of the contract harness: each relay gets a fresh in-memory Deno KV.
 */
import { DENO_KV_DEVICE_PREFIX, DENO_KV_GRANT_PREFIX, DENO_KV_KEY_PREFIX, DENO_KV_PROOF_PREFIX, DenoKvCodeStore } from '../../src/stores/deno-kv.ts'
import type { DenoKv } from '../../src/stores/deno-kv.ts'
import type { StoreHarness } from '../contract/cases.ts'

/** A {@link StoreHarness} on Deno KV that closes every KV it opened. */
export interface DenoKvHarness extends StoreHarness {
  close(): void
}

/** Opens in-memory Deno KVs; `wrapKv` sits between the store and KV, e.g. to hold reads. */
export function denoKvHarness(wrapKv: (kv: DenoKv) => DenoKv = (kv) => kv): DenoKvHarness {
  const opened: Deno.Kv[] = []
  return {
    async open() {
      const kv = await Deno.openKv(':memory:')
      opened.push(kv)
      return {
        store: new DenoKvCodeStore(wrapKv(kv)),
        raw: {
          get: async (challenge) => (await kv.get([...DENO_KV_KEY_PREFIX, challenge])).value,
          getDevice: async (userCode) => (await kv.get([...DENO_KV_DEVICE_PREFIX, userCode])).value,
          getProof: async (key) => (await kv.get([...DENO_KV_PROOF_PREFIX, key])).value,
          getGrant: async (grantId) => (await kv.get([...DENO_KV_GRANT_PREFIX, grantId])).value,
          // Deno KV does not expose an entry's expiry.
          expiration: () => Promise.resolve(undefined),
          count: async () => (await Array.fromAsync(kv.list({ prefix: [...DENO_KV_KEY_PREFIX] }))).length,
        },
      }
    },
    close() {
      for (const kv of opened.splice(0)) kv.close()
    },
  }
}

/**
 * @module
 * The two Workers stores under test, each on its real local binding (Workers KV, and SQLite-backed
 * `AuthFlows` Durable Objects), with a raw view of what the backend really holds.
 */
import { env } from 'cloudflare:workers'
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test'
import type { AuthFlows } from '../../src/index.ts'
import { DURABLE_OBJECT_DEVICE_PREFIX, DURABLE_OBJECT_FLOW_PREFIX, DURABLE_OBJECT_GRANT_PREFIX, DURABLE_OBJECT_PROOF_PREFIX, DurableObjectCodeStore } from '../../src/stores/durable-object.ts'
import { FLOW_OBJECT_RECORD_KEY, GRANT_OBJECT_RECORD_KEY } from '../../src/stores/flow-object.ts'
import { WORKERS_KV_CONFIRMED_PREFIX, WORKERS_KV_DEVICE_PREFIX, WORKERS_KV_GRANT_PREFIX, WORKERS_KV_KEY_PREFIX, WORKERS_KV_PROOF_PREFIX, WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import type { StoreHarness } from '../contract/cases.ts'

/** The key that holds a flow's value on Workers KV: its result, else its confirmation (kept under a key of its own). */
async function workersKvFlowKey(kv: KVNamespace, challenge: string): Promise<string> {
  return (await kv.get(WORKERS_KV_KEY_PREFIX + challenge)) === null ? WORKERS_KV_CONFIRMED_PREFIX + challenge : WORKERS_KV_KEY_PREFIX + challenge
}

/** Workers KV through the `AUTH_CODES` binding. */
export const workersKvHarness: StoreHarness = {
  async open() {
    const kv = env.AUTH_CODES
    return {
      store: new WorkersKvCodeStore(kv),
      raw: {
        get: async (challenge) => kv.get(await workersKvFlowKey(kv, challenge), 'json'),
        getDevice: (userCode) => kv.get(WORKERS_KV_DEVICE_PREFIX + userCode, 'json'),
        getProof: (key) => kv.get(WORKERS_KV_PROOF_PREFIX + key, 'json'),
        getGrant: (grantId) => kv.get(WORKERS_KV_GRANT_PREFIX + grantId, 'json'),
        async expiration(challenge) {
          const key = await workersKvFlowKey(kv, challenge)
          const { keys } = await kv.list({ prefix: key })
          return keys.find((entry) => entry.name === key)?.expiration
        },
        // Flows with anything stored: a result, a confirmation, or both.
        async count() {
          const names = new Set<string>()
          for (const prefix of [WORKERS_KV_KEY_PREFIX, WORKERS_KV_CONFIRMED_PREFIX]) {
            let cursor: string | undefined
            do {
              const page: KVNamespaceListResult<unknown> = await kv.list({ prefix, ...(cursor === undefined ? {} : { cursor }) })
              for (const { name } of page.keys) names.add(name.slice(prefix.length))
              cursor = page.list_complete ? undefined : page.cursor
            } while (cursor !== undefined)
          }
          return names.size
        },
      },
    }
  },
}

/** The stub of the object that holds the record named `name`. */
export function flowObject(name: string): DurableObjectStub<AuthFlows> {
  return env.AUTH_FLOWS.get(env.AUTH_FLOWS.idFromName(name))
}

/** What an object holds, read inside the object itself. */
export function objectRecord(name: string): Promise<unknown> {
  return runInDurableObject(flowObject(name), (_instance: AuthFlows, state) => state.storage.kv.get(FLOW_OBJECT_RECORD_KEY) ?? null)
}

/** Durable Objects through the `AUTH_FLOWS` binding. */
export const durableObjectHarness: StoreHarness = {
  async open() {
    return {
      store: new DurableObjectCodeStore(env.AUTH_FLOWS),
      raw: {
        get: (challenge) => objectRecord(DURABLE_OBJECT_FLOW_PREFIX + challenge),
        getDevice: (userCode) => objectRecord(DURABLE_OBJECT_DEVICE_PREFIX + userCode),
        getProof: (key) => objectRecord(DURABLE_OBJECT_PROOF_PREFIX + key),
        getGrant: (grantId) =>
          runInDurableObject(flowObject(DURABLE_OBJECT_GRANT_PREFIX + grantId), (_instance: AuthFlows, state) => state.storage.kv.get(GRANT_OBJECT_RECORD_KEY) ?? null),
        async expiration(challenge) {
          const alarm = await runInDurableObject(flowObject(DURABLE_OBJECT_FLOW_PREFIX + challenge), (_instance: AuthFlows, state) => state.storage.getAlarm())
          return alarm === null ? undefined : Math.floor(alarm / 1000)
        },
        // Object names cannot be listed, so every object is asked whether it holds a flow record (not a device's or a proof's).
        async count() {
          let flows = 0
          for (const id of await listDurableObjectIds(env.AUTH_FLOWS)) {
            const value = await runInDurableObject(env.AUTH_FLOWS.get(id), (_instance: AuthFlows, state) => state.storage.kv.get(FLOW_OBJECT_RECORD_KEY))
            if (typeof value === 'object' && value !== null && !('cc' in value) && !('proof' in value)) flows++
          }
          return flows
        },
      },
    }
  },
}

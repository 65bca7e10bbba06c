/**
 * Storage operations per completed login (with one pending poll) on the two Workers stores,
 * counted on the real local bindings. docs/stores.md's store comparison quotes these figures.
 */
import { env } from 'cloudflare:workers'
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { AuthFlows } from '../../src/index.ts'
import { DURABLE_OBJECT_FLOW_PREFIX, DurableObjectCodeStore } from '../../src/stores/durable-object.ts'
import type { FlowObjectApi } from '../../src/stores/flow-object.ts'
import { WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import { loginWithOnePendingPoll } from '../contract/login-operations.ts'
import { durableObjectHarness, workersKvHarness } from './store-harnesses.ts'

type Counts = Record<string, number>

/** Wraps every method of `target` so each call is counted under its name, then runs for real. */
function counting<T extends object>(target: T, counts: Counts, prefix = ''): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property)
      if (typeof value !== 'function' || typeof property !== 'string') return value
      return (...args: unknown[]) => {
        counts[prefix + property] = (counts[prefix + property] ?? 0) + 1
        return (value as (...args: unknown[]) => unknown).apply(object, args)
      }
    },
  })
}

describe('storage operations per completed login, with one pending poll', () => {
  it('Workers KV: 6 reads and 4 writes (one of them the grant record)', async () => {
    const counts: Counts = {}
    const kv = counting(env.AUTH_CODES, counts)
    await loginWithOnePendingPoll({ open: async () => ({ store: new WorkersKvCodeStore(kv), raw: (await workersKvHarness.open()).raw }) })
    console.log('Workers KV operations per login:', JSON.stringify(counts))
    expect(counts).toEqual({ get: 6, put: 4 })
  })

  it('Durable Object: 6 requests (one to start the grant\'s object) and 1 alarm; 5 reads, 4 writes, 2 alarm sets and 1 delete-all in the object', async () => {
    const requests: Counts = {}
    const storage: Counts = {}
    const namespace = env.AUTH_FLOWS
    const objects = {
      idFromName: (name: string) => namespace.idFromName(name),
      get(id: DurableObjectId): FlowObjectApi {
        const stub = namespace.get(id)
        const count = (method: string) => (requests[method] = (requests[method] ?? 0) + 1)
        return {
          create: (record) => (count('create'), stub.create(record)),
          write: (write) => (count('write'), stub.write(write)),
          readDevice: () => (count('readDevice'), stub.readDevice()),
          beginPickup: (nowSeconds, leaseId) => (count('beginPickup'), stub.beginPickup(nowSeconds, leaseId)),
          finishPickup: (leaseId, how) => (count('finishPickup'), stub.finishPickup(leaseId, how)),
          rememberProof: (untilSeconds) => (count('rememberProof'), stub.rememberProof(untilSeconds)),
          startGrant: (record) => (count('startGrant'), stub.startGrant(record)),
          beginRefresh: (generation, rule, leaseId) => (count('beginRefresh'), stub.beginRefresh(generation, rule, leaseId)),
          finishRefresh: (leaseId, answer) => (count('finishRefresh'), stub.finishRefresh(leaseId, answer)),
          revokeGrant: (nowSeconds) => (count('revokeGrant'), stub.revokeGrant(nowSeconds)),
        }
      },
    }
    const flow = await loginWithOnePendingPoll(
      { open: async () => ({ store: new DurableObjectCodeStore(objects), raw: (await durableObjectHarness.open()).raw }) },
      {
        // Counts inside the flow's own object, on its real SQLite-backed storage.
        started: (started) =>
          runInDurableObject(namespace.get(namespace.idFromName(DURABLE_OBJECT_FLOW_PREFIX + started.challenge)), (_instance: AuthFlows, state) => {
            const kv = state.storage.kv
            for (const method of ['get', 'put', 'delete'] as const) {
              const real = kv[method].bind(kv) as (...args: unknown[]) => never
              ;(kv as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => ((storage[`kv.${method}`] = (storage[`kv.${method}`] ?? 0) + 1), real(...args))
            }
            for (const method of ['setAlarm', 'deleteAll'] as const) {
              const real = state.storage[method].bind(state.storage) as (...args: unknown[]) => never
              ;(state.storage as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => ((storage[method] = (storage[method] ?? 0) + 1), real(...args))
            }
          }),
      },
    )
    expect(await runDurableObjectAlarm(namespace.get(namespace.idFromName(DURABLE_OBJECT_FLOW_PREFIX + flow.challenge)))).toBe(true)
    console.log('Durable Object requests per login:', JSON.stringify(requests), 'storage:', JSON.stringify(storage))
    expect(requests).toEqual({ write: 2, beginPickup: 2, finishPickup: 1, startGrant: 1 })
    expect(storage).toEqual({ 'kv.get': 5, 'kv.put': 4, setAlarm: 2, deleteAll: 1 })
  })
})

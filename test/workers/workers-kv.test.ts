/**
 * What the Workers KV store's per-isolate write flight adds, on the real local KV binding: it
 * ends with the last write, a failed put leaves nothing behind, and a write that never finishes
 * (its request was cancelled) holds the flow for the lease at most.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { CLAIM_LEASE_SECONDS } from '../../src/store.ts'
import { WORKERS_KV_CONFIRMED_PREFIX, WorkersKvCodeStore } from '../../src/stores/workers-kv.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'

const now = () => Math.floor(Date.now() / 1000)

/** Replacements for some of a binding's methods, each in place while it is set. */
type Overrides = { put?: KVNamespace['put']; get?: (key: string) => Promise<unknown> }

/** The real binding, with the methods in `overrides` replaced while they are set. */
function kvWith(overrides: Overrides): KVNamespace {
  return new Proxy(env.AUTH_CODES, {
    get(target, property) {
      const override = property === 'put' || property === 'get' ? overrides[property] : undefined
      if (override) return override
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

const never = () => new Promise<never>(() => {})

describe('Workers KV write flight', () => {
  it('ends with the last write: a later write reads KV again', async () => {
    const store = new WorkersKvCodeStore(env.AUTH_CODES)
    const challenge = await challengeOf(makeVerifier())
    expect(await store.confirm(challenge, 'binding-a', now() + 600, 600)).toBe('created')
    // As if the confirmation expired: nothing of it may linger in the isolate.
    await env.AUTH_CODES.delete(WORKERS_KV_CONFIRMED_PREFIX + challenge)
    expect(await store.confirm(challenge, 'binding-b', now() + 600, 600)).toBe('created')
    expect(await env.AUTH_CODES.get(WORKERS_KV_CONFIRMED_PREFIX + challenge, 'json')).toMatchObject({ confirmed: 'binding-b' })
  })

  it('a failed put leaves no value in the isolate, even while another write keeps the flight: the retry writes', async () => {
    const overrides: Overrides = { get: never }
    const store = new WorkersKvCodeStore(kvWith(overrides))
    const challenge = await challengeOf(makeVerifier())
    // A write whose read never returns keeps the flight alive throughout.
    void store.confirm(challenge, 'binding-b', now() + 600, 600)
    delete overrides.get
    overrides.put = () => Promise.reject(new Error('KV PUT failed: 429 Too Many Requests'))
    await expect(store.confirm(challenge, 'binding-a', now() + 600, 600)).rejects.toThrow(/429/)
    delete overrides.put
    expect(await store.confirm(challenge, 'binding-a', now() + 600, 600)).toBe('created')
    expect(await env.AUTH_CODES.get(WORKERS_KV_CONFIRMED_PREFIX + challenge, 'json')).toMatchObject({ confirmed: 'binding-a' })
  })

  it('a write that never finishes holds the flow only for the lease', async () => {
    const overrides: Overrides = { put: never }
    let clock = Date.now()
    const store = new WorkersKvCodeStore(kvWith(overrides), 'AUTH_CODES', () => clock)
    const challenge = await challengeOf(makeVerifier())
    void store.confirm(challenge, 'binding-a', now() + 600, 600)
    await new Promise((resolve) => setTimeout(resolve, 20))
    delete overrides.put
    expect(await store.confirm(challenge, 'binding-b', now() + 600, 600)).toBe('elsewhere')
    clock += CLAIM_LEASE_SECONDS * 1000 - 1
    expect(await store.confirm(challenge, 'binding-b', now() + 600, 600)).toBe('elsewhere')
    clock += 1
    expect(await store.confirm(challenge, 'binding-b', now() + 600, 600)).toBe('created')
  })
})

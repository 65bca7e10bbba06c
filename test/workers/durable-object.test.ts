/**
 * What the Durable Object store adds, in workerd with real local SQLite-backed objects: the
 * alarm removes a record at its `exp`, the Worker entry wires `CODE_STORE=durable-object` to the
 * `AUTH_FLOWS` binding, and a missing binding is named at the first request.
 */
import { env } from 'cloudflare:workers'
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../../src/index.ts'
import type { AuthFlows, Env } from '../../src/index.ts'
import { DURABLE_OBJECT_DEVICE_PREFIX, DURABLE_OBJECT_FLOW_PREFIX, DurableObjectCodeStore } from '../../src/stores/durable-object.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { flowObject, objectRecord } from './store-harnesses.ts'

const ORIGIN = 'https://relay.example.com'
const now = () => Math.floor(Date.now() / 1000)

function alarmOf(name: string): Promise<number | null> {
  return runInDurableObject(flowObject(name), (_instance: AuthFlows, state) => state.storage.getAlarm())
}

describe('Durable Object store', () => {
  it('the alarm follows the value (the confirmation\u2019s exp, then the result\u2019s) and at exp removes it; the flow can start afresh', async () => {
    const store = new DurableObjectCodeStore(env.AUTH_FLOWS)
    const challenge = await challengeOf(makeVerifier())
    const name = DURABLE_OBJECT_FLOW_PREFIX + challenge
    const confirmedUntil = now() + 600
    expect(await store.confirm(challenge, 'binding-a', confirmedUntil, 600)).toBe('created')
    expect(await alarmOf(name)).toBe(confirmedUntil * 1000)
    const record = { code: 'the-code', redirect_uri: `${ORIGIN}/callback`, exp: now() + 60 }
    expect(await store.save(challenge, record, 60, { binding: 'binding-a' })).toBe('created')
    expect(await alarmOf(name)).toBe(record.exp * 1000)
    expect(await runDurableObjectAlarm(flowObject(name))).toBe(true)
    expect(await objectRecord(name)).toBeNull()
    expect(await alarmOf(name)).toBeNull()
    expect((await store.claim(challenge, now())).kind).toBe('pending')
    expect(await store.confirm(challenge, 'binding-b', confirmedUntil, 600)).toBe('created')
  })

  it('the tombstone keeps the original alarm, and the alarm removes it too', async () => {
    const store = new DurableObjectCodeStore(env.AUTH_FLOWS)
    const challenge = await challengeOf(makeVerifier())
    const name = DURABLE_OBJECT_FLOW_PREFIX + challenge
    const record = { code: 'the-code', redirect_uri: `${ORIGIN}/callback`, exp: now() + 120 }
    await store.confirm(challenge, 'binding-a', now() + 600, 600)
    await store.save(challenge, record, 120, { binding: 'binding-a' })
    const pickup = await store.claim(challenge, now())
    if (pickup.kind !== 'claimed') throw new Error(`expected a claim, got ${pickup.kind}`)
    await pickup.claim.consume()
    expect(await objectRecord(name)).toEqual({ spent: true, exp: record.exp })
    expect(await alarmOf(name)).toBe(record.exp * 1000)
    expect(await runDurableObjectAlarm(flowObject(name))).toBe(true)
    expect(await objectRecord(name)).toBeNull()
  })

  it('a device record gets its alarm too', async () => {
    const store = new DurableObjectCodeStore(env.AUTH_FLOWS)
    const record = { cc: await challengeOf(makeVerifier()), sc: 'api', exp: now() + 600 }
    expect(await store.saveDevice('BCDFGHJK', record, 600)).toBe('created')
    expect(await alarmOf(DURABLE_OBJECT_DEVICE_PREFIX + 'BCDFGHJK')).toBe(record.exp * 1000)
    expect(await runDurableObjectAlarm(flowObject(DURABLE_OBJECT_DEVICE_PREFIX + 'BCDFGHJK'))).toBe(true)
    expect(await store.findDevice('BCDFGHJK', now())).toBeNull()
  })
})

describe('Workers entry with CODE_STORE=durable-object', () => {
  function call(path: string, workerEnv: Env, init?: RequestInit<IncomingRequestCfProperties>): Promise<Response> {
    return Promise.resolve(worker.fetch(new Request(`${ORIGIN}${path}`, init), workerEnv, createExecutionContext()))
  }

  it('stores the callback in the flow\u2019s own object, not in KV', async () => {
    const doEnv: Env = { ...env, CODE_STORE: 'durable-object', CONFIRM_PAGE: 'never' }
    const challenge = await challengeOf(makeVerifier())
    const authorize = await call(`/authorize?code_challenge=${challenge}&code_challenge_method=S256`, doEnv, { redirect: 'manual' })
    expect(authorize.status).toBe(302)
    const state = new URL(authorize.headers.get('Location') ?? '').searchParams.get('state') ?? ''
    const cookie = (authorize.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
    const callback = await call(`/callback?${new URLSearchParams({ code: 'entry-code', state })}`, doEnv, { headers: { Cookie: cookie } })
    expect(callback.status).toBe(200)
    expect(await objectRecord(DURABLE_OBJECT_FLOW_PREFIX + challenge)).toMatchObject({ code: 'entry-code' })
    expect(await env.AUTH_CODES.get(`flow:${challenge}`)).toBeNull()
  })

  it('names the missing AUTH_FLOWS binding on every route', async () => {
    const broken: Env = { ...env, CODE_STORE: 'durable-object', AUTH_FLOWS: undefined }
    for (const path of ['/healthz', '/token']) {
      const response = await call(path, broken)
      expect(response.status, path).toBe(500)
      expect(((await response.json()) as { error_description: string }).error_description).toContain('AUTH_FLOWS')
    }
  })

  it('does not need the KV binding', async () => {
    const response = await call('/healthz', { ...env, CODE_STORE: 'durable-object', AUTH_CODES: undefined })
    expect(response.status).toBe(200)
  })
})

describe('Durable Object store: held pickups', () => {
  const waitFor = (store: DurableObjectCodeStore<DurableObjectId>, challenge: string, signal = new AbortController().signal) =>
    store.waitForResult(challenge, { nowSeconds: now(), waitMs: 10_000, signal })

  it('the flow\u2019s object caps its waits across isolates, a confirmation wakes none, and the result wakes all', async () => {
    // Two stores on one namespace stand for two isolates: only the object sees both.
    const [first, second] = [new DurableObjectCodeStore(env.AUTH_FLOWS), new DurableObjectCodeStore(env.AUTH_FLOWS)]
    const challenge = await challengeOf(makeVerifier())
    const waits = [waitFor(first, challenge), waitFor(second, challenge)]
    await runInDurableObject(flowObject(DURABLE_OBJECT_FLOW_PREFIX + challenge), () => undefined)
    expect(await waitFor(second, challenge)).toBe('full')
    expect(await first.confirm(challenge, 'binding-a', now() + 600, 600)).toBe('created')
    const record = { code: 'the-code', redirect_uri: `${ORIGIN}/callback`, exp: now() + 60 }
    expect(await first.save(challenge, record, 60, { binding: 'binding-a' })).toBe('created')
    expect(await Promise.all(waits)).toEqual(['stored', 'stored'])
    expect(await waitFor(second, challenge), 'a stored result answers at once').toBe('stored')
  })

  it('an aborted wait leaves the object before it resolves, so its place is free again', async () => {
    const store = new DurableObjectCodeStore(env.AUTH_FLOWS)
    const challenge = await challengeOf(makeVerifier())
    const gone = new AbortController()
    const waits = [waitFor(store, challenge, gone.signal), waitFor(store, challenge)]
    await runInDurableObject(flowObject(DURABLE_OBJECT_FLOW_PREFIX + challenge), () => undefined)
    gone.abort()
    expect(await waits[0]).toBe('ended')
    const again = waitFor(store, challenge)
    expect(await store.save(challenge, { error: 'access_denied', exp: now() + 60 }, 60, { binding: 'x', unconfirmed: 'allow' })).toBe('created')
    expect(await Promise.all([waits[1], again])).toEqual(['stored', 'stored'])
  })
})

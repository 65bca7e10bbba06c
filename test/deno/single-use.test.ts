/**
 * What Deno KV's atomic checks add: even when every pickup has read the live code before any of
 * them writes, only one commit wins; a transient failure puts the code back for the retry.
 */
import { strict as assert } from 'node:assert'
import type { DenoKv } from '../../src/stores/deno-kv.ts'
import { assertSealedTokens } from '../contract/define.ts'
import { RELAY_ORIGIN, startRelay } from '../contract/harness.ts'
import type { RelayUnderTest } from '../contract/harness.ts'
import { denoKvHarness } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'
const PICKUPS = 20

/** Runs `body` with a relay on a fresh in-memory Deno KV; `wrapKv` sits between the store and KV. */
async function withRelay(body: (relay: RelayUnderTest) => Promise<void>, wrapKv?: (kv: DenoKv) => DenoKv): Promise<void> {
  const harness = denoKvHarness(wrapKv)
  try {
    const relay = await startRelay(harness)
    await body(relay)
    relay.unity.verify()
  } finally {
    harness.close()
  }
}

async function signIn(relay: RelayUnderTest) {
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  return flow
}

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

/** Once armed, holds every read until `parties` reads are in flight, so all pickups see the record before any takes it. */
function readBarrier(parties: number): { wrap: (kv: DenoKv) => DenoKv; hits: () => number; arm: () => void } {
  let armed = false
  let waiting = 0
  let hits = 0
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return {
    hits: () => hits,
    arm: () => (armed = true),
    wrap: (kv) => ({
      set: (key, value, options) => kv.set(key, value, options),
      atomic: () => kv.atomic(),
      watch: (keys) => kv.watch(keys),
      async get(key) {
        const entry = await kv.get(key)
        if (!armed) return entry
        if (entry.value !== null) hits++
        if (++waiting === parties) open()
        await opened
        return entry
      },
    }),
  }
}

Deno.test(`${PICKUPS} concurrent pickups of one code: exactly one reaches Unity, never two`, async () => {
  const barrier = readBarrier(PICKUPS)
  await withRelay(async (relay) => {
    const flow = await signIn(relay)
    barrier.arm()
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const responses = await Promise.all(Array.from({ length: PICKUPS }, () => relay.pickup(flow.verifier)))
    const winners = responses.filter(({ status }) => status === 200)
    assert.equal(winners.length, 1)
    await assertSealedTokens(relay, winners[0]!, TOKENS)
    const bodies = await Promise.all(responses.filter(({ status }) => status !== 200).map(async (response) => ({ status: response.status, body: await response.text() })))
    assert.equal(barrier.hits(), PICKUPS, 'every pickup read the live record before any took it')
    assert.equal(relay.unity.calls.length, 1)
    for (const { status, body } of bodies) {
      assert.equal(status, 400, body)
      assert.equal(JSON.parse(body).error, 'authorization_pending', 'their commits lost against the version they read')
    }
    assert.deepEqual(Object.keys((await relay.raw.get(flow.challenge)) as object).sort(), ['exp', 'spent'])
  }, barrier.wrap)
})

Deno.test('an upstream 503 puts the code back and the retry exchanges it once', async () => {
  await withRelay(async (relay) => {
    const flow = await signIn(relay)
    const stored = await relay.raw.get(flow.challenge)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 503, body: 'maintenance' })
    assert.equal((await relay.pickup(flow.verifier)).status, 502)
    assert.deepEqual(await relay.raw.get(flow.challenge), stored, 'the same record, same exp')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    assert.equal(relay.unity.calls.length, 2)
    assert.equal(((await relay.raw.get(flow.challenge)) as { spent?: boolean }).spent, true)
  })
})

Deno.test('a refusal answers every concurrent poll with access_denied', async () => {
  await withRelay(async (relay) => {
    const flow = await relay.authorize()
    await relay.callback(flow, { error: 'access_denied', state: flow.state })
    const responses = await Promise.all(Array.from({ length: PICKUPS }, () => relay.pickup(flow.verifier)))
    for (const response of responses) assert.equal((await response.json()).error, 'access_denied')
    assert.ok(await relay.raw.get(flow.challenge), 'kept until it expires')
  })
})

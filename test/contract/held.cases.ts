/**
 * @module
 * Contract of held pickups (`held-pickup.ts`): a pending pickup that asks `Prefer: wait=N`
 * (RFC 7240 §4.3), or a device's poll, waits in the store until the callback, a Cancel or Unity's
 * error stores the flow's result; the caps, the abort, the faults and the device code's expiry.
 * A store that cannot hold (Workers KV) answers at once. No case measures time: each waits for
 * the store to report the wait before it acts.
 */
import { strict as assert } from 'node:assert'
import { DEVICE_CODE_GRANT } from '../../src/inputs.ts'
import { MemoryRateLimiter } from '../../src/limits/memory-limiter.ts'
import { MAX_HELD_PICKUPS_PER_FLOW } from '../../src/store.ts'
import type { CodeStore, ResultWaitOptions } from '../../src/store.ts'
import { challengeOf } from '../../dev/pkce.ts'
import { assertJsonError, assertSealedTokens, contract, withOverrides } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { RelayOptions, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-held-0123456789'
const TOKENS = '{"access_token":"at-held","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-held","scope":"api"}'
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/** A relay whose store reports each wait it starts, in order. */
interface Watched {
  readonly relay: RelayUnderTest
  /** Whether the store can hold at all (`holds: 'yes'`). */
  readonly holding: boolean
  /** The options of every wait the store was asked for. */
  readonly waits: ResultWaitOptions[]
  /** Resolves once the store has been asked for `count` waits in all. */
  waited(count: number): Promise<void>
}

async function watched(start: Start, options: RelayOptions = {}): Promise<Watched> {
  const waits: ResultWaitOptions[] = []
  const listeners: (() => void)[] = []
  let holding = false
  const relay = await start({
    ...options,
    wrapStore: (real) => {
      const store = options.wrapStore ? options.wrapStore(real) : real
      holding = store.holds === 'yes'
      const wait = store.waitForResult?.bind(store)
      return withOverrides(store, {
        waitForResult: wait && ((challenge, waitOptions) => {
          waits.push(waitOptions)
          for (const listener of listeners.splice(0)) listener()
          return wait(challenge, waitOptions)
        }),
      })
    },
  })
  const waited = (count: number): Promise<void> =>
    waits.length >= count ? Promise.resolve() : new Promise<void>((resolve) => listeners.push(() => void waited(count).then(resolve)))
  return { relay, holding, waits, waited }
}

function pickup(relay: RelayUnderTest, verifier: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return relay.fetch('/token', {
    method: 'POST',
    headers: { ...FORM, ...headers },
    body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: verifier }),
    ...(signal ? { signal } : {}),
  })
}

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

/** Asserts a pickup the store could not hold: `authorization_pending` at once, nothing applied. */
async function assertAnsweredAtOnce(response: Response, watch: Watched): Promise<void> {
  await assertJsonError(response, 400, 'authorization_pending')
  assert.equal(response.headers.get('Preference-Applied'), null)
  assert.equal(watch.waits.length, 0, 'no wait was asked of the store')
}

/** A device authorization, its code entered and Continue pressed: the flow waits for Unity's callback. */
async function deviceAtUnity(relay: RelayUnderTest) {
  const authorized = await relay.fetch('/device_authorization', { method: 'POST', headers: FORM, body: '' })
  const device = (await authorized.json()) as { device_code: string; user_code: string }
  const entry = await relay.fetch(`/device?${new URLSearchParams({ user_code: device.user_code })}`, { headers: { 'Sec-Fetch-Site': 'same-origin' } })
  const page = await entry.text()
  const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
  const cookie = (entry.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
  const opened = { verifier: device.device_code, challenge: await challengeOf(device.device_code), state, cookie, response: entry, page }
  assert.equal((await relay.decide(opened, 'continue')).status, 303)
  return { device, opened }
}

function devicePoll(relay: RelayUnderTest, deviceCode: string, headers: Record<string, string> = {}): Promise<Response> {
  return relay.fetch('/token', { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }) })
}

export const heldCases = [
  contract('held pickup: Prefer: wait is answered with the tokens the moment the callback stores the code, with Preference-Applied', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const held = pickup(relay, flow.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    assert.equal(watch.waits[0]?.waitMs, 10_000)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    const response = await held
    await assertSealedTokens(relay, response, TOKENS)
    assert.equal(response.headers.get('Preference-Applied'), 'wait=10')
    assert.deepEqual(await relay.raw.get(flow.challenge), { spent: true, exp: relay.nowSeconds() + relay.config.codeTtlSeconds })
  }),

  contract('held pickup: a Cancel on the confirmation page answers the held pickup access_denied', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const opened = await relay.open()
    const held = pickup(relay, opened.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    assert.equal((await relay.decide(opened, 'cancel')).status, 200)
    const response = await held
    await assertJsonError(response, 400, 'access_denied')
    assert.equal(response.headers.get('Preference-Applied'), 'wait=10', 'a refusal says so too')
  }),

  contract('held pickup: Unity\u2019s error on the callback answers the held pickup with it', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const held = pickup(relay, flow.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    await relay.callback(flow, { error: 'access_denied', state: flow.state })
    await assertJsonError(await held, 400, 'access_denied')
  }),

  contract('held pickup: a confirmation alone does not end the hold; the result after it does', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const opened = await relay.open()
    const held = pickup(relay, opened.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    assert.equal((await relay.decide(opened, 'continue')).status, 303)
    relay.unity.expectTokenCall(exchangeForm(opened.verifier), { status: 200, body: TOKENS })
    assert.equal((await relay.callback(opened, { code: CODE, state: opened.state })).status, 200)
    await assertSealedTokens(relay, await held, TOKENS)
    assert.equal(watch.waits.length, 1, 'one wait, woken by the result')
  }),

  contract('held pickup: the wait is capped by PICKUP_HOLD_SECONDS, and only the first wait preference counts', async (start) => {
    const watch = await watched(start, { env: { PICKUP_HOLD_SECONDS: '7' } })
    const { relay } = watch
    const flow = await relay.authorize()
    const first = pickup(relay, flow.verifier, { Prefer: 'respond-async, wait=3600, wait=1' })
    const second = pickup(relay, flow.verifier, { Prefer: 'handling=lenient; x="a,b;wait=1", WAIT = "3"' })
    if (!watch.holding) {
      await assertAnsweredAtOnce(await first, watch)
      return assertAnsweredAtOnce(await second, watch)
    }
    await watch.waited(2)
    assert.deepEqual(watch.waits.map((wait) => wait.waitMs).sort(), [3000, 7000])
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await relay.callback(flow, { code: CODE, state: flow.state })
    const answers = await Promise.all([first, second])
    assert.deepEqual(answers.map((answer) => answer.headers.get('Preference-Applied')), ['wait=7', 'wait=3'])
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400], 'one pickup gets the tokens')
    await Promise.all(answers.map((answer) => answer.body?.cancel()))
  }),

  contract('held pickup: without Prefer, with wait=0 or a malformed wait, a pickup is answered at once as before', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const cases: Record<string, string>[] = [{}, { Prefer: 'wait=0' }, { Prefer: 'wait=-5' }, { Prefer: 'wait=5s' }, { Prefer: 'wait' }, { Prefer: 'respond-async' }]
    for (const headers of cases) {
      await assertAnsweredAtOnce(await pickup(relay, flow.verifier, headers), watch)
    }
  }),

  contract('held pickup: PICKUP_HOLD_SECONDS=0 holds nothing, and says nothing was applied', async (start) => {
    const watch = await watched(start, { env: { PICKUP_HOLD_SECONDS: '0' } })
    const flow = await watch.relay.authorize()
    await assertAnsweredAtOnce(await pickup(watch.relay, flow.verifier, { Prefer: 'wait=20' }), watch)
  }),

  contract('held pickup: a store that cannot hold answers at once, without Preference-Applied', async (start) => {
    const watch = await watched(start, { wrapStore: (store) => withOverrides(store, { holds: 'no' }) })
    const flow = await watch.relay.authorize()
    await assertAnsweredAtOnce(await pickup(watch.relay, flow.verifier, { Prefer: 'wait=20' }), watch)
  }),

  contract('held pickup: a hold that ends with nothing stored answers authorization_pending, and a found code needs no hold', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const response = await pickup(relay, flow.verifier, { Prefer: 'wait=1' })
    if (!watch.holding) return assertAnsweredAtOnce(response, watch)
    await assertJsonError(response, 400, 'authorization_pending')
    assert.equal(response.headers.get('Preference-Applied'), 'wait=1')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await relay.callback(flow, { code: CODE, state: flow.state })
    const found = await pickup(relay, flow.verifier, { Prefer: 'wait=1' })
    await assertSealedTokens(relay, found, TOKENS)
    assert.equal(found.headers.get('Preference-Applied'), null, 'answered before any hold')
    assert.equal(watch.waits.length, 1)
  }),

  contract('held pickup: a device poll without Prefer is held for DEVICE_HOLD_SECONDS (default 15) and gets the tokens on the callback', async (start) => {
    const watch = await watched(start, { env: { DEVICE_HOLD_SECONDS: undefined } })
    const { relay } = watch
    const { device, opened } = await deviceAtUnity(relay)
    const held = devicePoll(relay, device.device_code)
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    assert.equal(watch.waits[0]?.waitMs, 15_000)
    relay.unity.expectTokenCall(exchangeForm(device.device_code), { status: 200, body: TOKENS })
    await relay.callback(opened, { code: CODE, state: opened.state })
    const response = await held
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('Preference-Applied'), null, 'no Prefer, nothing applied')
    await response.body?.cancel()
  }),

  contract('held pickup: DEVICE_HOLD_SECONDS=0 answers a device poll at once; its Prefer: wait still holds it', async (start) => {
    const watch = await watched(start, { env: { DEVICE_HOLD_SECONDS: '0' } })
    const { relay } = watch
    const { device } = await deviceAtUnity(relay)
    await assertAnsweredAtOnce(await devicePoll(relay, device.device_code), watch)
    const asked = await devicePoll(relay, device.device_code, { Prefer: 'wait=1' })
    await assertJsonError(asked, 400, 'authorization_pending')
    if (watch.holding) assert.equal(asked.headers.get('Preference-Applied'), 'wait=1')
  }),

  contract('held pickup: a device code that expires during the hold is answered expired_token when it does', async (start) => {
    let now = Date.now()
    const watch = await watched(start, { clock: () => now, env: { DEVICE_HOLD_SECONDS: '20' } })
    const { relay } = watch
    const { device } = await deviceAtUnity(relay)
    const { exp } = (await relay.raw.getDevice(device.user_code.replace('-', ''))) as { exp: number }
    now = exp * 1000 - 200
    const held = devicePoll(relay, device.device_code)
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    assert.equal(watch.waits[0]?.waitMs, 200, 'the hold ends with the device code')
    now = exp * 1000 + 1000
    await assertJsonError(await held, 400, 'expired_token')
  }),

  contract(`held pickup: at most ${MAX_HELD_PICKUPS_PER_FLOW} pickups of one flow are held; the next is answered at once`, async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const aborts = [new AbortController(), new AbortController()]
    const held = aborts.map((abort) => pickup(relay, flow.verifier, { Prefer: 'wait=10' }, abort.signal))
    if (!watch.holding) {
      for (const answer of held) await assertAnsweredAtOnce(await answer, watch)
      return
    }
    await watch.waited(2)
    const third = await pickup(relay, flow.verifier, { Prefer: 'wait=10' })
    await assertJsonError(third, 400, 'authorization_pending')
    assert.equal(third.headers.get('Preference-Applied'), null)
    assert.equal(watch.waits.length, 2, 'the third never waited')
    for (const abort of aborts) abort.abort()
    await Promise.all(held.map((answer) => answer.then((response) => response.body?.cancel())))
  }),

  contract('held pickup: a client that goes away releases its hold (in the isolate and in the store) and claims nothing', async (start) => {
    const watch = await watched(start)
    const { relay } = watch
    const flow = await relay.authorize()
    const gone = new AbortController()
    const stays = new AbortController()
    const first = pickup(relay, flow.verifier, { Prefer: 'wait=10' }, gone.signal)
    const second = pickup(relay, flow.verifier, { Prefer: 'wait=10' }, stays.signal)
    if (!watch.holding) {
      await assertAnsweredAtOnce(await first, watch)
      return assertAnsweredAtOnce(await second, watch)
    }
    await watch.waited(2)
    gone.abort()
    await (await first).body?.cancel()
    // The freed place is taken again: the object (on Durable Objects) and the isolate both let it wait.
    const third = new AbortController()
    const replacement = pickup(relay, flow.verifier, { Prefer: 'wait=10' }, third.signal)
    await watch.waited(3)
    stays.abort()
    third.abort()
    const answers = await Promise.all([second, replacement])
    assert.equal(answers[1]?.headers.get('Preference-Applied'), 'wait=10', 'the replacement was held, not refused as one too many')
    for (const answer of answers) await answer.body?.cancel()
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await relay.callback(flow, { code: CODE, state: flow.state })
    assert.equal((await relay.raw.get(flow.challenge) as { code?: string }).code, CODE, 'no aborted hold claimed the code')
    await assertSealedTokens(relay, await pickup(relay, flow.verifier), TOKENS)
  }),

  contract('held pickup: a wait that ends with the result after its client went away claims nothing', async (start) => {
    // The store here ignores the abort, so the result arrives at a request nobody is waiting for.
    const watch = await watched(start, {
      wrapStore: (store) => {
        const wait = store.waitForResult?.bind(store)
        return withOverrides(store, { waitForResult: wait && ((challenge, options) => wait(challenge, { ...options, signal: new AbortController().signal })) })
      },
    })
    const { relay } = watch
    const flow = await relay.authorize()
    const gone = new AbortController()
    const held = pickup(relay, flow.verifier, { Prefer: 'wait=10' }, gone.signal)
    if (!watch.holding) return assertAnsweredAtOnce(await held, watch)
    await watch.waited(1)
    gone.abort()
    await relay.callback(flow, { code: CODE, state: flow.state })
    await assertJsonError(await held, 400, 'authorization_pending')
    assert.deepEqual(Object.keys((await relay.raw.get(flow.challenge)) as object).sort(), ['code', 'exp', 'redirect_uri'], 'the code is not held by a lease')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await pickup(relay, flow.verifier), TOKENS)
  }),

  contract('held pickup: a store failure during the hold is the same 503 as at any pickup, with Preference-Applied', async (start) => {
    let failing = false
    const broken = (store: CodeStore): CodeStore =>
      withOverrides(store, {
        waitForResult: store.waitForResult && (async () => {
          failing = true
          throw new Error('backend down')
        }),
        claim: (challenge, nowSeconds) => (failing ? Promise.reject(new Error('backend down')) : store.claim(challenge, nowSeconds)),
      })
    const watch = await watched(start, { wrapStore: broken })
    const flow = await watch.relay.authorize()
    const response = await pickup(watch.relay, flow.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(response, watch)
    // store_unavailable, as OAuth's temporarily_unavailable (RFC 6749 §5.2 has no 503 of its own).
    const body = await assertJsonError(response, 503, 'temporarily_unavailable')
    assert.match(String(body.error_description), /could not read its code store/)
    assert.doesNotMatch(String(body.error_description), /backend down/)
    assert.equal(response.headers.get('Preference-Applied'), 'wait=10')
    assert.ok(watch.relay.logs.some((line) => line.includes('"token.hold_failed"') && line.includes('"fault":"Error"')))
  }),

  contract('held pickup: a wait lost with its store object (eviction) answers from the store, and the next poll works', async (start) => {
    const watch = await watched(start, {
      wrapStore: (store) => withOverrides(store, { waitForResult: store.waitForResult && (() => Promise.reject(new Error('Durable Object reset because its code was updated.'))) }),
    })
    const { relay } = watch
    const flow = await relay.authorize()
    const lost = await pickup(relay, flow.verifier, { Prefer: 'wait=10' })
    if (!watch.holding) return assertAnsweredAtOnce(lost, watch)
    await assertJsonError(lost, 400, 'authorization_pending')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await relay.callback(flow, { code: CODE, state: flow.state })
    await assertSealedTokens(relay, await pickup(relay, flow.verifier, { Prefer: 'wait=10' }), TOKENS)
  }),

  contract('held pickup: a held request counts as one poll, so re-polling when the hold ends is no slow_down', async (start) => {
    let now = Date.now()
    const pickupLimiter = new MemoryRateLimiter({ limit: 2, periodSeconds: 10, clock: () => now })
    const watch = await watched(start, { clock: () => now, limiters: { pickup: pickupLimiter } })
    const { relay } = watch
    const flow = await relay.authorize()
    const ended = await pickup(relay, flow.verifier, { Prefer: 'wait=1' })
    if (!watch.holding) return assertAnsweredAtOnce(ended, watch)
    await assertJsonError(ended, 400, 'authorization_pending')
    const again = pickup(relay, flow.verifier, { Prefer: 'wait=10' })
    await watch.waited(2)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await relay.callback(flow, { code: CODE, state: flow.state })
    await assertSealedTokens(relay, await again, TOKENS)
    await assertJsonError(await pickup(relay, flow.verifier, { Prefer: 'wait=1' }), 400, 'slow_down')
    now += 10_000
    await assertJsonError(await pickup(relay, flow.verifier), 400, 'invalid_grant')
  }),

  contract('held pickup: a browser app may send Prefer and read Preference-Applied (CORS)', async (start) => {
    const relay = await start()
    const preflight = await relay.fetch('/token', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'prefer' },
    })
    assert.match(preflight.headers.get('Access-Control-Allow-Headers') ?? '', /\bPrefer\b/)
    const flow = await relay.authorize()
    const answer = await pickup(relay, flow.verifier, { Origin: 'https://app.example.com' })
    assert.match(answer.headers.get('Access-Control-Expose-Headers') ?? '', /\bPreference-Applied\b/)
    await answer.body?.cancel()
  }),
]

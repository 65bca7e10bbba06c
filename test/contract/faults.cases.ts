/**
 * @module
 * Fault injection through the fetch and store seams: whatever breaks, once it clears the app's
 * retry gets its tokens. No sign-in is lost and nothing internal leaks.
 */
import { strict as assert } from 'node:assert'
import type { CodeStore } from '../../src/store.ts'
import { assertErrorPage, assertJsonError, assertOnlyConfirmed, assertSealedTokens, contract } from './define.ts'
import type { Start } from './define.ts'
import type { RelayOptions } from './harness.ts'
import { RELAY_ORIGIN } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","refresh_token":"rt-456"}'

/** A switch a fault reads: on until the case clears it. */
interface Fault {
  on: boolean
}

/** One way Unity's token endpoint can fail, as the relay's fetch sees it. */
interface UpstreamFault {
  readonly name: string
  /** The status and error the app sees while the fault lasts. */
  readonly status: number
  readonly error: string
  readonly fetch: (input: RequestInfo | URL, init: RequestInit | undefined) => Promise<Response>
}

const hugeBody = (): ReadableStream<Uint8Array> => {
  const chunk = new TextEncoder().encode('{"access_token":"'.padEnd(32 * 1024, 'a'))
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= 400 * 1024 * 1024) return controller.close()
      sent += chunk.byteLength
      controller.enqueue(chunk)
    },
  }, { highWaterMark: 0 })
}

const UPSTREAM_FAULTS: readonly UpstreamFault[] = [
  {
    name: 'times out',
    status: 502,
    error: 'temporarily_unavailable',
    fetch: (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason ?? new Error('aborted')))),
  },
  { name: 'answers 500', status: 502, error: 'temporarily_unavailable', fetch: async () => new Response('<h1>Internal error</h1>', { status: 500 }) },
  { name: 'answers 503 with a maintenance page', status: 502, error: 'temporarily_unavailable', fetch: async () => new Response('<html>down</html>', { status: 503 }) },
  { name: 'answers a login page with 200', status: 502, error: 'server_error', fetch: async () => new Response('<html><form>Sign in</form></html>', { status: 200, headers: { 'Content-Type': 'text/html' } }) },
  { name: 'resets the connection', status: 502, error: 'temporarily_unavailable', fetch: () => Promise.reject(new TypeError('Network connection lost.')) },
  {
    name: 'resets the connection mid-body',
    status: 502,
    error: 'temporarily_unavailable',
    fetch: async () => {
      let pulls = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) controller.enqueue(new TextEncoder().encode('{"access_token":"at-'))
          else controller.error(new TypeError('Network connection lost.'))
        },
      })
      return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } })
    },
  },
  { name: 'sends a 400 MB body', status: 502, error: 'server_error', fetch: async () => new Response(hugeBody(), { status: 200, headers: { 'Content-Type': 'application/json' } }) },
  {
    name: 'redirects',
    status: 502,
    error: 'server_error',
    fetch: async (_input, init) => {
      // The relay must not follow it: the secret would go to the redirect target.
      assert.equal(init?.redirect, 'manual')
      return new Response(null, { status: 302, headers: { Location: 'https://elsewhere.example/collect' } })
    },
  },
]

/** Routes Unity calls to `fault` while it is on, and to the strict stub after. */
function upstreamFault(fault: Fault, upstream: UpstreamFault): Pick<RelayOptions, 'wrapFetch' | 'upstreamTimeoutMs'> {
  return {
    upstreamTimeoutMs: 50,
    wrapFetch: (stub) => (input, init) => (fault.on ? upstream.fetch(input, init) : stub(input, init)),
  }
}

/** Makes chosen store operations fail while `fault` is on; every other member is the real store's. */
function faultyStore(fault: Fault, fails: { confirm?: boolean; save?: boolean; claim?: boolean; consume?: boolean }) {
  const broken = () => Promise.reject(new Error('storage backend failed for flow:secret-key-material'))
  return (store: CodeStore): CodeStore =>
    new Proxy(store, {
      get(target, property) {
        if (property === 'confirm' && fails.confirm) return (...args: Parameters<CodeStore['confirm']>) => (fault.on ? broken() : target.confirm(...args))
        if (property === 'save' && fails.save) return (...args: Parameters<CodeStore['save']>) => (fault.on ? broken() : target.save(...args))
        if (property === 'claim') {
          return async (...args: Parameters<CodeStore['claim']>) => {
            if (fault.on && fails.claim) return broken()
            const pickup = await target.claim(...args)
            if (pickup.kind !== 'claimed' || !fails.consume) return pickup
            const { claim } = pickup
            return { kind: 'claimed', claim: { record: claim.record, release: () => claim.release(), consume: () => (fault.on ? broken() : claim.consume()) } }
          }
        }
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
}

async function signedIn(start: Start, options: RelayOptions) {
  const relay = await start(options)
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  return { relay, flow }
}

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

export const faultCases = [
  ...UPSTREAM_FAULTS.map((upstream) =>
    contract(`fault: Unity's token endpoint ${upstream.name}; the app's retry gets the tokens`, async (start) => {
      const fault: Fault = { on: true }
      const { relay, flow } = await signedIn(start, upstreamFault(fault, upstream))
      const body = await assertJsonError(await relay.pickup(flow.verifier), upstream.status, upstream.error)
      for (const leak of ['Sign in', 'elsewhere.example', 'Network connection', 'down']) assert.equal(JSON.stringify(body).includes(leak), false, leak)
      assert.ok(await relay.raw.get(flow.challenge), 'the record is kept for the retry')
      fault.on = false
      relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
      await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    }),
  ),

  contract("fault: the store's read fails at pickup; 503, then the retry gets the tokens", async (start) => {
    const fault: Fault = { on: false }
    const { relay, flow } = await signedIn(start, { wrapStore: faultyStore(fault, { claim: true }) })
    fault.on = true
    const body = await assertJsonError(await relay.pickup(flow.verifier), 503, 'temporarily_unavailable')
    assert.equal(JSON.stringify(body).includes('secret-key-material'), false)
    fault.on = false
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  }),

  contract("fault: the store's delete fails after the exchange; the app still gets its tokens", async (start) => {
    const fault: Fault = { on: true }
    const { relay, flow } = await signedIn(start, { wrapStore: faultyStore(fault, { consume: true }) })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    assert.ok(relay.logs.some((line) => line.includes('token.consume_failed') && line.includes('"fault":"Error"')))
  }),

  contract("fault: the store's write fails at the callback; a 503 retry page, and reloading it saves the sign-in", async (start) => {
    const fault: Fault = { on: true }
    const relay = await start({ wrapStore: faultyStore(fault, { save: true }) })
    const flow = await relay.authorize()
    const failed = await relay.callback(flow, { code: CODE, state: flow.state })
    assert.equal(failed.headers.get('Retry-After'), '5')
    assert.equal(failed.headers.getSetCookie().length, 0, 'the binding cookie is kept for the reload')
    const page = await assertErrorPage(failed, 503, 'store_unavailable')
    assert.match(page, /Reload this page/)
    assert.equal(page.includes('secret-key-material'), false)
    await assertOnlyConfirmed(relay, flow)
    fault.on = false
    const reload = await relay.callback(flow, { code: CODE, state: flow.state })
    assert.equal(reload.status, 200)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  }),

  contract("fault: the store's write fails at Continue; a 503 page that keeps the cookie, and pressing Continue again goes on", async (start) => {
    const fault: Fault = { on: true }
    const relay = await start({ wrapStore: faultyStore(fault, { confirm: true }) })
    const opened = await relay.open()
    const failed = await relay.decide(opened, 'continue')
    const page = await assertErrorPage(failed, 503, 'store_unavailable')
    assert.equal(page.includes('secret-key-material'), false)
    assert.equal(failed.headers.get('Location'), null, 'nothing goes to Unity without the confirmation')
    assert.deepEqual(failed.headers.getSetCookie(), [], 'the binding cookie is kept')
    assert.equal(await relay.raw.get(opened.challenge), null)
    fault.on = false
    assert.equal((await relay.decide(opened, 'continue')).status, 303)
    await assertOnlyConfirmed(relay, opened)
  }),
]

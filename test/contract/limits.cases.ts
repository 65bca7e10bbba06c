/**
 * @module
 * Contract of the abuse limits: the body limit, per-address and per-flow rate limits, the signed
 * state's length, Unity's answer size, and 404/405 answers.
 */
import { strict as assert } from 'node:assert'
import { MAX_BODY_BYTES } from '../../src/app.ts'
import { MemoryRateLimiter } from '../../src/limits/memory-limiter.ts'
import type { RelayLimiters } from '../../src/app.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { assertErrorPage, assertJsonError, assertSealedTokens, contract, sealedFor, withOverrides } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN, TEST_PEER_HEADER } from './harness.ts'
import type { RelayOptions, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","refresh_token":"rt-456"}'
const MiB = 1024 * 1024

const FORM_CHUNK = new TextEncoder().encode('grant_type=refresh_token&refresh_token='.padEnd(64 * 1024, 'x'))
const TOKEN_CHUNK = new TextEncoder().encode(`{"access_token":"${'a'.repeat(16 * 1024)}`)
/** The most of an oversized Unity answer the relay may pull: its 64 KiB limit, plus what is in flight. */
const MOST_PULLED = 64 * 1024 + 2 * 16 * 1024 + 64

/** A body of `totalBytes`, repeating `chunk`, that is produced only as it is read, counting what was pulled. */
function lazyBody(totalBytes: number, chunk = FORM_CHUNK): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= totalBytes) return controller.close()
      pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  }, { highWaterMark: 0 })
  return { stream, pulled: () => pulled }
}

/** Unity answering 200 with 400 MB of one access token (under `headers`), produced only as the relay reads it. */
function endlessTokenAnswer(headers: Record<string, string> = {}) {
  let body: ReturnType<typeof lazyBody> | undefined
  const wrapFetch = (fetch: typeof globalThis.fetch): typeof globalThis.fetch => async (input, init) => {
    await fetch(input, init)
    body = lazyBody(400 * MiB, TOKEN_CHUNK)
    return new Response(body.stream, { status: 200, headers: { 'Content-Type': 'application/json', ...headers } })
  }
  return { wrapFetch, pulled: () => body?.pulled() ?? 0 }
}

/** A device authorization's user code, from `peer`. */
async function deviceUserCode(relay: RelayUnderTest, peer: string): Promise<string> {
  const response = await relay.fetch(...postForm('/device_authorization', '', peer))
  assert.equal(response.status, 200)
  return ((await response.json()) as { user_code: string }).user_code
}

/** GET /device?user_code=… from `peer`. */
/** A code typed into the relay's entry form (a same-origin GET) from `peer`. */
function enter(relay: RelayUnderTest, userCode: string, peer: string): Promise<Response> {
  return relay.fetch(`/device?${new URLSearchParams({ user_code: userCode })}`, { headers: { [TEST_PEER_HEADER]: peer, 'Sec-Fetch-Site': 'same-origin' } })
}

function postForm(path: string, body: string, peer = '203.0.113.7'): [string, RequestInit] {
  return [path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', [TEST_PEER_HEADER]: peer }, body }]
}

async function withLimits(start: Start, limits: Partial<Record<keyof RelayLimiters, [number, number]>>, options: RelayOptions = {}) {
  let now = Date.now()
  const limiters: RelayLimiters = Object.fromEntries(
    Object.entries(limits).map(([name, [limit, periodSeconds]]) => [name, new MemoryRateLimiter({ limit, periodSeconds, clock: () => now })]),
  )
  const relay = await start({ ...options, limiters, clock: () => now })
  return { relay, advance: (seconds: number) => (now += seconds * 1000) }
}

export const limitsCases = [
  contract('body limit: a streamed 300 MB POST /token is refused with 413 JSON after reading at most a chunk past the limit', async (start) => {
    const relay = await start()
    const { stream, pulled } = lazyBody(300 * MiB)
    const response = await relay.fetch('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    await assertJsonError(response, 413, 'invalid_request')
    assert.ok(pulled() <= MAX_BODY_BYTES + 2 * 64 * 1024, `read ${pulled()} bytes`)
  }),

  contract('body limit: a declared 520 MB body is refused from its Content-Length without reading it', async (start) => {
    const relay = await start()
    const { stream, pulled } = lazyBody(520 * MiB)
    const response = await relay.fetch('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(520 * MiB) },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    await assertJsonError(response, 413, 'invalid_request')
    assert.ok(pulled() <= 2 * 64 * 1024, `read ${pulled()} bytes`)
  }),

  contract('body limit: applies to every POST; browser paths get a page, the API JSON', async (start) => {
    const relay = await start()
    const big = 'x'.repeat(MAX_BODY_BYTES + 1)
    await assertErrorPage(await relay.fetch(...postForm('/authorize', big)), 413, 'payload_too_large')
    await assertErrorPage(await relay.fetch(...postForm('/callback', big)), 413, 'payload_too_large')
    await assertJsonError(await relay.fetch(...postForm('/nowhere', big)), 413, 'invalid_request')
    // A refresh token at the input limit still fits well under the body limit (a raw one reaches Unity only in passthrough).
    const passthrough = await start({ env: { REFRESH_TOKENS: 'passthrough' } })
    passthrough.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'r'.repeat(4096) }, { status: 200, body: TOKENS })
    assert.equal((await passthrough.fetch(...postForm('/token', `grant_type=refresh_token&refresh_token=${'r'.repeat(4096)}`))).status, 200)
  }),

  contract('state length: a return_to that would make the state too long is refused at /authorize, not after sign-in', async (start) => {
    const relay = await start()
    const returnTo = `https://app.example.com/${'\u7b7e'.repeat(80)}`
    const query = new URLSearchParams({ code_challenge: await challengeOf(makeVerifier()), code_challenge_method: 'S256', return_to: returnTo })
    const response = await relay.fetch(`/authorize?${query}`)
    await assertErrorPage(response, 400, 'invalid_request')
    assert.equal(response.headers.getSetCookie().length, 0, 'no binding cookie for a refused flow')
    // A return_to just short of the limit still works end to end.
    const flow = await relay.authorize({ return_to: `https://app.example.com/${'\u7b7e'.repeat(30)}` })
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 303)
  }),

  contract('404 and 405: no-store everywhere, Allow names the methods, pages on browser paths and JSON elsewhere', async (start) => {
    const relay = await start()
    const missing = await relay.fetch('/nowhere')
    await assertJsonError(missing, 404, 'invalid_request')
    const getToken = await relay.fetch('/token')
    assert.equal(getToken.headers.get('Allow'), 'POST')
    assert.match(String((await assertJsonError(getToken, 405, 'invalid_request')).error_description), /POST a form/)
    for (const [path, allow] of [['/authorize', 'GET, POST'], ['/callback', 'GET']] as const) {
      const response = await relay.fetch(path, { method: 'PUT' })
      assert.equal(response.headers.get('Allow'), allow)
      assert.equal(response.headers.get('Cache-Control'), 'no-store')
      await assertErrorPage(response, 405, 'method_not_allowed')
    }
    const deleted = await relay.fetch('/token', { method: 'DELETE' })
    assert.equal(deleted.headers.get('Cache-Control'), 'no-store')
    assert.equal(deleted.status, 405)
  }),

  contract('rate limit: /authorize (GET and POST) counts per client address and answers 429 with a page and Retry-After', async (start) => {
    const { relay, advance } = await withLimits(start, { authorize: [2, 60] })
    const url = `/authorize?code_challenge=${await challengeOf(makeVerifier())}&code_challenge_method=S256`
    const from = (peer: string, init: RequestInit = {}) => relay.fetch(url, { ...init, headers: { ...init.headers, [TEST_PEER_HEADER]: peer } })
    assert.equal((await from('203.0.113.7')).status, 200)
    assert.equal((await from('203.0.113.7')).status, 200)
    const refused = await from('203.0.113.7')
    assert.equal(refused.headers.get('Retry-After'), '60')
    assert.equal(refused.headers.get('Cache-Control'), 'no-store')
    assert.equal(refused.headers.getSetCookie().length, 0)
    await assertErrorPage(refused, 429, 'rate_limited')
    const decision = { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'state=x&decision=continue' }
    await assertErrorPage(await relay.fetch('/authorize', { ...decision, headers: { ...decision.headers, [TEST_PEER_HEADER]: '203.0.113.7' } }), 429, 'rate_limited')
    assert.equal((await from('198.51.100.9')).status, 200, 'another address has its own budget')
    // One IPv6 subscriber holds a /64: rotating the low bits does not buy a new budget.
    assert.equal((await from('2001:db8:1:2::1')).status, 200)
    assert.equal((await from('2001:db8:1:2:ffff::2')).status, 200)
    assert.equal((await from('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).status, 429)
    advance(60)
    assert.equal((await from('203.0.113.7')).status, 200, 'the budget comes back after the period')
  }),

  contract('rate limit: /callback and /token count per address; /token answers 429 JSON', async (start) => {
    const { relay } = await withLimits(start, { callback: [1, 60], token: [1, 60] })
    await relay.fetch('/callback?state=x&code=y', { headers: { [TEST_PEER_HEADER]: '203.0.113.7' } })
    await assertErrorPage(await relay.fetch('/callback?state=x&code=y', { headers: { [TEST_PEER_HEADER]: '203.0.113.7' } }), 429, 'rate_limited')
    const pickup = `grant_type=authorization_code&code_verifier=${makeVerifier()}`
    await assertJsonError(await relay.fetch(...postForm('/token', pickup)), 400, 'authorization_pending')
    const refused = await relay.fetch(...postForm('/token', pickup))
    assert.equal(refused.headers.get('Retry-After'), '60')
    await assertJsonError(refused, 429, 'temporarily_unavailable')
  }),

  contract('rate limit: code entry at /device and POST /device_authorization share a per-address budget (RFC 8628 §5.1)', async (start) => {
    const { relay } = await withLimits(start, { device: [2, 60] })
    const peer = { [TEST_PEER_HEADER]: '203.0.113.7' }
    const authorization = await relay.fetch('/device_authorization', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...peer }, body: '' })
    assert.equal(authorization.status, 200)
    assert.equal((await relay.fetch('/device?user_code=BBBB-BBBB', { headers: peer })).status < 500, true)
    const guess = await relay.fetch('/device?user_code=CCCC-CCCC', { headers: peer })
    assert.equal(guess.headers.get('Retry-After'), '60')
    await assertErrorPage(guess, 429, 'rate_limited')
    const more = await relay.fetch('/device_authorization', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...peer }, body: '' })
    await assertJsonError(more, 429, 'temporarily_unavailable')
    assert.notEqual((await relay.fetch('/device?user_code=CCCC-CCCC', { headers: { [TEST_PEER_HEADER]: '198.51.100.9' } })).status, 429)
    const wrongMethod = await relay.fetch('/device_authorization', { headers: { [TEST_PEER_HEADER]: '198.51.100.10' } })
    assert.equal(wrongMethod.headers.get('Allow'), 'POST')
    await assertJsonError(wrongMethod, 405, 'invalid_request')
  }),

  contract('rate limit: wrong user codes from every address share one budget; once it is spent, code entry closes, found codes included, for the period', async (start) => {
    let lookups = 0
    const { relay, advance } = await withLimits(start, { deviceGuess: [3, 60] }, {
      wrapStore: (store) => withOverrides(store, {
        findDevice: (...args) => (lookups++, store.findDevice(...args)),
      }),
    })
    const userCode = await deviceUserCode(relay, '198.51.100.1')
    // Three /64s of one /48, and an IPv4 address: each has its own per-address budget, not its own guesses.
    for (const [typed, peer] of [['BBBB-BBBB', '2001:db8:1:1::1'], ['CCCC-CCCC', '2001:db8:1:2::1'], ['x', '203.0.113.7']] as const) {
      assert.equal((await enter(relay, typed, peer)).status, 400, peer)
    }
    const spent = await enter(relay, 'DDDD-DDDD', '2001:db8:1:3::1')
    assert.equal(spent.headers.get('Retry-After'), '60')
    assert.match(await assertErrorPage(spent, 429, 'code_entry_closed'), /Too many wrong codes were entered at this relay/)
    const seen = lookups
    const honest = await enter(relay, userCode, '198.51.100.1')
    assert.deepEqual(honest.headers.getSetCookie(), [], 'no flow begins')
    await assertErrorPage(honest, 429, 'code_entry_closed')
    await assertErrorPage(await enter(relay, 'FFFF-FFFF', '198.51.100.2'), 429, 'code_entry_closed')
    await assertErrorPage(await enter(relay, 'x', '198.51.100.3'), 429, 'code_entry_closed')
    assert.equal(lookups, seen, 'no code is looked up while entry is closed')
    assert.equal((await relay.fetch('/device', { headers: { [TEST_PEER_HEADER]: '198.51.100.1' } })).status, 200, 'the entry form still shows')
    advance(59)
    assert.equal((await enter(relay, userCode, '198.51.100.1')).headers.get('Retry-After'), '1')
    advance(1)
    const reopened = await enter(relay, userCode, '198.51.100.1')
    assert.equal(reopened.status, 200, 'an honest code works again after the period')
    assert.ok((await reopened.text()).includes(`>${userCode}</div>`))
    const refusals = relay.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'request.refused').map((line) => line.error)
    assert.deepEqual(refusals, ['unknown_user_code', 'unknown_user_code', 'unknown_user_code', 'code_entry_closed', 'code_entry_closed', 'code_entry_closed', 'code_entry_closed', 'code_entry_closed'])
  }),

  contract('rate limit: found codes do not count against the global budget, and the per-address limit still applies before it', async (start) => {
    const { relay } = await withLimits(start, { device: [2, 60], deviceGuess: [2, 60] })
    const userCode = await deviceUserCode(relay, '198.51.100.1')
    for (let i = 0; i < 4; i++) assert.equal((await enter(relay, userCode, `198.51.100.${10 + i}`)).status, 200)
    assert.equal((await enter(relay, 'BBBB-BBBB', '203.0.113.7')).status, 400)
    assert.equal((await enter(relay, 'CCCC-CCCC', '203.0.113.7')).status, 400)
    // 203.0.113.7 has used its 2 requests: its own limit answers, before any code is looked at or counted.
    await assertErrorPage(await enter(relay, 'DDDD-DDDD', '203.0.113.7'), 429, 'rate_limited')
    await assertErrorPage(await enter(relay, 'FFFF-FFFF', '198.51.100.20'), 429, 'code_entry_closed')
  }),

  contract('rate limit: refreshes count per address before Unity is called', async (start) => {
    const { relay } = await withLimits(start, { refresh: [1, 60] })
    const refresh = `grant_type=refresh_token&refresh_token=${await sealedFor(relay, 'rt-456')}`
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    const first = await relay.fetch(...postForm('/token', refresh))
    assert.equal(first.status, 200)
    await assertJsonError(await relay.fetch(...postForm('/token', refresh)), 429, 'temporarily_unavailable')
    // The next generation, as the app would send it (the previous one would get the first answer again).
    const next = `grant_type=refresh_token&refresh_token=${String(((await first.json()) as { refresh_token: string }).refresh_token)}`
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    assert.equal((await relay.fetch(...postForm('/token', next, '198.51.100.9'))).status, 200)
  }),

  contract('rate limit: polling one flow faster than its interval gets slow_down (RFC 8628 §3.5), then tokens', async (start) => {
    const { relay, advance } = await withLimits(start, { pickup: [1, 5] })
    const flow = await relay.authorize()
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'slow_down')
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    const other = await relay.authorize()
    await assertJsonError(await relay.pickup(other.verifier), 400, 'authorization_pending', )
    advance(5)
    relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
  }),

  contract('rate limit: a failing limiter lets the request through and logs only its fault class', async (start) => {
    const broken = { limit: () => Promise.reject(new Error('limiter down at 203.0.113.7')) }
    const relay = await start({ limiters: { authorize: broken, pickup: broken } })
    const flow = await relay.authorize()
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
    assert.ok(relay.logs.some((line) => line.includes('limit.unavailable') && line.includes('"fault":"Error"')))
    assert.equal(relay.logs.join('\n').includes('203.0.113.7'), false)
  }),

  contract('upstream: a Unity answer over 64 KiB is 502 upstream_invalid_response, read no further, and the record stays', async (start) => {
    const unity = endlessTokenAnswer()
    const relay = await start({ wrapFetch: unity.wrapFetch })
    const flow = await relay.authorize()
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
    const body = await assertJsonError(await relay.pickup(flow.verifier), 502, 'server_error')
    assert.match(String(body.error_description), /larger than 64 KiB/)
    assert.ok(unity.pulled() <= MOST_PULLED, `read ${unity.pulled()} bytes`)
    assert.ok(await relay.raw.get(flow.challenge), 'record kept for a retry')
  }),

  contract('upstream: an answer with a declared length is read whole, but a compressed one is still counted as it streams', async (start) => {
    const declared = await start({
      wrapFetch: (fetch) => async (input, init) => {
        const answer = await fetch(input, init)
        const text = await answer.text()
        return new Response(text, { status: answer.status, headers: { 'Content-Type': 'application/json', 'Content-Length': String(new TextEncoder().encode(text).byteLength) } })
      },
    })
    const flow = await declared.authorize()
    assert.equal((await declared.callback(flow, { code: CODE, state: flow.state })).status, 200)
    declared.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
    await assertSealedTokens(declared, await declared.pickup(flow.verifier), TOKENS)

    // fetch decompresses: a small declared (compressed) length says nothing about what is read.
    const unity = endlessTokenAnswer({ 'Content-Encoding': 'gzip', 'Content-Length': '1000' })
    const compressed = await start({ wrapFetch: unity.wrapFetch })
    const bomb = await compressed.authorize()
    assert.equal((await compressed.callback(bomb, { code: CODE, state: bomb.state })).status, 200)
    compressed.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: bomb.verifier }, { status: 200, body: TOKENS })
    const body = await assertJsonError(await compressed.pickup(bomb.verifier), 502, 'server_error')
    assert.match(String(body.error_description), /larger than 64 KiB/)
    assert.ok(unity.pulled() <= MOST_PULLED, `read ${unity.pulled()} bytes`)
  }),
]

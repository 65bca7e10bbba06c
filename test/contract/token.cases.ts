/**
 * @module
 * Contract of POST /token: polling, the code exchange against a strict Unity stub, failures
 * upstream and in storage, refresh, CORS and rate limiting.
 */
import { strict as assert } from 'node:assert'
import { REDIRECT_URI_WARNING } from '../../src/app.ts'
import type { CodeStore } from '../../src/store.ts'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { assertErrorPage, assertJsonError, assertSealedTokens, contract, withOverrides } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'

async function signedIn(start: Start, env: Record<string, string | undefined> = {}) {
  const relay = await start({ env })
  const flow = await relay.authorize()
  const response = await relay.callback(flow, { code: CODE, state: flow.state })
  assert.equal(response.status, 200)
  return { relay, flow }
}

function multipart(fields: Record<string, string>): FormData {
  const data = new FormData()
  for (const [name, value] of Object.entries(fields)) data.append(name, value)
  return data
}

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

export const tokenCases = [
  contract('token: before the callback the app is told to keep polling', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
  }),

  contract('token: exchanges the code with Basic auth and returns Unity\u2019s JSON with only refresh_token sealed', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const { exp } = (await relay.raw.get(flow.challenge)) as { exp: number }
    const response = await relay.pickup(flow.verifier)
    assert.equal(response.headers.get('Pragma'), 'no-cache')
    const { payload } = await assertSealedTokens(relay, response, TOKENS)
    assert.equal(payload.generation, 0, 'a pickup starts a grant')
    assert.match(payload.grantId, /^[A-Za-z0-9_-]{22}$/)
    assert.equal(payload.scope, 'api', 'the scope Unity granted')
    assert.equal(payload.issuedAt, Math.floor(exp - relay.config.codeTtlSeconds), 'sealed at the relay clock')
    assert.deepEqual(await relay.raw.get(flow.challenge), { spent: true, exp }, 'a spent code leaves only a tombstone')
    const again = await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    assert.match(String(again.error_description), /already picked up/)
    assert.equal(relay.unity.calls.length, 1, 'the tombstone answers without Unity')
  }),

  contract('token: the tombstone lasts until the record would have expired, then the flow is unknown', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
    relay.advance(119)
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    relay.advance(1)
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
  }),

  contract('token: a callback after the pickup cannot plant a new code behind the tombstone', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    // Someone who knows the challenge starts their own flow for it (while the first is under way) and signs in as themselves.
    const second = await relay.open({ verifier: flow.verifier })
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
    const tombstone = await relay.raw.get(flow.challenge)
    await assertErrorPage(await relay.decide(second, 'continue'), 409, 'flow_finished')
    await assertErrorPage(await relay.callback(second, { code: 'attacker-code', state: second.state }), 409, 'flow_finished')
    assert.deepEqual(await relay.raw.get(flow.challenge), tombstone)
  }),

  contract('token: 20 concurrent pickups make exactly one Unity call; the rest poll again, then learn it was picked up', async (start) => {
    const pickups = 20
    let answered = 0
    let allAnswered!: () => void
    const othersDone = new Promise<void>((resolve) => (allAnswered = resolve))
    let arrived = 0
    let allArrived!: () => void
    const everyoneHere = new Promise<void>((resolve) => (allArrived = resolve))
    // Every pickup reaches the store together, and the winner finishes only after all others have answered.
    const gated = (store: CodeStore): CodeStore => withOverrides(store, {
      async claim(challenge, nowSeconds) {
        if (++arrived === pickups) allArrived()
        await everyoneHere
        const pickup = await store.claim(challenge, nowSeconds)
        if (pickup.kind !== 'claimed') {
          if (++answered === pickups - 1) allAnswered()
          return pickup
        }
        const { claim } = pickup
        return { kind: 'claimed', claim: { record: claim.record, release: () => claim.release(), consume: () => othersDone.then(() => claim.consume()) } }
      },
    })
    const relay = await start({ wrapStore: gated })
    const flow = await relay.authorize()
    assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const responses = await Promise.all(Array.from({ length: pickups }, () => relay.pickup(flow.verifier)))
    const winners = responses.filter(({ status }) => status === 200)
    assert.equal(winners.length, 1)
    await assertSealedTokens(relay, winners[0]!, TOKENS)
    const bodies = await Promise.all(responses.filter((response) => response.status !== 200).map(async (response) => ({ status: response.status, body: await response.text() })))
    assert.equal(relay.unity.calls.length, 1)
    const others = bodies.filter(({ status }) => status !== 200).map(({ status, body }): Record<string, unknown> => ({ ...(JSON.parse(body) as Record<string, unknown>), status }))
    assert.equal(others.length, pickups - 1)
    for (const other of others) {
      assert.equal(other.status, 400)
      assert.equal(other.error, 'authorization_pending')
      assert.match(String(other.error_description), /in progress/)
    }
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
  }),

  contract('token: client_secret_post sends the credentials in the body', async (start) => {
    const { relay, flow } = await signedIn(start, { UNITY_TOKEN_AUTH: 'client_secret_post' })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
    assert.equal(relay.unity.calls[0]?.client_secret, 'p@ss word:+/ü')
  }),

  contract('token: with UNITY_PKCE=off no verifier is sent to Unity', async (start) => {
    const { relay, flow } = await signedIn(start, { UNITY_PKCE: 'off' })
    const { code_verifier: _omitted, ...form } = exchangeForm(flow.verifier)
    relay.unity.expectTokenCall(form, { status: 200, body: TOKENS })
    assert.equal((await relay.pickup(flow.verifier)).status, 200)
  }),

  contract('token: a wrong verifier finds nothing and never reaches Unity', async (start) => {
    const { relay, flow } = await signedIn(start)
    await assertJsonError(await relay.pickup(makeVerifier()), 400, 'authorization_pending')
    assert.ok(await relay.raw.get(flow.challenge))
  }),

  contract('token: after a refusal the app gets access_denied', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    await relay.callback(flow, { error: 'access_denied', state: flow.state })
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'access_denied')
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'access_denied')
  }),

  contract('token: an upstream 5xx is 502 temporarily_unavailable and the record stays for a retry', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 503, body: '<html>maintenance</html>' })
    const body = await assertJsonError(await relay.pickup(flow.verifier), 502, 'temporarily_unavailable')
    assert.equal(JSON.stringify(body).includes('maintenance'), false)
    assert.ok(await relay.raw.get(flow.challenge), 'record kept')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    assert.equal(((await relay.raw.get(flow.challenge)) as { spent?: boolean }).spent, true)
  }),

  contract('token: a network failure is 502 and the record stays', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), 'network-error')
    await assertJsonError(await relay.pickup(flow.verifier), 502, 'temporarily_unavailable')
    assert.ok(await relay.raw.get(flow.challenge))
  }),

  contract('token: Unity\u2019s 4xx errors keep their code, in the relay\u2019s words, and leave a tombstone', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 400, body: '{"error":"invalid_grant","error_description":"code expired"}' })
    const body = await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    assert.match(String(body.error_description), /^Unity refused the authorization code/)
    assert.deepEqual(Object.keys((await relay.raw.get(flow.challenge)) as object).sort(), ['exp', 'spent'])
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
  }),

  contract('token: a 200 without an access token is a 502, not a success', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: '<html>login</html>' })
    await assertJsonError(await relay.pickup(flow.verifier), 502, 'server_error')
  }),

  contract('token: an expired record is not exchanged even if the store still holds it', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.advance(121)
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'authorization_pending')
  }),

  contract('token: with REFRESH_TOKENS=passthrough, pickups and refreshes answer Unity\u2019s JSON byte for byte', async (start) => {
    const { relay, flow } = await signedIn(start, { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    assert.equal(await (await relay.pickup(flow.verifier)).text(), TOKENS)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    const response = await relay.fetch('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=rt-456',
    })
    assert.equal(response.status, 200)
    assert.equal(await response.text(), TOKENS)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-old', scope: 'api' }, { status: 400, body: '{"error":"invalid_grant"}' })
    const refused = await relay.fetch('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: 'grant_type=refresh_token&refresh_token=rt-old&scope=api',
    })
    await assertJsonError(refused, 400, 'invalid_grant')
  }),

  contract('token: malformed requests are refused before Unity is called', async (start) => {
    const { relay, flow } = await signedIn(start)
    const form = (body: string) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body })
    const cases: Array<[RequestInit, string]> = [
      [{ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', code_verifier: flow.verifier }) }, 'invalid_request'],
      [form(''), 'invalid_request'],
      [form(`code_verifier=${flow.verifier}`), 'invalid_request'],
      [form(`grant_type=password&username=a&password=b`), 'unsupported_grant_type'],
      [form(`grant_type=authorization_code`), 'invalid_request'],
      [form(`grant_type=authorization_code&code_verifier=short`), 'invalid_request'],
      [form(`grant_type=authorization_code&code_verifier=${'a'.repeat(129)}`), 'invalid_request'],
      [form(`grant_type=authorization_code&code_verifier=${flow.verifier.slice(1)}%21`), 'invalid_request'],
      [form(`grant_type=authorization_code&code_verifier=${flow.verifier}&code_verifier=${flow.verifier}`), 'invalid_request'],
      [form(`grant_type=authorization_code&grant_type=refresh_token&code_verifier=${flow.verifier}`), 'invalid_request'],
      [form(`grant_type=authorization_code&code_verifier=${flow.verifier}&code_verifier=a&code_verifier=b`), 'invalid_request'],
      // RFC 6749 §4.1.3: only application/x-www-form-urlencoded, so a multipart body is refused unread.
      [{ method: 'POST', body: multipart({ grant_type: 'authorization_code', code_verifier: flow.verifier }) }, 'invalid_request'],
      [{ method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: `grant_type=authorization_code&code_verifier=${flow.verifier}` }, 'invalid_request'],
      [form(`grant_type=refresh_token`), 'invalid_request'],
      [form(`grant_type=refresh_token&refresh_token=x&scope=a%20%20b`), 'invalid_scope'],
    ]
    for (const [init, error] of cases) {
      await assertJsonError(await relay.fetch('/token', init), 400, error)
    }
    const get = await relay.fetch('/token')
    assert.match(String((await assertJsonError(get, 405, 'invalid_request')).error_description), /POST a form/)
    assert.equal(get.headers.get('Allow'), 'POST')
    assert.ok(await relay.raw.get(flow.challenge), 'nothing consumed the record')
  }),

  contract('token: CORS answers only allowlisted origins', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    const fromApp = await relay.pickup(flow.verifier, {})
    assert.equal(fromApp.headers.get('Access-Control-Allow-Origin'), null, 'no Origin, no CORS')
    const allowed = await relay.fetch('/token', {
      method: 'POST',
      headers: { Origin: 'https://app.example.com', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code_verifier=${flow.verifier}`,
    })
    assert.equal(allowed.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    assert.match(allowed.headers.get('Vary') ?? '', /Origin/)
    const evil = await relay.fetch('/token', {
      method: 'POST',
      headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=authorization_code&code_verifier=${flow.verifier}`,
    })
    assert.equal(evil.headers.get('Access-Control-Allow-Origin'), null)
    const preflight = await relay.fetch('/token', {
      method: 'OPTIONS',
      headers: { Origin: 'https://desk.example.org:8443', 'Access-Control-Request-Method': 'POST' },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('Access-Control-Allow-Origin'), 'https://desk.example.org:8443')
    assert.match(preflight.headers.get('Access-Control-Allow-Methods') ?? '', /POST/)
    const evilPreflight = await relay.fetch('/token', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    })
    assert.equal(evilPreflight.headers.get('Access-Control-Allow-Origin'), null)
  }),

  contract('token: a refusing limiter answers slow_down before the store is read', async (start) => {
    const keys: string[] = []
    let reads = 0
    const relay = await start({
      limiters: { pickup: { limit: async ({ key }) => (keys.push(key), { success: false }) } },
      wrapStore: (store): CodeStore => withOverrides(store, {
        claim: (...args) => (reads++, store.claim(...args)),
      }),
    })
    const flow = await relay.authorize()
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'slow_down')
    assert.deepEqual(keys, [await challengeOf(flow.verifier)])
    assert.equal(reads, 0)
  }),

  contract('token and callback: a store fault is a clear 503 that leaks nothing', async (start) => {
    const failing = (store: CodeStore): CodeStore => withOverrides(store, {
      save: () => Promise.reject(new Error('KV put failed for flow:secret-key-material')),
      claim: () => Promise.reject(new Error('KV get failed for flow:secret-key-material')),
    })
    const relay = await start({ wrapStore: failing })
    const flow = await relay.authorize()
    const page = await relay.callback(flow, { code: CODE, state: flow.state })
    const html = await page.text()
    assert.equal(page.status, 503)
    assert.match(html, /could not save the sign-in/)
    assert.equal(html.includes('secret-key-material'), false)
    const body = await assertJsonError(await relay.pickup(flow.verifier), 503, 'temporarily_unavailable')
    assert.equal(JSON.stringify(body).includes('secret-key-material'), false)
    assert.ok(relay.logs.some((line) => line.includes('"status":503')))
  }),

  contract('any route: an unexpected fault is a 500 that names no internals', async (start) => {
    const relay = await start({
      clock: () => {
        throw new RangeError('clock exploded with internal detail')
      },
    })
    const response = await relay.fetch(`/authorize?code_challenge=${await challengeOf(makeVerifier())}&code_challenge_method=S256`)
    const body = await response.text()
    assert.equal(response.status, 500)
    assert.match(body, /unexpected fault while handling \/authorize/)
    assert.equal(body.includes('exploded'), false)
    assert.ok(relay.logs.some((line) => line.includes('"fault":"RangeError"')))
  }),

  contract('healthz: answers ok, with a warning while REDIRECT_URI is unset, and never with request input', async (start) => {
    const unset = await start()
    const warned = await unset.app.request('https://evil.example/healthz?x=<b>', { headers: { 'X-Forwarded-Host': 'evil.example' } })
    const text = await warned.text()
    assert.equal(warned.status, 200)
    assert.ok(text.startsWith('{"ok":true,'), text)
    assert.deepEqual(JSON.parse(text), { ok: true, warnings: [REDIRECT_URI_WARNING] })
    assert.match(REDIRECT_URI_WARNING, /^REDIRECT_URI is not set: .*Host header\. Set it in production\.$/)
    assert.equal(text.includes('evil') || text.includes('<b>'), false)
    const set = await start({ env: { REDIRECT_URI: 'https://login.example.com/callback' } })
    const response = await set.fetch('/healthz')
    assert.equal(response.status, 200)
    assert.equal(await response.text(), '{"ok":true}')
  }),

  contract('logs: a whole flow never logs a code, token, verifier, state or secret', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const { sealed } = await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    const refresh = (token: string) =>
      relay.fetch('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }) })
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    const renewed = await assertSealedTokens(relay, await refresh(sealed), TOKENS)
    await assertJsonError(await refresh('rt-456'), 400, 'invalid_grant')
    await assertJsonError(await refresh(`${sealed.slice(0, -2)}AA`), 400, 'invalid_grant')
    assert.ok(relay.logs.some((line) => line.includes('token.refreshed')) && relay.logs.some((line) => line.includes('token.refresh_refused')), relay.logs.join('\n'))
    const logs = relay.logs.join('\n')
    assert.ok(relay.logs.length >= 3, logs)
    const nonce = flow.cookie.split('=')[1] ?? ''
    const secrets = [CODE, 'at-123', 'rt-456', flow.verifier, flow.state, nonce, 'p@ss word', 'test-state-secret', 'test-refresh-seal-secret', flow.challenge]
    for (const secret of [...secrets, sealed, sealed.slice(12, 40), renewed.sealed.slice(12, 40)]) {
      assert.equal(logs.includes(secret), false, `log contains ${secret.slice(0, 6)}…`)
    }
  }),
]

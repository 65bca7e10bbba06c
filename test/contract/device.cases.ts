/**
 * @module
 * Contract of the device authorization grant (RFC 8628) and the RFC 8414 metadata: the device
 * authorization response and what it stores, code entry at /device, the shared confirmation page,
 * and every answer the device's polls get at /token.
 */
import { strict as assert } from 'node:assert'
import { challengeOf } from '../../dev/pkce.ts'
import { DEVICE_CODE_GRANT } from '../../src/inputs.ts'
import { USER_CODE_ALPHABET, userCodeFor } from '../../src/user-code.ts'
import { assertErrorPage, assertJsonError, assertPageHeaders, assertSealedTokens, contract, withOverrides } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { Opened, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-dev","token_type":"bearer","expires_in":2592000,"refresh_token":"rt-dev","scope":"api"}'
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/** The fields of a device authorization response (RFC 8628 §3.2). */
interface DeviceAuthorization {
  readonly device_code: string
  readonly user_code: string
  readonly verification_uri: string
  readonly verification_uri_complete: string
  readonly expires_in: number
  readonly interval: number
}

async function authorizeDevice(relay: RelayUnderTest, form: Record<string, string> = {}, headers: Record<string, string> = FORM): Promise<DeviceAuthorization> {
  const response = await relay.fetch('/device_authorization', { method: 'POST', headers, body: new URLSearchParams(form) })
  const text = await response.text()
  assert.equal(response.status, 200, text)
  return JSON.parse(text) as DeviceAuthorization
}

/** Opens /device?user_code=… like the user's browser and reads the confirmation page. */
/** The user types the code into the relay's entry form, whose GET is `same-origin`; `headers` replace the browser's. */
async function enterCode(relay: RelayUnderTest, typed: string, deviceCode: string, headers: Record<string, string> = {}): Promise<Opened> {
  const response = await relay.fetch(`/device?${new URLSearchParams({ user_code: typed })}`, { headers: { 'Sec-Fetch-Site': 'same-origin', ...headers } })
  const page = await response.text()
  assert.equal(response.status, 200, page)
  const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
  const cookie = (response.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
  return { verifier: deviceCode, challenge: await challengeOf(deviceCode), state, cookie, response, page }
}

function poll(relay: RelayUnderTest, deviceCode: string, extra: Record<string, string> = {}): Promise<Response> {
  return relay.fetch('/token', { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, ...extra }) })
}

function exchangeForm(deviceCode: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: deviceCode }
}

/** A device flow up to Unity's callback: authorization, code entry, Continue, callback. */
async function signedInDevice(start: Start) {
  const relay = await start()
  const device = await authorizeDevice(relay)
  const opened = await enterCode(relay, device.user_code, device.device_code)
  const continued = await relay.decide(opened, 'continue')
  assert.equal(continued.status, 303)
  const callback = await relay.callback(opened, { code: CODE, state: opened.state })
  return { relay, device, opened, callback }
}

export const deviceCases = [
  contract('metadata: RFC 8414 document with the code and device grants, for a public client', async (start) => {
    const relay = await start({ env: { UNITY_SCOPE: 'api read', STATE_TTL_SECONDS: '900' } })
    const response = await relay.fetch('/.well-known/oauth-authorization-server')
    assert.equal(response.status, 200)
    assert.match(response.headers.get('Content-Type') ?? '', /^application\/json/)
    assert.deepEqual(await response.json(), {
      issuer: RELAY_ORIGIN,
      authorization_endpoint: `${RELAY_ORIGIN}/authorize`,
      token_endpoint: `${RELAY_ORIGIN}/token`,
      revocation_endpoint: `${RELAY_ORIGIN}/revoke`,
      revocation_endpoint_auth_methods_supported: ['none'],
      device_authorization_endpoint: `${RELAY_ORIGIN}/device_authorization`,
      grant_types_supported: ['authorization_code', DEVICE_CODE_GRANT, 'refresh_token'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['api', 'read'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'],
      relay_state_ttl_seconds: 900,
    })
  }),

  contract('metadata: behind REDIRECT_URI the issuer and endpoints are the public origin', async (start) => {
    const relay = await start({ env: { REDIRECT_URI: 'https://login.example.com/callback' } })
    const metadata = (await (await relay.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    assert.equal(metadata.issuer, 'https://login.example.com')
    assert.equal(metadata.device_authorization_endpoint, 'https://login.example.com/device_authorization')
    const device = await authorizeDevice(relay)
    assert.equal(device.verification_uri, 'https://login.example.com/device')
  }),

  contract('device_authorization: a fresh device code, its derived user code, and one device record', async (start) => {
    const relay = await start()
    const response = await relay.fetch('/device_authorization', { method: 'POST', headers: FORM, body: 'client_id=my-cli' })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('Cache-Control'), 'no-store')
    const device = (await response.json()) as DeviceAuthorization
    assert.deepEqual(Object.keys(device).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete'])
    assert.match(device.device_code, /^[A-Za-z0-9_-]{43}$/)
    const challenge = await challengeOf(device.device_code)
    assert.equal(device.user_code, await userCodeFor(challenge))
    assert.match(device.user_code, new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`))
    assert.equal(device.verification_uri, `${RELAY_ORIGIN}/device`)
    assert.equal(device.verification_uri_complete, `${RELAY_ORIGIN}/device?user_code=${device.user_code}`)
    assert.equal(device.expires_in, 600)
    assert.equal(device.interval, 5)
    const stored = (await relay.raw.getDevice(device.user_code.replace('-', ''))) as Record<string, unknown>
    assert.deepEqual(Object.keys(stored).sort(), ['cc', 'exp', 'iat', 'sc'], 'no place: the harness named none')
    assert.equal(stored.cc, challenge, 'the device code itself is never stored')
    assert.equal(stored.sc, 'api')
    assert.ok(Math.abs((stored.exp as number) - (Math.floor(Date.now() / 1000) + 600)) <= 2)
    assert.equal(JSON.stringify(stored).includes(device.device_code), false)
    assert.equal(await relay.raw.get(challenge), null, 'no flow record yet')
    const second = await authorizeDevice(relay)
    assert.notEqual(second.device_code, device.device_code)
    assert.ok(relay.logs.some((line) => line.includes('"client":"my-cli"')), 'client_id is logged for correlation')
    assert.equal(relay.logs.join('\n').includes(device.device_code), false)
  }),

  contract('device_authorization: a user code already in use draws a new device code; endless collisions are a 503', async (start) => {
    const drawn: string[] = []
    let collisions = 1
    const relay = await start({
      wrapStore: (store) => withOverrides(store, {
        saveDevice: async (userCode, record, ttl) => {
          drawn.push(record.cc)
          if (collisions > 0) return (collisions--, 'exists')
          return store.saveDevice(userCode, record, ttl)
        },
      }),
    })
    const device = await authorizeDevice(relay)
    assert.equal(drawn.length, 2)
    assert.notEqual(drawn[0], drawn[1])
    assert.equal(await challengeOf(device.device_code), drawn[1], 'the answer is the device code that was saved')
    collisions = Number.POSITIVE_INFINITY
    const refused = await relay.fetch('/device_authorization', { method: 'POST', headers: FORM, body: '' })
    await assertJsonError(refused, 503, 'temporarily_unavailable')
    assert.equal(drawn.length, 2 + 5, 'a bounded number of draws')
  }),

  contract('device_authorization: bad scope, repeated parameters and non-form bodies are 400s that store nothing', async (start) => {
    const relay = await start()
    const before = await relay.raw.count()
    const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
      relay.fetch('/device_authorization', { method: 'POST', headers: { 'Content-Type': contentType }, body })
    await assertJsonError(await post('scope=api%20%20read'), 400, 'invalid_scope')
    await assertJsonError(await post('scope=api%22'), 400, 'invalid_scope')
    await assertJsonError(await post('scope='), 400, 'invalid_scope')
    await assertJsonError(await post('scope=api&scope=api'), 400, 'invalid_request')
    await assertJsonError(await post('client_id=a&client_id=b'), 400, 'invalid_request')
    await assertJsonError(await post(`client_id=${'x'.repeat(65)}`), 400, 'invalid_request')
    await assertJsonError(await post('client_id=%0Ainjected'), 400, 'invalid_request')
    await assertJsonError(await post('{"scope":"api"}', 'application/json'), 400, 'invalid_request')
    await assertJsonError(await post('scope=api', 'text/plain'), 400, 'invalid_request')
    assert.equal(await relay.raw.count(), before)
  }),

  contract('device_authorization: a browser request from another site or a sibling site is refused with 403 JSON before its body is read, and stores nothing', async (start) => {
    const saves: string[] = []
    const relay = await start({
      wrapStore: (store) => withOverrides(store, {
        saveDevice: (userCode, record, ttl) => (saves.push(userCode), store.saveDevice(userCode, record, ttl)),
      }),
    })
    const before = await relay.raw.count()
    // What a page elsewhere can send with a no-cors fetch or a form, whose answer it cannot read. Each
    // body alone would be a 400 (a text/plain body, a bad scope): the 403 comes before the body is read.
    for (const [site, contentType, body] of [['cross-site', 'text/plain', 'scope=api'], ['same-site', FORM['Content-Type'], 'scope=%20%20']] as const) {
      const response = await relay.fetch('/device_authorization', { method: 'POST', headers: { 'Content-Type': contentType, 'Sec-Fetch-Site': site, Origin: 'https://popular.example' }, body })
      assert.equal(response.headers.get('Access-Control-Allow-Origin'), null, site)
      assert.match(String((await assertJsonError(response, 403, 'invalid_request')).error_description), /web page cannot start a device authorization/)
    }
    assert.deepEqual(saves, [], 'no device record written')
    assert.equal(await relay.raw.count(), before)
    assert.deepEqual(relay.logs.map((line) => JSON.parse(line) as unknown), [
      { level: 'warn', event: 'request.refused', error: 'cross_site_request', status: 403 },
      { level: 'warn', event: 'request.refused', error: 'cross_site_request', status: 403 },
    ])
    // A device sends no Fetch Metadata; a request the browser marks as the relay's own, or user-initiated, is no other site's.
    for (const headers of [FORM, { ...FORM, 'Sec-Fetch-Site': 'same-origin' }, { ...FORM, 'Sec-Fetch-Site': 'none' }]) await authorizeDevice(relay, {}, headers)
    assert.equal(saves.length, 3)
  }),

  contract('device: /device shows a labelled code field that posts to the relay only', async (start) => {
    const relay = await start()
    const response = await relay.fetch('/device')
    const page = await response.text()
    assert.equal(response.status, 200)
    assertPageHeaders(response, { formAction: "'self'" })
    assert.match(page, /<form method="get" action="\/device" class="entry">/)
    assert.match(page, /<label for="user_code">Code<\/label>/)
    const input = /<input id="user_code"[^>]*>/.exec(page)?.[0] ?? ''
    for (const attribute of ['name="user_code"', 'autofocus', 'autocomplete="one-time-code"', 'required']) assert.ok(input.includes(attribute), `${attribute} in ${input}`)
    assert.deepEqual(response.headers.getSetCookie(), [])
  }),

  contract('device: code entry ignores case, dashes and spaces, and shows the confirmation page for the device', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    const bare = device.user_code.replace('-', '')
    for (const typed of [device.user_code, device.user_code.toLowerCase(), bare.toLowerCase(), ` ${bare.slice(0, 2)} ${bare.slice(2, 6)}-${bare.slice(6)} `]) {
      const opened = await enterCode(relay, typed, device.device_code)
      assertPageHeaders(opened.response, { referrerPolicy: 'same-origin', formAction: "'self' https://unity.example.com" })
      assert.ok(opened.page.includes(`>${device.user_code}</div>`), typed)
      assert.match(opened.page, /A device asked to sign you in to Unity at <strong>unity\.example\.com<\/strong>/)
      assert.match(opened.page, /that device shows this code/)
      assert.equal(opened.response.headers.getSetCookie().length, 1, 'the binding cookie is set')
    }
  }),

  contract('device: an unknown, an expired and a malformed code get the same answer and no cookie', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    const unknown = [...device.user_code].map((char) => (char === '-' ? '-' : char === 'B' ? 'C' : 'B')).join('')
    const answers: string[] = []
    const ask = async (typed: string) => {
      const response = await relay.fetch(`/device?${new URLSearchParams({ user_code: typed })}`)
      const page = await response.text()
      assert.equal(response.status, 400, typed)
      assert.deepEqual(response.headers.getSetCookie(), [], typed)
      assert.equal(page.includes('name="state"'), false)
      answers.push(/<p class="problem" role="alert">([^<]*)<\/p>/.exec(page)?.[1] ?? `no problem shown for ${typed}`)
      assert.equal(page.includes('<script'), false)
    }
    for (const typed of [unknown, 'AEIO-UAEI', 'BCDF', `${device.user_code}X`, '<script>alert(1)</script>', 'x'.repeat(500)]) await ask(typed)
    relay.advance(601)
    await ask(device.user_code)
    assert.equal(new Set(answers).size, 1, answers.join(' | '))
    assert.match(answers[0] ?? '', /not valid, or it has expired/)
  }),

  contract('device: Continue goes to Unity with S256(device_code), and the done page says to return to the device', async (start) => {
    const { relay, device, callback } = await signedInDevice(start)
    const body = await callback.text()
    assert.equal(callback.status, 200, body)
    assert.match(body, /Return to your device/)
    const stored = (await relay.raw.get(await challengeOf(device.device_code))) as Record<string, unknown>
    assert.equal(stored.code, CODE)
  }),

  contract('device token: pending, then Unity\u2019s tokens once, then invalid_grant', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    await assertJsonError(await poll(relay, device.device_code), 400, 'authorization_pending')
    const opened = await enterCode(relay, device.user_code, device.device_code)
    await assertJsonError(await poll(relay, device.device_code), 400, 'authorization_pending')
    const continued = await relay.decide(opened, 'continue')
    assert.equal(new URL(continued.headers.get('Location') ?? '').searchParams.get('code_challenge'), opened.challenge)
    await relay.callback(opened, { code: CODE, state: opened.state })
    relay.unity.expectTokenCall(exchangeForm(device.device_code), { status: 200, body: TOKENS })
    const { payload } = await assertSealedTokens(relay, await poll(relay, device.device_code, { client_id: 'my-cli' }), TOKENS)
    assert.equal(payload.generation, 0)
    assert.equal(payload.scope, 'api')
    const again = await assertJsonError(await poll(relay, device.device_code), 400, 'invalid_grant')
    assert.match(String(again.error_description), /already picked up/)
  }),

  contract('device token: Cancel on the confirmation page answers access_denied', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    const opened = await enterCode(relay, device.user_code, device.device_code)
    const cancelled = await relay.decide(opened, 'cancel')
    assert.match(await cancelled.text(), /Nothing was shared with the device/)
    await assertJsonError(await poll(relay, device.device_code), 400, 'access_denied')
    assert.equal(relay.unity.calls.length, 0)
  }),

  contract('device token: expired_token once the device code has expired with no sign-in', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    relay.advance(599)
    await assertJsonError(await poll(relay, device.device_code), 400, 'authorization_pending')
    relay.advance(2)
    await assertJsonError(await poll(relay, device.device_code), 400, 'expired_token')
  }),

  contract('device token: a sign-in finished before expires_in is picked up after it, within CODE_TTL_SECONDS', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    const opened = await enterCode(relay, device.user_code, device.device_code)
    assert.equal((await relay.decide(opened, 'continue')).status, 303)
    relay.advance(device.expires_in - 10)
    const callback = await relay.callback(opened, { code: CODE, state: opened.state })
    assert.equal(callback.status, 200)
    // expires_in bounds the user's part; the finished sign-in waits for the device's next poll.
    relay.advance(20)
    relay.unity.expectTokenCall(exchangeForm(device.device_code), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await poll(relay, device.device_code), TOKENS)
  }),

  contract('device token: after expires_in a callback is refused (expired_state) and stores no code, and the poll answers expired_token', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    relay.advance(100)
    const opened = await enterCode(relay, device.user_code, device.device_code)
    const continued = await relay.decide(opened, 'continue')
    assert.equal(continued.status, 303)
    await assertJsonError(await poll(relay, device.device_code), 400, 'authorization_pending')
    // The user confirmed at 100 s but finishes at Unity only after the device code's 600 s.
    relay.advance(device.expires_in - 100)
    const late = await relay.callback(opened, { code: CODE, state: opened.state })
    await assertErrorPage(late, 400, 'expired_state')
    const stored = (await relay.raw.get(opened.challenge)) as Record<string, unknown> | null
    assert.equal(stored?.code, undefined, 'no code is kept for the device')
    await assertJsonError(await poll(relay, device.device_code), 400, 'expired_token')
    assert.equal(relay.unity.calls.length, 0)
  }),

  contract('device token: an unknown device code is expired_token, a malformed one invalid_request', async (start) => {
    const relay = await start()
    await assertJsonError(await poll(relay, 'A'.repeat(43)), 400, 'expired_token')
    await assertJsonError(await poll(relay, 'short'), 400, 'invalid_request')
    await assertJsonError(await poll(relay, `${'A'.repeat(42)}.`), 400, 'invalid_request')
    const both = await relay.fetch('/token', { method: 'POST', headers: FORM, body: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=${'A'.repeat(43)}&device_code=${'B'.repeat(43)}` })
    await assertJsonError(both, 400, 'invalid_request')
  }),

  contract('device token: a refusing limiter answers slow_down before the store is read', async (start) => {
    const keys: string[] = []
    const relay = await start({ limiters: { pickup: { limit: async ({ key }) => (keys.push(key), { success: false }) } } })
    const device = await authorizeDevice(relay)
    await assertJsonError(await poll(relay, device.device_code), 400, 'slow_down')
    assert.ok(keys.includes(await challengeOf(device.device_code)), 'limited per flow')
  }),

  contract('device: the confirmation for an expired device code has expired too', async (start) => {
    const relay = await start()
    const device = await authorizeDevice(relay)
    relay.advance(500)
    const opened = await enterCode(relay, device.user_code, device.device_code)
    relay.advance(101)
    await assertErrorPage(await relay.decide(opened, 'continue'), 400, 'expired_state')
  }),
]

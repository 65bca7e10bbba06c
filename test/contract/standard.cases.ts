/**
 * @module
 * Contract of the standard authorization code flow (RFC 6749 §4.1, RFC 7636, RFC 8252, RFC
 * 9207): an app sends the browser to /authorize with its redirect_uri, the relay's page, Unity,
 * the relay's code at the app's redirect URI, and the one exchange of that code at /token.
 */
import { strict as assert } from 'node:assert'
import { keyPair, oauth4webapiProof, oauth4webapiThumbprint } from '../support/dpop-proofs.ts'
import { assertErrorPage, assertJsonError, assertPageHeaders, assertSealedTokens, contract } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { RelayUnderTest } from './harness.ts'
import {
  APP_CLIENT,
  APP_REDIRECT,
  continued,
  exchange,
  landing,
  openStandard,
  requestAuthorization,
  sha256,
  signedInStandard,
  TOKENS,
  UNITY_CODE,
  unityExchange,
} from './standard-support.ts'

/** The relay state's payload, decoded on the app's side. */
function statePayload(state: string): unknown[] {
  const payload = state.split('.')[2] ?? ''
  const bytes = Uint8Array.from(atob(payload.replaceAll('-', '+').replaceAll('_', '/')), (char) => char.charCodeAt(0))
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown[]
}

function refresh(relay: RelayUnderTest, refreshToken: string): Promise<Response> {
  return relay.fetch('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  })
}

export const standardCases = [
  contract('standard: the happy path, from the app’s authorization request to tokens, with Unity’s code never reaching the app', async (start) => {
    const relay = await start()
    const records = await relay.raw.count()
    const opened = await openStandard(relay)
    // The page: no user code to compare, the app's own name as a claim, and where the sign-in returns.
    assertPageHeaders(opened.response, { referrerPolicy: 'same-origin', formAction: "'self' https://unity.example.com http://127.0.0.1:53123" })
    assert.match(opened.page, /An app that calls itself <strong>example-native-app<\/strong>/)
    assert.match(opened.page, /returns to <strong>an app on this computer \(port 53123\)<\/strong>/)
    assert.doesNotMatch(opened.page, /class="user-code"|name="pick"/, 'no code to compare or pick')
    assert.match(opened.page, /<html lang="en"><head>.*<script nonce="[^"]+">\(\(\) => \{\nconst QUIET_MS/s, 'the intent gate guards the buttons')
    assert.equal(await relay.raw.count(), records, 'opening the page stores nothing')
    const response = await relay.decide(opened, 'continue')
    assert.equal(response.status, 303)
    const unity = new URL(response.headers.get('Location') ?? '')
    assert.equal(`${unity.origin}${unity.pathname}`, 'https://unity.example.com/vu/public/api/oauth/authorize')
    assert.equal(unity.searchParams.get('redirect_uri'), `${RELAY_ORIGIN}/callback`, 'Unity sees only the relay’s callback')
    assert.equal(unity.searchParams.get('client_id'), 'relay-test', 'every app signs in as the relay’s one Unity client')
    assert.equal(unity.searchParams.get('code_challenge'), opened.challenge)
    assert.equal(unity.searchParams.get('state'), opened.state)

    const callback = await relay.callback(opened, { code: UNITY_CODE, state: opened.state })
    const landed = landing(callback)
    assert.deepEqual([...landed.params.keys()], ['code', 'state', 'iss'])
    const code = landed.params.get('code') ?? ''
    assert.match(code, /^[A-Za-z0-9_-]{43}$/, 'the relay’s own code: 32 random bytes')
    assert.notEqual(code, UNITY_CODE)
    assert.ok(!landed.location.includes(UNITY_CODE), 'Unity’s code never reaches the app')
    assert.equal(landed.params.get('state'), 'app-state-1')
    assert.equal(landed.params.get('iss'), RELAY_ORIGIN, 'RFC 9207: the relay’s issuer, as in its metadata')
    assert.match(callback.headers.getSetCookie().join(), /Max-Age=0/, 'the binding cookie is spent')
    const stored = (await relay.raw.get(opened.challenge)) as { exp: number }
    assert.deepEqual(stored, {
      code: UNITY_CODE,
      redirect_uri: `${RELAY_ORIGIN}/callback`,
      exp: stored.exp,
      app: { code_hash: await sha256(code), client_id: APP_CLIENT, redirect_uri: APP_REDIRECT },
    })
    assert.equal(stored.exp, relay.nowSeconds() + relay.config.codeTtlSeconds)
    assert.ok(!JSON.stringify(stored).includes(code), 'the store holds the relay code’s hash only')

    relay.unity.expectTokenCall(unityExchange(opened.verifier), { status: 200, body: TOKENS })
    const { payload } = await assertSealedTokens(relay, await exchange(relay, { code, verifier: opened.verifier }), TOKENS)
    assert.equal(payload.generation, 0)
    assert.deepEqual(await relay.raw.get(opened.challenge), { spent: true, exp: stored.exp, code_hash: await sha256(code), grant: payload.grantId })
    assert.ok(relay.logs.some((line) => line.includes('"event":"authorize.redirect"') && line.includes(`"client":"${APP_CLIENT}"`)), 'the client_id is logged, for correlation')
  }),

  contract('standard: then a refresh with the sealed token, as for a pickup', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    const { sealed } = await assertSealedTokens(relay, await exchange(relay, flow), TOKENS)
    const ROTATED = '{"access_token":"at-789","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-789","scope":"api"}'
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
  }),

  contract('standard: a code used twice is invalid_grant, and the grant issued for it is revoked (RFC 6749 §4.1.2)', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    const { sealed, payload } = await assertSealedTokens(relay, await exchange(relay, flow), TOKENS)
    const again = await assertJsonError(await exchange(relay, flow), 400, 'invalid_grant')
    assert.match(String(again.error_description), /used already/)
    assert.equal((await relay.raw.getGrant(payload.grantId) as { revoked?: true }).revoked, true, 'the grant is revoked')
    assert.ok(relay.logs.some((line) => line.includes('"event":"token.code_reused"') && line.includes(payload.grantId)))
    // The tokens the first use got stop refreshing; Unity is not asked.
    await assertJsonError(await refresh(relay, sealed), 400, 'invalid_grant')
    assert.equal(relay.unity.calls.length, 1)
  }),

  contract('standard: a spent flow presented with another code revokes nothing', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    const { payload } = await assertSealedTokens(relay, await exchange(relay, flow), TOKENS)
    await assertJsonError(await exchange(relay, { ...flow, code: 'A'.repeat(43) }), 400, 'invalid_grant')
    assert.equal((await relay.raw.getGrant(payload.grantId) as { revoked?: true }).revoked, undefined)
  }),

  contract('standard: the wrong redirect_uri, client_id, verifier or code at /token is invalid_grant and spends nothing', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    const before = await relay.raw.get(flow.challenge)
    const wrong: Array<Record<string, string>> = [
      { redirect_uri: 'http://127.0.0.1:53124/callback' }, // another port
      { redirect_uri: `${APP_REDIRECT}/` },
      { redirect_uri: 'http://localhost:53123/callback' }, // the same listener, another spelling: compared exactly
      { client_id: 'another-app' },
      { client_id: 'EXAMPLE-NATIVE-APP' },
      { code: flow.code.slice(0, -1) + (flow.code.endsWith('A') ? 'B' : 'A') },
      { code: UNITY_CODE }, // Unity's own code is not the relay's
    ]
    for (const fields of wrong) {
      await assertJsonError(await exchange(relay, flow, fields), 400, 'invalid_grant')
      assert.deepEqual(await relay.raw.get(flow.challenge), before, `nothing spent by ${JSON.stringify(fields)}`)
    }
    // Another verifier finds no flow at all (RFC 7636 §4.6).
    await assertJsonError(await exchange(relay, flow, { code_verifier: 'v'.repeat(43) }), 400, 'invalid_grant')
    await assertJsonError(await exchange(relay, flow, { redirect_uri: undefined }), 400, 'invalid_request')
    await assertJsonError(await exchange(relay, flow, { client_id: undefined }), 400, 'invalid_request')
    assert.deepEqual(await relay.raw.get(flow.challenge), before)
    assert.equal(relay.unity.calls.length, 0, 'Unity is never asked for a refused request')
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await exchange(relay, flow), TOKENS)
  }),

  contract('standard: a code from another client (injected into this app’s callback) does not exchange with this app’s verifier', async (start) => {
    const relay = await start()
    const mine = await signedInStandard(relay)
    const theirs = await signedInStandard(relay, { params: { client_id: 'other-app', redirect_uri: 'http://127.0.0.1:40000/cb' } })
    // RFC 9700 §4.5: the attacker's code, delivered to my redirect URI, meets my verifier.
    await assertJsonError(await exchange(relay, { code: theirs.code, verifier: mine.verifier }), 400, 'invalid_grant')
    await assertJsonError(await exchange(relay, { code: theirs.code, verifier: mine.verifier }, { client_id: 'other-app', redirect_uri: 'http://127.0.0.1:40000/cb' }), 400, 'invalid_grant')
    // And my code cannot be taken to the other app's client and redirect URI, even with my verifier.
    await assertJsonError(await exchange(relay, mine, { client_id: 'other-app', redirect_uri: 'http://127.0.0.1:40000/cb' }), 400, 'invalid_grant')
    relay.unity.expectTokenCall(unityExchange(mine.verifier), { status: 200, body: TOKENS })
    relay.unity.expectTokenCall(unityExchange(theirs.verifier), { status: 200, body: TOKENS })
    assert.equal((await exchange(relay, mine)).status, 200)
    assert.equal((await exchange(relay, theirs, { client_id: 'other-app', redirect_uri: 'http://127.0.0.1:40000/cb' })).status, 200)
  }),

  contract('standard: the pickup dialect (verifier, no code) is refused on a standard flow and consumes nothing', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    const before = await relay.raw.get(flow.challenge)
    // Whoever started the flow holds the verifier; the code went to the redirect URI (the phishing resistance).
    const refused = await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    assert.match(String(refused.error_description), /redirect_uri/)
    await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    assert.deepEqual(await relay.raw.get(flow.challenge), before)
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await exchange(relay, flow)).status, 200)
  }),

  contract('standard: a pickup’s record does not exchange as a standard code', async (start) => {
    const relay = await start()
    const flow = await relay.authorize()
    assert.equal((await relay.callback(flow, { code: UNITY_CODE, state: flow.state })).status, 200)
    const before = await relay.raw.get(flow.challenge)
    await assertJsonError(await exchange(relay, { code: UNITY_CODE, verifier: flow.verifier }), 400, 'invalid_grant')
    assert.deepEqual(await relay.raw.get(flow.challenge), before)
    // The pickup state itself is as it was: five members, nothing of a standard flow.
    assert.equal(statePayload(flow.state).length, 5)
  }),

  contract('standard: client credentials the app sends are ignored, never forwarded, and logged at debug without their value', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    // The strict stub fails on any form field or Authorization value the relay did not make itself.
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    const basic = `Basic ${btoa(`${APP_CLIENT}:app-secret-value`)}`
    const response = await exchange(relay, flow, { client_secret: 'form-secret-value' }, { headers: { Authorization: basic } })
    assert.equal(response.status, 200, await response.clone().text())
    assert.ok(relay.logs.some((line) => line.includes('"level":"debug"') && line.includes('token.client_credentials_ignored')))
    assert.ok(!relay.logs.join('\n').includes('secret-value'), 'no secret in any log line')
    assert.ok(!relay.unity.calls.some((call) => JSON.stringify(call).includes('secret-value')))
  }),

  contract('standard: a Basic header names the client when the form does not (RFC 6749 §2.3.1)', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    const basicFor = (id: string) => `Basic ${btoa(`${encodeURIComponent(id)}:whatever`)}`
    await assertJsonError(await exchange(relay, flow, { client_id: undefined }, { headers: { Authorization: basicFor('another-app') } }), 400, 'invalid_grant')
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await exchange(relay, flow, { client_id: undefined }, { headers: { Authorization: basicFor(APP_CLIENT) } })).status, 200)
  }),

  contract('standard: the relay code lives CODE_TTL_SECONDS', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    relay.advance(relay.config.codeTtlSeconds)
    await assertJsonError(await exchange(relay, flow), 400, 'invalid_grant')
  }),

  contract('standard: a DPoP proof binds the sealed refresh token, as for a pickup', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    const key = await keyPair('ES256')
    const proof = await oauth4webapiProof(key, { url: `${RELAY_ORIGIN}/token` })
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    const { payload } = await assertSealedTokens(relay, await exchange(relay, flow, {}, { headers: { DPoP: proof } }), TOKENS)
    assert.equal(payload.jkt, await oauth4webapiThumbprint(key))
  }),

  contract('standard: Unity’s error is redirected to the app with error, state and iss, and kept for the flow', async (start) => {
    const relay = await start()
    const flow = await continued(relay)
    const landed = landing(await relay.callback(flow, { error: 'access_denied', error_description: 'from <Unity>', state: flow.state }))
    assert.deepEqual([...landed.params.keys()], ['error', 'error_description', 'state', 'iss'])
    assert.equal(landed.params.get('error'), 'access_denied')
    assert.doesNotMatch(landed.params.get('error_description') ?? '', /Unity>/, 'the relay writes its own description')
    assert.equal(landed.params.get('state'), 'app-state-1')
    assert.equal(landed.params.get('iss'), RELAY_ORIGIN)
    const stored = (await relay.raw.get(flow.challenge)) as { error: string }
    assert.equal(stored.error, 'access_denied')
    // An error Unity may not send becomes server_error.
    const other = await continued(relay)
    assert.equal(landing(await relay.callback(other, { error: 'made_up', state: other.state })).params.get('error'), 'server_error')
  }),

  contract('standard: Cancel sends the app access_denied with state and iss (303), and ends the flow', async (start) => {
    const relay = await start()
    const opened = await openStandard(relay, { params: { state: 'cancel me' } })
    const response = await relay.decide(opened, 'cancel')
    const landed = landing(response)
    assert.equal(landed.params.get('error'), 'access_denied')
    assert.equal(landed.params.get('state'), 'cancel me')
    assert.equal(landed.params.get('iss'), RELAY_ORIGIN)
    assert.match(response.headers.getSetCookie().join(), /Max-Age=0/)
    assert.equal(((await relay.raw.get(opened.challenge)) as { error: string }).error, 'access_denied')
    // The first result is kept: a Continue from the same page afterwards finds the flow finished.
    await assertErrorPage(await relay.decide(opened, 'continue'), 409, 'flow_finished')
  }),

  contract('standard: CONFIRM_PAGE=never goes straight to Unity, and the callback still ends at the app', async (start) => {
    const relay = await start({ env: { CONFIRM_PAGE: 'never' } })
    const flow = await signedInStandard(relay)
    assert.equal(flow.response.status, 302)
    assert.equal(flow.landed.params.get('state'), 'app-state-1')
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await exchange(relay, flow)).status, 200)
  }),

  contract('standard: a drive-by from another site still meets the page, which sends the code only to the redirect URI', async (start) => {
    const relay = await start()
    const records = await relay.raw.count()
    // The victim is signed in at Unity, so Unity would approve at once: only the relay's page stands between.
    const { response } = await requestAuthorization(relay, { headers: { 'Sec-Fetch-Site': 'cross-site' } })
    assert.equal(response.status, 200, 'never a redirect to Unity without a press on the page')
    const page = await response.text()
    assert.match(page, /data-gate=""/, 'the intent gate guards Continue')
    assert.match(page, /If a web page, an email or a message sent you here, cancel/)
    assert.equal(await relay.raw.count(), records)
  }),

  contract('standard: the aliases at Unity’s paths, /api/oauth/authorize and /api/oauth/token, run the same flow', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay, { path: '/api/oauth/authorize' })
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await exchange(relay, flow, {}, { path: '/api/oauth/token' }), TOKENS)
    await assertJsonError(await exchange(relay, flow, {}, { path: '/api/oauth/token' }), 400, 'invalid_grant')
    const post = await relay.fetch('/api/oauth/authorize', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('Allow'), 'GET')
    const get = await relay.fetch('/api/oauth/token')
    assert.equal(get.status, 405)
    assert.equal(get.headers.get('Allow'), 'POST')
    // The alias answers a bad redirect_uri with the relay’s page, as /authorize does.
    const { response } = await requestAuthorization(relay, { path: '/api/oauth/authorize', params: { redirect_uri: 'ftp://x' } })
    await assertErrorPage(response, 400, 'invalid_redirect_uri')
  }),

  contract('standard: a DPoP proof for the alias names the alias (RFC 9449 §4.3 htu)', async (start) => {
    const relay = await start()
    const flow = await signedInStandard(relay)
    const key = await keyPair('ES256')
    const atToken = await oauth4webapiProof(key, { url: `${RELAY_ORIGIN}/token` })
    await assertJsonError(await exchange(relay, flow, {}, { path: '/api/oauth/token', headers: { DPoP: atToken } }), 400, 'invalid_dpop_proof')
    const atAlias = await oauth4webapiProof(key, { url: `${RELAY_ORIGIN}/api/oauth/token` })
    relay.unity.expectTokenCall(unityExchange(flow.verifier), { status: 200, body: TOKENS })
    assert.equal((await exchange(relay, flow, {}, { path: '/api/oauth/token', headers: { DPoP: atAlias } })).status, 200)
  }),

  contract('standard: metadata offers the code grant and iss; without any redirect URI allowed it does not; no OpenID discovery', async (start) => {
    const relay = await start()
    const metadata = (await (await relay.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    assert.equal(metadata.authorization_endpoint, `${RELAY_ORIGIN}/authorize`)
    assert.deepEqual(metadata.response_types_supported, ['code'])
    assert.ok((metadata.grant_types_supported as string[]).includes('authorization_code'))
    assert.equal(metadata.authorization_response_iss_parameter_supported, true)
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'])
    assert.equal((await relay.fetch('/.well-known/openid-configuration')).status, 404)
    const closed = await start({ env: { LOOPBACK_REDIRECTS: 'off' } })
    const none = (await (await closed.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    assert.equal(none.authorization_endpoint, undefined)
    assert.deepEqual(none.response_types_supported, [])
    assert.ok(!(none.grant_types_supported as string[]).includes('authorization_code'))
  }),
]

/**
 * @module
 * Contract of DPoP at `/token` (RFC 9449): proofs on every grant, the replay cache on every
 * store, refresh tokens bound to the app's key, REQUIRE_DPOP, CORS, and a standard client
 * (openid-client with `DPoP()`) doing the device flow and a refresh, unchanged.
 */
import { strict as assert } from 'node:assert'
import * as client from 'openid-client'
import { sha256Base64Url } from '../../src/base64url.ts'
import { DEVICE_CODE_GRANT } from '../../src/inputs.ts'
import { decodePart, keyPair, oauth4webapiProof, oauth4webapiThumbprint } from '../support/dpop-proofs.ts'
import { assertJsonError, assertSealedTokens, contract, sealedFor } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { RelayOptions, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'
const ROTATED = '{"access_token":"at-789","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-789","scope":"api"}'
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

/**
 * A relay on the real clock: proofs are made with the real time as `iat`, and the harness's
 * default clock stands still, so a slow case would see them as made in the future.
 */
function onRealTime(start: Start, options: RelayOptions = {}): Promise<RelayUnderTest> {
  return start({ clock: () => Date.now(), ...options })
}

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

/** POST /token with `form`, and `proofs` as DPoP headers (none, one, or several). */
function token(relay: RelayUnderTest, form: Record<string, string>, ...proofs: string[]): Promise<Response> {
  const headers = new Headers(FORM)
  for (const proof of proofs) headers.append('DPoP', proof)
  return relay.fetch('/token', { method: 'POST', headers, body: new URLSearchParams(form) })
}

function pickup(relay: RelayUnderTest, verifier: string, ...proofs: string[]): Promise<Response> {
  return token(relay, { grant_type: 'authorization_code', code_verifier: verifier }, ...proofs)
}

function refresh(relay: RelayUnderTest, refreshToken: string, ...proofs: string[]): Promise<Response> {
  return token(relay, { grant_type: 'refresh_token', refresh_token: refreshToken }, ...proofs)
}

/** The replay cache's key of a proof, worked out from the proof itself. */
async function proofKeyOf(proof: string): Promise<string> {
  const header = decodePart(proof, 0)
  const { jti } = decodePart(proof, 1)
  const jwk = header.jwk as Record<string, string>
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { e: jwk.e, kty: jwk.kty, n: jwk.n }
  return sha256Base64Url(`${await sha256Base64Url(JSON.stringify(members))}.${String(jti)}`)
}

/** A flow signed in at Unity, whose code waits for its pickup. */
async function signedIn(relay: RelayUnderTest) {
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  return flow
}

/** A login picked up with a proof of `pair`'s key: the app's bound sealed refresh token. */
async function boundPickup(start: Start, env: Record<string, string | undefined> = {}) {
  const relay = await onRealTime(start, { env })
  const app = await keyPair('ES256', 'app')
  const flow = await signedIn(relay)
  relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
  const proof = await oauth4webapiProof(app)
  const answer = await assertSealedTokens(relay, await pickup(relay, flow.verifier, proof), TOKENS)
  return { relay, app, flow, proof, ...answer }
}

/** A refusal that reached neither Unity (the strict stub) nor the store, with the given error. */
async function refusedWith(response: Response, error: 'invalid_grant' | 'invalid_dpop_proof', description?: RegExp): Promise<string> {
  const body = await assertJsonError(response, 400, error)
  if (description) assert.match(String(body.error_description), description)
  return String(body.error_description)
}

export const dpopCases = [
  contract('dpop: a pickup with a proof seals the refresh token bound to the proof\u2019s key, and remembers the proof until its window ends', async (start) => {
    const { relay, app, proof, payload, body } = await boundPickup(start)
    assert.equal(payload.jkt, await oauth4webapiThumbprint(app))
    assert.equal(body.token_type, 'Bearer', 'the access token is still Unity\u2019s bearer token')
    const { iat } = decodePart(proof, 1)
    assert.deepEqual(await relay.raw.getProof(await proofKeyOf(proof)), { proof: true, exp: Number(iat) + 60 })
  }),

  contract('dpop: a stolen bound refresh token is refused without a proof and with another key\u2019s, before Unity; with the app\u2019s key it refreshes and stays bound', async (start) => {
    const { relay, app, sealed, payload } = await boundPickup(start)
    const withoutProof = await refusedWith(await refresh(relay, sealed), 'invalid_grant', /bound to a DPoP key: send a DPoP proof made with it/)
    assert.equal(withoutProof.includes(payload.jkt ?? '-'), false, 'the description names no thumbprint')
    const thief = await keyPair('ES256', 'thief')
    const thiefProof = await oauth4webapiProof(thief)
    const otherKey = await refusedWith(await refresh(relay, sealed, thiefProof), 'invalid_grant', /bound to another DPoP key/)
    assert.equal(otherKey.includes(await oauth4webapiThumbprint(thief)), false)
    assert.equal(await relay.raw.getProof(await proofKeyOf(thiefProof)), null, 'a refused proof is not spent')
    assert.ok(relay.logs.some((line) => line.includes('"outcome":"dpop_proof_missing"')))
    assert.ok(relay.logs.some((line) => line.includes('"outcome":"dpop_key_mismatch"')))
    assert.equal(relay.logs.join('\n').includes(sealed), false)

    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const renewed = await assertSealedTokens(relay, await refresh(relay, sealed, await oauth4webapiProof(app)), ROTATED)
    assert.equal(renewed.payload.jkt, payload.jkt)
    assert.equal(renewed.payload.generation, 1)
    await refusedWith(await refresh(relay, renewed.sealed), 'invalid_grant', /bound to a DPoP key/)
  }),

  contract('dpop: a replayed proof (the same jti) is invalid_dpop_proof on a refresh and on a pickup, and the code stays for a fresh proof', async (start) => {
    const { relay, app, sealed, proof } = await boundPickup(start)
    await refusedWith(await refresh(relay, sealed, proof), 'invalid_dpop_proof', /used already/)

    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const fresh = await oauth4webapiProof(app)
    const renewed = await assertSealedTokens(relay, await refresh(relay, sealed, fresh), ROTATED)
    await refusedWith(await refresh(relay, renewed.sealed, fresh), 'invalid_dpop_proof', /used already/)

    const flow = await signedIn(relay)
    await refusedWith(await pickup(relay, flow.verifier, fresh), 'invalid_dpop_proof', /used already/)
    const kept = (await relay.raw.get(flow.challenge)) as Record<string, unknown>
    assert.equal(kept.code, CODE)
    assert.equal('lease' in kept, false, 'the claim was released')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await pickup(relay, flow.verifier, await oauth4webapiProof(app)), TOKENS)
  }),

  contract('dpop: a proof for another URL, another method, with a future iat, or two DPoP headers is invalid_dpop_proof before any store claim or Unity call', async (start) => {
    const { relay, app, sealed } = await boundPickup(start)
    const bad = {
      'another URL': await oauth4webapiProof(app, { url: 'https://elsewhere.example.com/token' }),
      'another path': await oauth4webapiProof(app, { url: `${RELAY_ORIGIN}/device_authorization` }),
      'another method': await oauth4webapiProof(app, { modify: (_header, payload) => void (payload.htm = 'GET') }),
      'a future iat': await oauth4webapiProof(app, { modify: (_header, payload) => void (payload.iat = Number(payload.iat) + 30) }),
      'an old iat': await oauth4webapiProof(app, { modify: (_header, payload) => void (payload.iat = Number(payload.iat) - 61) }),
      garbage: 'not-a-proof',
    }
    const flow = await signedIn(relay)
    const stored = await relay.raw.get(flow.challenge)
    for (const [name, proof] of Object.entries(bad)) {
      await refusedWith(await refresh(relay, sealed, proof), 'invalid_dpop_proof')
      await refusedWith(await pickup(relay, flow.verifier, proof), 'invalid_dpop_proof')
      assert.deepEqual(await relay.raw.get(flow.challenge), stored, `${name}: the code is untouched`)
    }
    const two = await refusedWith(await refresh(relay, sealed, await oauth4webapiProof(app), await oauth4webapiProof(app)), 'invalid_dpop_proof', /one DPoP header/)
    assert.equal(two.includes('eyJ'), false)
  }),

  contract('dpop: a bad proof is refused before the pickup limiter counts the poll', async (start) => {
    const keys: string[] = []
    const relay = await onRealTime(start, { limiters: { pickup: { limit: async ({ key }) => (keys.push(key), { success: true }) } } })
    const flow = await signedIn(relay)
    await refusedWith(await pickup(relay, flow.verifier, 'not-a-proof'), 'invalid_dpop_proof')
    assert.deepEqual(keys, [])
  }),

  contract('dpop: behind REDIRECT_URI the proof is for the public origin\u2019s /token, not the request\u2019s', async (start) => {
    const relay = await onRealTime(start, { env: { REDIRECT_URI: 'https://login.example.com/callback' } })
    const app = await keyPair('Ed25519', 'app')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const sealed = await sealedFor(relay, 'rt-456')
    await refusedWith(await refresh(relay, sealed, await oauth4webapiProof(app)), 'invalid_dpop_proof', /htu/)
    const renewed = await assertSealedTokens(relay, await refresh(relay, sealed, await oauth4webapiProof(app, { url: 'https://login.example.com/token' })), ROTATED)
    assert.equal(renewed.payload.jkt, await oauth4webapiThumbprint(app))
  }),

  contract('dpop: an unbound refresh token refreshed with a proof is bound to that key from then on (RFC 9449 §5)', async (start) => {
    const relay = await onRealTime(start)
    const app = await keyPair('ES256', 'app')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const renewed = await assertSealedTokens(relay, await refresh(relay, await sealedFor(relay, 'rt-456'), await oauth4webapiProof(app)), ROTATED)
    assert.equal(renewed.payload.jkt, await oauth4webapiThumbprint(app))
    await refusedWith(await refresh(relay, renewed.sealed), 'invalid_grant', /bound to a DPoP key/)
    await refusedWith(await refresh(relay, renewed.sealed, await oauth4webapiProof(await keyPair('ES256', 'thief'))), 'invalid_grant')
  }),

  contract('dpop: REQUIRE_DPOP=true refuses a pickup, a device poll and a refresh without a proof with invalid_dpop_proof; the code stays for a poll with one', async (start) => {
    const relay = await onRealTime(start, { env: { REQUIRE_DPOP: 'true' } })
    const app = await keyPair('ES256', 'app')
    const flow = await signedIn(relay)
    await refusedWith(await pickup(relay, flow.verifier), 'invalid_dpop_proof', /requires a DPoP proof/)
    await refusedWith(await token(relay, { grant_type: DEVICE_CODE_GRANT, device_code: flow.verifier }), 'invalid_dpop_proof', /requires a DPoP proof/)
    await refusedWith(await refresh(relay, await sealedFor(relay, 'rt-456')), 'invalid_dpop_proof', /requires a DPoP proof/)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const answer = await assertSealedTokens(relay, await pickup(relay, flow.verifier, await oauth4webapiProof(app)), TOKENS)
    assert.equal(answer.payload.jkt, await oauth4webapiThumbprint(app))
  }),

  contract('dpop: with REFRESH_TOKENS=passthrough proofs are still verified and spent, and Unity\u2019s answer comes back unchanged', async (start) => {
    const relay = await onRealTime(start, { env: { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined } })
    const app = await keyPair('ES256', 'app')
    const flow = await signedIn(relay)
    await refusedWith(await pickup(relay, flow.verifier, 'not-a-proof'), 'invalid_dpop_proof')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    const proof = await oauth4webapiProof(app)
    const answer = await pickup(relay, flow.verifier, proof)
    assert.equal(answer.status, 200)
    assert.equal(await answer.text(), TOKENS)
    await refusedWith(await refresh(relay, 'rt-456', proof), 'invalid_dpop_proof', /used already/)
  }),

  contract('dpop: the /token preflight allows the DPoP header (and Prefer) for allowlisted origins and exposes only Preference-Applied', async (start) => {
    const relay = await onRealTime(start)
    const preflight = await relay.fetch('/token', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'dpop, content-type' },
    })
    assert.equal(preflight.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    assert.deepEqual((preflight.headers.get('Access-Control-Allow-Headers') ?? '').split(/\s*,\s*/).map((name) => name.toLowerCase()).sort(), ['content-type', 'dpop', 'prefer'])
    assert.equal(preflight.headers.get('Access-Control-Expose-Headers'), 'Preference-Applied')
    const answer = await relay.fetch('/token', {
      method: 'POST',
      headers: { ...FORM, Origin: 'https://app.example.com' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code_verifier: 'x'.repeat(43) }),
    })
    assert.equal(answer.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    assert.equal(answer.headers.get('Access-Control-Expose-Headers'), 'Preference-Applied')
  }),

  contract('dpop: openid-client 6 with DPoP(), unchanged, signs in with the device flow and refreshes with its bound token', async (start) => {
    const relay = await onRealTime(start)
    const pair = await client.randomDPoPKeyPair('ES256')
    const config = new client.Configuration({ issuer: RELAY_ORIGIN, token_endpoint: `${RELAY_ORIGIN}/token`, device_authorization_endpoint: `${RELAY_ORIGIN}/device_authorization` }, 'openid-client-app')
    const seen: { url: string; dpop: string | null }[] = []
    // The in-process transport: every request openid-client makes goes to the relay under test. It
    // shortens the device flow's interval to 10 ms so the case does not wait 5 s before its first poll.
    config[client.customFetch] = async (url, init) => {
      seen.push({ url, dpop: new Headers(init.headers).get('dpop') })
      const response = await relay.fetch(new URL(url).pathname, init as RequestInit)
      if (new URL(url).pathname !== '/device_authorization') return response
      const body = (await response.json()) as Record<string, unknown>
      return new Response(JSON.stringify({ ...body, interval: 0.01 }), { status: response.status, headers: response.headers })
    }
    const DPoP = client.getDPoPHandle(config, pair)

    const device = await client.initiateDeviceAuthorization(config, { scope: 'api' })
    const entry = await relay.fetch(`/device?${new URLSearchParams({ user_code: device.user_code })}`, { headers: { 'Sec-Fetch-Site': 'same-origin' } })
    const page = await entry.text()
    assert.equal(entry.status, 200, page)
    const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
    const cookie = (entry.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
    const continued = await relay.decide({ verifier: device.device_code, challenge: '', state, cookie, response: entry, page }, 'continue')
    assert.equal(continued.status, 303, await continued.text())
    assert.equal((await relay.callback({ cookie }, { code: CODE, state })).status, 200)

    const body = '{"access_token":"at-dev","token_type":"bearer","expires_in":2592000,"refresh_token":"rt-dev","scope":"api"}'
    relay.unity.expectTokenCall(exchangeForm(device.device_code), { status: 200, body })
    const tokens = await client.pollDeviceAuthorizationGrant(config, device, undefined, { DPoP })
    assert.equal(tokens.access_token, 'at-dev')
    assert.equal(tokens.token_type, 'bearer')
    const sealed = String(tokens.refresh_token)
    const jkt = await DPoP.calculateThumbprint()

    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-dev' }, { status: 200, body: ROTATED })
    const refreshed = await client.refreshTokenGrant(config, sealed, undefined, { DPoP })
    assert.equal(refreshed.access_token, 'at-789')
    assert.notEqual(refreshed.refresh_token, sealed)

    const tokenRequests = seen.filter((request) => request.url.endsWith('/token'))
    assert.equal(tokenRequests.length, 2)
    for (const request of tokenRequests) assert.match(request.dpop ?? '', /^eyJ/, 'openid-client sent a proof on each token request')
    // A thief with the sealed token and openid-client, but another key, gets nothing.
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
    await assert.rejects(client.refreshTokenGrant(config, String(refreshed.refresh_token), undefined, { DPoP: thief }), (error: unknown) => (error as { error?: string }).error === 'invalid_grant')
    assert.notEqual(await thief.calculateThumbprint(), jkt)
  }),
]

/**
 * @module
 * Contract of sealed refresh tokens (REFRESH_TOKENS=sealed, the default): what a pickup hands
 * out, what a refresh sends Unity and answers, everything that must not open, key rotation, and
 * Unity answers the relay cannot seal.
 */
import { strict as assert } from 'node:assert'
import { importRefreshSealKeys, openRefreshToken } from '../../src/refresh-seal.ts'
import { keyPair, oauth4webapiProof, oauth4webapiThumbprint } from '../support/dpop-proofs.ts'
import { assertJsonError, assertSealedTokens, contract, recordGrant, sealedFor } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN, TEST_ENV } from './harness.ts'
import type { RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'
const ROTATED = '{"access_token":"at-789","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-789","scope":"api"}'
const SECRET_A = 'refresh-seal-secret-a-0123456789abcdef-aaaa'
const SECRET_B = 'refresh-seal-secret-b-0123456789abcdef-bbbb'
const SECRET_C = 'refresh-seal-secret-c-0123456789abcdef-cccc'

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

function refresh(relay: RelayUnderTest, refreshToken: string, extra: Record<string, string> = {}, proof?: string): Promise<Response> {
  return relay.fetch('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(proof === undefined ? {} : { DPoP: proof }) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }),
  })
}

/** A login picked up with Unity answering `body`; returns the app's sealed refresh token. */
async function pickedUp(start: Start, body = TOKENS, env: Record<string, string | undefined> = {}) {
  const relay = await start({ env })
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body })
  const answer = await assertSealedTokens(relay, await relay.pickup(flow.verifier), body)
  return { relay, flow, ...answer }
}

/** The refused refresh's description, checked to name no part of what was sent. */
async function refused(relay: RelayUnderTest, token: string, description: RegExp): Promise<void> {
  const body = await assertJsonError(await refresh(relay, token), 400, 'invalid_grant')
  const text = String(body.error_description)
  assert.match(text, description)
  for (const part of [token, token.slice(0, 12), token.slice(3, 11), token.slice(-16)]) if (part.length >= 6) assert.equal(text.includes(part), false, 'the description quotes the token')
}

/** `token` with the base64url character at `index` changed to another one. */
function flipped(token: string, index: number): string {
  const character = token[index] === 'A' ? 'B' : 'A'
  return token.slice(0, index) + character + token.slice(index + 1)
}

export const refreshCases = [
  contract('refresh: the sealed token reaches Unity as Unity\u2019s own and answers a new sealed token, the same grant one generation up', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    relay.advance(60)
    const first = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    assert.notEqual(first.sealed, sealed)
    assert.deepEqual(first.payload, { ...payload, unityRefreshToken: 'rt-789', generation: 1, issuedAt: payload.issuedAt + 60 })
    assert.equal(first.body.token_type, 'Bearer', 'token_type stays Unity\u2019s')

    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-789', scope: 'api' }, { status: 200, body: TOKENS })
    const second = await assertSealedTokens(relay, await refresh(relay, first.sealed, { scope: 'api' }), TOKENS)
    assert.equal(second.payload.grantId, payload.grantId)
    assert.equal(second.payload.generation, 2)
  }),

  contract('refresh: a token bound to a DPoP key, refreshed with a proof of that key, stays bound to it in the next generation', async (start) => {
    // The real clock, as the proof's iat is the real time.
    const relay = await start({ clock: () => Date.now() })
    const pair = await keyPair('ES256', 'app')
    const jkt = await oauth4webapiThumbprint(pair)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const renewed = await assertSealedTokens(relay, await refresh(relay, await sealedFor(relay, 'rt-456', { jkt, generation: 4 }), {}, await oauth4webapiProof(pair)), ROTATED)
    assert.equal(renewed.payload.jkt, jkt)
    assert.equal(renewed.payload.generation, 5)
  }),

  contract('refresh: Unity answering the same refresh token (legacy Spring) gets it sealed again, one generation up', async (start) => {
    const { relay, sealed } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    const again = await assertSealedTokens(relay, await refresh(relay, sealed), TOKENS)
    assert.equal(again.payload.generation, 1)
    assert.notEqual(again.sealed, sealed, 'a fresh IV and generation make a new token')
  }),

  contract('refresh: when Unity answers no refresh_token, the relay adds the one it used, sealed, and that one refreshes again', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    const withoutRefreshToken = '{"access_token":"at-789","token_type":"bearer","expires_in":2592000}'
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456', scope: 'api read' }, { status: 200, body: withoutRefreshToken })
    const renewed = await assertSealedTokens(relay, await refresh(relay, sealed, { scope: 'api read' }), withoutRefreshToken, 'rt-456')
    assert.deepEqual(renewed.payload, { ...payload, generation: 1, scope: 'api read' }, 'the scope asked for, when Unity does not say')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    assert.equal((await assertSealedTokens(relay, await refresh(relay, renewed.sealed), TOKENS)).payload.generation, 2)
  }),

  contract('refresh: a pickup whose answer has no refresh_token passes unchanged, and one without scope seals an unknown scope', async (start) => {
    const relay = await start()
    const bare = '{"access_token":"at-1","token_type":"bearer","expires_in":60}'
    const flow = await relay.authorize()
    await relay.callback(flow, { code: CODE, state: flow.state })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: bare })
    const response = await relay.pickup(flow.verifier)
    assert.equal(response.status, 200)
    assert.equal(await response.text(), bare)

    const { payload } = await pickedUp(start, '{"access_token":"at-2","token_type":"bearer","refresh_token":"rt-2"}')
    assert.equal(payload.scope, '')
  }),

  contract('refresh: every other byte of Unity\u2019s answer stays, escapes, odd numbers, nested refresh_token members and whitespace included', async (start) => {
    const unity = '{ "access_token" : "at-\\u00e9", "token_type":"bearer","expires_in":2592000.0,"x-ratio":1e3,\n"refresh_token"\t:\t"rt-\\u0041\\/b" , "nested":{"refresh_token":"inner"},"list":[{"refresh_token":1}],"scope":"api" }\n'
    const relay = await start()
    const flow = await relay.authorize()
    await relay.callback(flow, { code: CODE, state: flow.state })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: unity })
    const response = await relay.pickup(flow.verifier)
    const text = await response.text()
    assert.equal(response.status, 200, text)
    const sealed = String((JSON.parse(text) as Record<string, unknown>).refresh_token)
    assert.equal(text, unity.replace('"rt-\\u0041\\/b"', JSON.stringify(sealed)))
    const payload = await openRefreshToken(await importRefreshSealKeys(relay.config.refreshSealSecrets), sealed)
    assert.equal(payload.unityRefreshToken, 'rt-A/b')
  }),

  contract('refresh: a raw Unity refresh token, a truncated, a bit-flipped or a foreign-key sealed token is invalid_grant and never reaches Unity', async (start) => {
    const { relay, sealed } = await pickedUp(start)
    await refused(relay, 'rt-456', /not issued by this relay; a raw Unity refresh token is not accepted/)
    await refused(relay, '0f7d9c8e-1b2a-4c3d-9e8f-7a6b5c4d3e2f', /not issued by this relay/)
    await refused(relay, sealed.slice(0, 11), /not issued by this relay/)
    await refused(relay, `v2${sealed.slice(2)}`, /not issued by this relay/)
    for (const cut of [13, 30, 40, sealed.length - 22, sealed.length - 1]) await refused(relay, sealed.slice(0, cut), /damaged or forged/)
    for (const index of [12, 20, 29, sealed.length - 30, sealed.length - 2]) await refused(relay, flipped(sealed, index), /damaged or forged/)
    await refused(relay, flipped(sealed, 5), /key the relay no longer holds/)
    await refused(relay, `${sealed}A`, /damaged or forged/)

    const foreign = await start({ env: { REFRESH_SEAL_SECRET: SECRET_A } })
    await refused(relay, await sealedFor(foreign, 'rt-456'), /key the relay no longer holds/)
    const relabelled = (await sealedFor(foreign, 'rt-456')).replace(/^v1\.[^.]+\./, sealed.slice(0, 12))
    await refused(relay, relabelled, /damaged or forged/)
    assert.equal(relay.unity.calls.length, 1, 'only the pickup reached Unity')
    const lines = relay.logs.filter((line) => line.includes('token.refresh_refused')).map((line) => (JSON.parse(line) as { outcome: string }).outcome)
    assert.deepEqual(new Set(lines), new Set(['not_sealed', 'damaged', 'unknown_key']))
  }),

  contract('refresh: after a rotation, tokens sealed under REFRESH_SEAL_SECRET_PREVIOUS still open; after the next, they do not', async (start) => {
    const before = await pickedUp(start, TOKENS, { REFRESH_SEAL_SECRET: SECRET_A })
    const rotated = await start({ env: { REFRESH_SEAL_SECRET: SECRET_B, REFRESH_SEAL_SECRET_PREVIOUS: SECRET_A } })
    // On Deno every relay has a store of its own: the grant is copied, as one deployment's store would hold it.
    await recordGrant(rotated, before.payload)
    rotated.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const renewed = await assertSealedTokens(rotated, await refresh(rotated, before.sealed), ROTATED)
    assert.equal(renewed.payload.grantId, before.payload.grantId)
    const kids = async (secret: string) => (await importRefreshSealKeys([secret])).current.kid
    assert.equal(before.sealed.split('.')[1], await kids(SECRET_A))
    assert.equal(renewed.sealed.split('.')[1], await kids(SECRET_B), 'new tokens are sealed with the current key')

    const next = await start({ env: { REFRESH_SEAL_SECRET: SECRET_C, REFRESH_SEAL_SECRET_PREVIOUS: SECRET_B } })
    await recordGrant(next, renewed.payload)
    await refused(next, before.sealed, /sealed with a key the relay no longer holds/)
    next.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-789' }, { status: 200, body: ROTATED })
    await assertSealedTokens(next, await refresh(next, renewed.sealed), ROTATED)
  }),

  contract('refresh: Unity\u2019s refusal keeps its code, and an unreachable Unity is a 502 the app may retry with the same token', async (start) => {
    const { relay, sealed } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 400, body: '{"error":"invalid_grant","error_description":"Invalid refresh token: expired"}' })
    const body = await assertJsonError(await refresh(relay, sealed), 400, 'invalid_grant')
    assert.match(String(body.error_description), /^Unity refused the refresh token/)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, 'network-error')
    await assertJsonError(await refresh(relay, sealed), 502, 'temporarily_unavailable')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await refresh(relay, sealed), TOKENS)
  }),

  contract('refresh: an answer the relay cannot seal (two refresh_token members, one too long, not a string) is a 502 and the code stays for a retry', async (start) => {
    const answers = [
      '{"access_token":"at-1","token_type":"bearer","refresh_token":"rt-1","refresh_token":"rt-2"}',
      `{"access_token":"at-1","token_type":"bearer","refresh_token":"${'r'.repeat(3000)}"}`,
      '{"access_token":"at-1","token_type":"bearer","refresh_token":42}',
      '{"access_token":"at-1","token_type":"bearer","refresh_token":""}',
    ]
    for (const answer of answers) {
      const relay = await start()
      const flow = await relay.authorize()
      await relay.callback(flow, { code: CODE, state: flow.state })
      relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: answer })
      const body = await assertJsonError(await relay.pickup(flow.verifier), 502, 'server_error')
      assert.equal(JSON.stringify(body).includes('at-1'), false)
      assert.ok(((await relay.raw.get(flow.challenge)) as { code?: string }).code, 'the record is kept, as for any unreadable answer')
    }
    const { relay, sealed } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: answers[0]! })
    await assertJsonError(await refresh(relay, sealed), 502, 'server_error')
  }),

  contract('refresh: with REFRESH_TOKENS=passthrough no seal secret is needed and whatever the app sends goes to Unity as it is', async (start) => {
    const relay = await start({ env: { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined } })
    const lookalike = `v1.AbCdEfGh.${'A'.repeat(60)}`
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: lookalike }, { status: 200, body: TOKENS })
    const response = await refresh(relay, lookalike)
    assert.equal(response.status, 200)
    assert.equal(await response.text(), TOKENS)
    assert.equal(relay.logs.length, 0, 'passthrough refreshes log nothing, as before')
    assert.equal(TEST_ENV.REFRESH_TOKENS, undefined, 'the other cases run the default, sealed')
  }),
]

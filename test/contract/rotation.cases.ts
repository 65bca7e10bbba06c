/**
 * @module
 * Contract of refresh grants (RFC 9700 §4.14.2, RFC 7009): rotation and its record, reuse
 * detection past the grace window, one Unity call for concurrent refreshes, the grant lifetime,
 * and `POST /revoke`. Workers KV does not rotate (`store.rotation` is `unenforced`): there every
 * generation of a live grant refreshes, and only expiry and revocation apply.
 */
import { strict as assert } from 'node:assert'
import { assertJsonError, assertSealedTokens, contract } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { RelayOptions, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-0123456789'
const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'
const ROTATED = '{"access_token":"at-789","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-789","scope":"api"}'
const AGAIN = '{"access_token":"at-999","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-999","scope":"api"}'
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }

function refresh(relay: RelayUnderTest, refreshToken: string): Promise<Response> {
  return relay.fetch('/token', { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }) })
}

function revoke(relay: RelayUnderTest, body: string, headers: Record<string, string> = FORM): Promise<Response> {
  return relay.fetch('/revoke', { method: 'POST', headers, body })
}

/** A login picked up: the relay, its sealed generation-0 token and what it opened to. */
async function pickedUp(start: Start, options: RelayOptions = {}) {
  const relay = await start(options)
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: flow.verifier }, { status: 200, body: TOKENS })
  const answer = await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  return { relay, ...answer }
}

/** The refresh is `invalid_grant` with a description matching `description`, and Unity is not asked. */
async function refusedGrant(relay: RelayUnderTest, token: string, description: RegExp): Promise<void> {
  const before = relay.unity.calls.length
  const body = await assertJsonError(await refresh(relay, token), 400, 'invalid_grant')
  assert.match(String(body.error_description), description)
  assert.equal(relay.unity.calls.length, before, 'no call to Unity')
}

function logLines(relay: RelayUnderTest, event: string): Record<string, unknown>[] {
  return relay.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event)
}

/** A Unity whose replies can be held back: `hold` returns once the first held call has arrived. */
function holdableUnity() {
  let gate: Promise<void> | undefined
  let arrived: (() => void) | undefined
  const wrapFetch = (fetch: typeof globalThis.fetch): typeof globalThis.fetch => async (input, init) => {
    arrived?.()
    if (gate) await gate
    return fetch(input, init)
  }
  const hold = () => {
    let release!: () => void
    gate = new Promise<void>((resolve) => (release = resolve))
    const first = new Promise<void>((resolve) => (arrived = resolve))
    return { first, release }
  }
  return { wrapFetch, hold }
}

export const rotationCases = [
  contract('rotation: generation 1 refreshes and the grant record moves with it; it holds no token', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    assert.deepEqual(await relay.raw.getGrant(payload.grantId), { generation: 0, exp: payload.issuedAt + 7_776_000, rotatedAt: payload.issuedAt })
    relay.advance(60)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const first = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    assert.equal(first.payload.generation, 1)
    relay.advance(60)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-789' }, { status: 200, body: AGAIN })
    const second = await assertSealedTokens(relay, await refresh(relay, first.sealed), AGAIN)
    assert.equal(second.payload.generation, 2)
    const record = await relay.raw.getGrant(payload.grantId)
    if (relay.store.rotation === 'enforced') {
      assert.deepEqual(record, { generation: 2, exp: payload.issuedAt + 7_776_000, rotatedAt: payload.issuedAt + 120 })
    } else {
      assert.deepEqual(record, { generation: 0, exp: payload.issuedAt + 7_776_000, rotatedAt: payload.issuedAt }, 'Workers KV writes nothing at a refresh')
    }
    assert.equal(JSON.stringify(record).includes('rt-'), false)
  }),

  contract('rotation: generation 0 after generation 1, past the grace window, revokes the whole grant, generation 1 included (Workers KV: both refresh)', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const next = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    relay.advance(11)
    if (relay.store.rotation === 'unenforced') {
      relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: AGAIN })
      await assertSealedTokens(relay, await refresh(relay, sealed), AGAIN)
      relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-789' }, { status: 200, body: AGAIN })
      await assertSealedTokens(relay, await refresh(relay, next.sealed), AGAIN)
      return
    }
    await refusedGrant(relay, sealed, /already been replaced by a newer one, so the relay revoked the sign-in/)
    assert.deepEqual(logLines(relay, 'token.refresh_reused'), [{ level: 'warn', event: 'token.refresh_reused', error: 'invalid_grant', outcome: 'reused', grant: payload.grantId }])
    await refusedGrant(relay, next.sealed, /was revoked/)
    await refusedGrant(relay, sealed, /was revoked/)
    assert.deepEqual(await relay.raw.getGrant(payload.grantId), { generation: 1, exp: payload.issuedAt + 7_776_000, rotatedAt: payload.issuedAt, revoked: true })
    for (const line of relay.logs) assert.equal(line.includes('rt-') || line.includes(sealed.slice(12, 40)), false, 'no token in a log line')
  }),

  contract('rotation: two refreshes of one generation at once make one Unity call and get the same answer; nothing is revoked (Workers KV: two calls)', async (start) => {
    const unity = holdableUnity()
    const { relay, sealed, payload } = await pickedUp(start, { wrapFetch: unity.wrapFetch })
    const concurrent = relay.store.rotation === 'enforced' ? 1 : 2
    for (let call = 0; call < concurrent; call++) relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const held = unity.hold()
    const both = Promise.all([refresh(relay, sealed), refresh(relay, sealed)])
    await held.first
    // Unity holds the first call's answer while the second refresh reaches the store.
    await new Promise((resolve) => setTimeout(resolve, 50))
    held.release()
    const responses = await both
    const [a, b] = await Promise.all(responses.map((response) => assertSealedTokens(relay, response, ROTATED)))
    assert.equal(a!.body.access_token, 'at-789')
    assert.equal(b!.body.access_token, 'at-789')
    assert.equal(a!.payload.generation, 1)
    assert.equal(b!.payload.generation, 1)
    if (relay.store.rotation === 'enforced') {
      assert.equal(a!.sealed, b!.sealed, 'one answer for both')
      relay.advance(5)
      const late = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
      assert.equal(late.sealed, a!.sealed, 'the previous generation within the grace gets the same answer, without a Unity call')
      assert.deepEqual(await relay.raw.getGrant(payload.grantId), { generation: 1, exp: payload.issuedAt + 7_776_000, rotatedAt: payload.issuedAt })
    }
    assert.deepEqual(logLines(relay, 'token.refresh_reused'), [])
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-789' }, { status: 200, body: AGAIN })
    await assertSealedTokens(relay, await refresh(relay, a!.sealed), AGAIN)
  }),

  contract('rotation: a refresh Unity refuses or cannot answer leaves the generation where it was, and the retry asks Unity again', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, 'network-error')
    await assertJsonError(await refresh(relay, sealed), 502, 'temporarily_unavailable')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    if (relay.store.rotation === 'enforced') assert.equal(((await relay.raw.getGrant(payload.grantId)) as { generation: number }).generation, 1)
  }),

  contract('grant lifetime: a grant refreshes until REFRESH_GRANT_TTL_SECONDS after its pickup, then is invalid_grant without a Unity call', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start, { env: { REFRESH_GRANT_TTL_SECONDS: '3600' } })
    assert.equal(((await relay.raw.getGrant(payload.grantId)) as { exp: number }).exp, payload.issuedAt + 3600)
    relay.advance(3599)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const next = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    relay.advance(1)
    await refusedGrant(relay, next.sealed, /has ended/)
    assert.deepEqual(logLines(relay, 'token.refresh_refused').map((line) => line.outcome), ['unknown'])
  }),

  contract('revoke: POST /revoke with a sealed token is 200 with an empty body, and no generation of its grant refreshes again', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    const next = await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
    const response = await revoke(relay, new URLSearchParams({ token: sealed, token_type_hint: 'refresh_token' }).toString())
    assert.equal(response.status, 200)
    assert.equal(await response.text(), '')
    assert.equal(response.headers.get('Cache-Control'), 'no-store')
    assert.deepEqual(((await relay.raw.getGrant(payload.grantId)) as { revoked?: boolean }).revoked, true)
    await refusedGrant(relay, next.sealed, /was revoked/)
    await refusedGrant(relay, sealed, /was revoked/)
    assert.equal((await revoke(relay, `token=${next.sealed}`)).status, 200, 'revoking again is still 200')
    assert.deepEqual(logLines(relay, 'token.revoked').map((line) => line.grant), [payload.grantId, payload.grantId])
  }),

  contract('revoke: a token the relay cannot open is 200 and changes nothing (RFC 7009 §2.2); a malformed request is 400; other methods 405', async (start) => {
    const { relay, sealed, payload } = await pickedUp(start)
    for (const token of ['rt-456', 'garbage', `${sealed.slice(0, -2)}AA`, `v1.AbCdEfGh.${'A'.repeat(60)}`]) {
      const response = await revoke(relay, new URLSearchParams({ token }).toString())
      assert.equal(response.status, 200)
      assert.equal(await response.text(), '')
    }
    assert.equal(((await relay.raw.getGrant(payload.grantId)) as { revoked?: boolean }).revoked, undefined)
    await assertJsonError(await revoke(relay, ''), 400, 'invalid_request')
    await assertJsonError(await revoke(relay, 'token='), 400, 'invalid_request')
    await assertJsonError(await revoke(relay, `token=${'a'.repeat(4097)}`), 400, 'invalid_request')
    await assertJsonError(await revoke(relay, `token=${sealed}&token=${sealed}`), 400, 'invalid_request')
    await assertJsonError(await revoke(relay, `token=${sealed}&token_type_hint=a&token_type_hint=b`), 400, 'invalid_request')
    await assertJsonError(await revoke(relay, JSON.stringify({ token: sealed }), { 'Content-Type': 'application/json' }), 400, 'invalid_request')
    assert.equal(((await relay.raw.getGrant(payload.grantId)) as { revoked?: boolean }).revoked, undefined, 'a malformed request revokes nothing')
    const get = await relay.fetch(`/revoke?token=${sealed}`)
    await assertJsonError(get, 405, 'invalid_request')
    assert.equal(get.headers.get('Allow'), 'POST')
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-456' }, { status: 200, body: ROTATED })
    await assertSealedTokens(relay, await refresh(relay, sealed), ROTATED)
  }),

  contract('revoke: CORS like /token for allowlisted origins; with REFRESH_TOKENS=passthrough it is unsupported_token_type and not in the metadata', async (start) => {
    const relay = await start()
    const preflight = await relay.fetch('/revoke', { method: 'OPTIONS', headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' } })
    assert.equal(preflight.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    const cross = await revoke(relay, 'token=garbage', { ...FORM, Origin: 'https://app.example.com' })
    assert.equal(cross.status, 200)
    assert.equal(cross.headers.get('Access-Control-Allow-Origin'), 'https://app.example.com')
    const other = await revoke(relay, 'token=garbage', { ...FORM, Origin: 'https://evil.example' })
    assert.equal(other.headers.get('Access-Control-Allow-Origin'), null)

    const passthrough = await start({ env: { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined } })
    await assertJsonError(await revoke(passthrough, 'token=rt-456'), 400, 'unsupported_token_type')
    const metadata = (await (await passthrough.fetch('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    assert.equal(metadata.revocation_endpoint, undefined)
    assert.equal(metadata.revocation_endpoint_auth_methods_supported, undefined)
  }),

  contract('revoke: counted by the token limiter per client address', async (start) => {
    const keys: string[] = []
    const relay = await start({ limiters: { token: { limit: async ({ key }) => (keys.push(key), { success: keys.length < 2 }) } } })
    assert.equal((await revoke(relay, 'token=garbage', { ...FORM, 'X-Test-Peer': '198.51.100.7' })).status, 200)
    await assertJsonError(await revoke(relay, 'token=garbage', { ...FORM, 'X-Test-Peer': '198.51.100.7' }), 429, 'temporarily_unavailable')
    assert.deepEqual(keys, ['198.51.100.7', '198.51.100.7'])
  }),
]

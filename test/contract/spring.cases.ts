/**
 * @module
 * Unity as legacy Spring Security OAuth 2.x answers by default: the client-authentication entry
 * point's 401 `unauthorized`, the form filter's `invalid_client`, `invalid_grant` descriptions
 * that quote the code or refresh token, `invalid_token` for an expired refresh token, "Redirect URI
 * mismatch.", Spring Boot's whitelabel page and chunked answers. The app gets the relay's words,
 * never Unity's, and a credentials refusal blames the relay's settings.
 */
import { strict as assert } from 'node:assert'
import { assertJsonError, assertSealedTokens, contract } from './define.ts'
import type { Start } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { RelayUnderTest } from './harness.ts'
import type { StubReply } from '../support/unity-stub.ts'

const CODE = 'spring-code-Ab12Cd'
const UNITY_REFRESH = 'spring-rt-7f3e9a1c-5b2d-4e8f-9a0b-1c2d3e4f5a6b'
const TOKENS = `{"access_token":"spring-at-1","token_type":"bearer","refresh_token":"${UNITY_REFRESH}","expires_in":43199,"scope":"api"}`

/** Spring's OAuth2AuthenticationEntryPoint on /oauth/token: Basic, realm oauth2/client (AuthorizationServerSecurityConfigurer). */
const ENTRY_POINT_401: StubReply = {
  status: 401,
  body: '{"error":"unauthorized","error_description":"Full authentication is required to access this resource"}',
  headers: {
    'Content-Type': 'application/json;charset=UTF-8',
    'WWW-Authenticate': 'Basic realm="oauth2/client", error="unauthorized", error_description="Full authentication is required to access this resource"',
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  },
}

/** ClientCredentialsTokenEndpointFilter (form client authentication) with a wrong secret. */
const BAD_CLIENT_CREDENTIALS: StubReply = {
  status: 401,
  body: '{"error":"invalid_client","error_description":"Bad client credentials"}',
  headers: { 'Content-Type': 'application/json;charset=UTF-8', 'WWW-Authenticate': 'Bearer error="invalid_client", error_description="Bad client credentials"' },
}

/** Spring Boot's fallback page for a path it has no mapping for (a wrong UNITY_URL). */
const WHITELABEL_404: StubReply = {
  status: 404,
  body: "<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p><div id='created'>Thu Dec 03 12:00:00 UTC 2026</div><div>There was an unexpected error (type=Not Found, status=404).</div><div>No message available</div></body></html>",
  headers: { 'Content-Type': 'text/html;charset=UTF-8', 'Content-Language': 'en' },
}

/** RandomValueAuthorizationCodeServices: the code quoted back. */
const invalidCode = (code: string): StubReply => ({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: `Invalid authorization code: ${code}` }), headers: { 'Content-Type': 'application/json;charset=UTF-8' } })

/** DefaultTokenServices: an unknown refresh token quoted back. */
const invalidRefresh = (token: string): Exclude<StubReply, string> => ({ status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: `Invalid refresh token: ${token}` }), headers: { 'Content-Type': 'application/json;charset=UTF-8' } })

/** DefaultTokenServices: an expired refresh token, a 401 `invalid_token` quoting it in the body and the header. */
const expiredRefresh = (token: string): StubReply => ({
  status: 401,
  body: JSON.stringify({ error: 'invalid_token', error_description: `Invalid refresh token (expired): ${token}` }),
  headers: { 'Content-Type': 'application/json;charset=UTF-8', 'WWW-Authenticate': `Bearer error="invalid_token", error_description="Invalid refresh token (expired): ${token}"` },
})

/** AuthorizationCodeTokenGranter: the redirect_uri differs from the authorization request's. */
const REDIRECT_MISMATCH: StubReply = { status: 400, body: '{"error":"invalid_grant","error_description":"Redirect URI mismatch."}', headers: { 'Content-Type': 'application/json;charset=UTF-8' } }

function exchangeForm(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

async function signedIn(start: Start, env: Record<string, string | undefined> = {}) {
  const relay = await start({ env })
  const flow = await relay.authorize()
  assert.equal((await relay.callback(flow, { code: CODE, state: flow.state })).status, 200)
  return { relay, flow }
}

function refresh(relay: RelayUnderTest, refreshToken: string): Promise<Response> {
  return relay.fetch('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  })
}

/** A sign-in picked up with Spring's answer: the app's sealed refresh token. */
async function pickedUp(start: Start) {
  const { relay, flow } = await signedIn(start)
  relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
  const { sealed } = await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  return { relay, sealed }
}

/** Asserts the whole answer (status line, every header, body) holds none of `secrets`; returns its text. */
async function assertNoEcho(response: Response, secrets: readonly string[]): Promise<string> {
  const text = await response.clone().text()
  const whole = [response.statusText, ...[...response.headers].map(([name, value]) => `${name}: ${value}`), text].join('\n')
  for (const secret of secrets) assert.equal(whole.includes(secret), false, `the answer quotes what the relay sent Unity: ${whole.slice(0, 300)}`)
  return text
}

/** The relay's log lines with event `event`, parsed. */
function linesOf(relay: RelayUnderTest, event: string): Array<Record<string, unknown>> {
  return relay.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === event)
}

/** A 502 `server_error` that names the relay's client credentials and the operator, in the relay's words. */
async function assertCredentialsRefused(response: Response, secrets: readonly string[]): Promise<void> {
  await assertNoEcho(response, secrets)
  const body = await assertJsonError(response, 502, 'server_error')
  const description = String(body.error_description)
  assert.match(description, /refused the relay’s client credentials/)
  assert.match(description, /operator/)
  assert.doesNotMatch(description, /Full authentication|Bad client credentials/)
  assert.equal(response.headers.get('WWW-Authenticate'), null, 'the app is not asked to authenticate')
}

export const springCases = [
  contract('spring: the entry point’s 401 unauthorized is a 502 server_error naming the relay’s credentials, the code stays, and one log line a minute names the settings', async (start) => {
    const { relay, flow } = await signedIn(start)
    for (let i = 0; i < 3; i++) {
      relay.unity.expectTokenCall(exchangeForm(flow.verifier), ENTRY_POINT_401)
      await assertCredentialsRefused(await relay.pickup(flow.verifier), [CODE])
      const record = (await relay.raw.get(flow.challenge)) as { code?: string; spent?: boolean } | null
      assert.equal(record?.code, CODE, 'Unity checks the client before the code: the code stays for a retry after the fix')
    }
    const lines = linesOf(relay, 'unity.refused_relay')
    assert.deepEqual(lines, [{ level: 'error', event: 'unity.refused_relay', settings: ['UNITY_CLIENT_ID', 'UNITY_CLIENT_SECRET', 'UNITY_TOKEN_AUTH'], status: 401, error: 'unauthorized' }])
    assert.equal(linesOf(relay, 'request.failed').length, 0, 'no line per pickup')
    relay.advance(61)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), ENTRY_POINT_401)
    await assertCredentialsRefused(await relay.pickup(flow.verifier), [CODE])
    assert.deepEqual(linesOf(relay, 'unity.refused_relay_unlogged'), [{ level: 'error', event: 'unity.refused_relay_unlogged', count: 2 }])
    assert.equal(linesOf(relay, 'unity.refused_relay').length, 2, 'a new minute, a new line')
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
  }),

  contract('spring: the form filter’s invalid_client (client_secret_post) is the same 502, never a 401 that blames the app', async (start) => {
    const { relay, flow } = await signedIn(start, { UNITY_TOKEN_AUTH: 'client_secret_post' })
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), BAD_CLIENT_CREDENTIALS)
    await assertCredentialsRefused(await relay.pickup(flow.verifier), [CODE])
    assert.equal(linesOf(relay, 'unity.refused_relay')[0]?.error, 'invalid_client')
  }),

  contract('spring: a refresh refused for the relay’s credentials is the same 502, and the grant does not move on', async (start) => {
    const { relay, sealed } = await pickedUp(start)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, ENTRY_POINT_401)
    await assertCredentialsRefused(await refresh(relay, sealed), [UNITY_REFRESH, sealed])
    assert.equal(linesOf(relay, 'unity.refused_relay').length, 1)
    relay.advance(30)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, { status: 200, body: TOKENS })
    await assertSealedTokens(relay, await refresh(relay, sealed), TOKENS)
  }),

  contract('spring: under passthrough a refused refresh is the same 502 and Unity’s token is not quoted', async (start) => {
    const relay = await start({ env: { REFRESH_TOKENS: 'passthrough', REFRESH_SEAL_SECRET: undefined } })
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, BAD_CLIENT_CREDENTIALS)
    await assertCredentialsRefused(await refresh(relay, UNITY_REFRESH), [])
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, invalidRefresh(UNITY_REFRESH))
    const response = await refresh(relay, UNITY_REFRESH)
    await assertNoEcho(response, [UNITY_REFRESH])
    await assertJsonError(response, 400, 'invalid_grant')
  }),

  contract('spring: "Invalid authorization code: …" keeps invalid_grant, in the relay’s words, and leaves a tombstone', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), invalidCode(CODE))
    const response = await relay.pickup(flow.verifier)
    await assertNoEcho(response, [CODE, 'Ab12Cd'])
    const body = await assertJsonError(response, 400, 'invalid_grant')
    assert.match(String(body.error_description), /^Unity refused the authorization code/)
    assert.deepEqual(Object.keys((await relay.raw.get(flow.challenge)) as object).sort(), ['exp', 'spent'])
  }),

  contract('spring: "Invalid refresh token: …" and the expired token’s 401 invalid_token are invalid_grant, quoting no token, and not a credentials refusal', async (start) => {
    const { relay, sealed } = await pickedUp(start)
    for (const reply of [invalidRefresh(UNITY_REFRESH), expiredRefresh(UNITY_REFRESH)]) {
      relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, reply)
      const response = await refresh(relay, sealed)
      await assertNoEcho(response, [UNITY_REFRESH, UNITY_REFRESH.slice(10, 30), sealed])
      const body = await assertJsonError(response, 400, 'invalid_grant')
      assert.match(String(body.error_description), /^Unity refused the refresh token/)
      assert.equal(response.headers.get('WWW-Authenticate'), null)
    }
    assert.equal(linesOf(relay, 'unity.refused_relay').length, 0)
    assert.equal(relay.logs.some((line) => line.includes(UNITY_REFRESH)), false, 'no log line quotes the token')
  }),

  contract('spring: "Redirect URI mismatch." is invalid_grant that points the operator at REDIRECT_URI', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), REDIRECT_MISMATCH)
    const body = await assertJsonError(await relay.pickup(flow.verifier), 400, 'invalid_grant')
    assert.match(String(body.error_description), /redirect URI differs.*REDIRECT_URI/)
    assert.doesNotMatch(String(body.error_description), /Redirect URI mismatch\./)
  }),

  contract('spring: the whitelabel 404 page is a 502 server_error that names UNITY_URL, and the code stays', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), WHITELABEL_404)
    const response = await relay.pickup(flow.verifier)
    const text = await assertNoEcho(response, [CODE])
    assert.doesNotMatch(text, /Whitelabel|<html/)
    const body = await assertJsonError(response, 502, 'server_error')
    assert.match(String(body.error_description), /404 without an OAuth error.*UNITY_URL/)
    assert.equal(((await relay.raw.get(flow.challenge)) as { code?: string }).code, CODE)
  }),

  contract('spring: a chunked answer without Content-Length is read whole: tokens, and an error in the relay’s words', async (start) => {
    const { relay, flow } = await signedIn(start)
    relay.unity.expectTokenCall(exchangeForm(flow.verifier), { status: 200, body: TOKENS, headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Transfer-Encoding': 'chunked' }, chunked: true })
    const { sealed } = await assertSealedTokens(relay, await relay.pickup(flow.verifier), TOKENS)
    const quoted = { ...invalidRefresh(`${UNITY_REFRESH} – é`), chunked: true }
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, quoted)
    const response = await refresh(relay, sealed)
    await assertNoEcho(response, [UNITY_REFRESH])
    await assertJsonError(response, 400, 'invalid_grant')
  }),

  contract('spring: no answer of Unity’s, whatever its shape, carries the code or refresh token the relay sent it back to the app', async (start) => {
    const quoting = (secret: string): StubReply[] => [
      invalidCode(secret),
      invalidRefresh(secret),
      expiredRefresh(secret),
      { status: 400, body: JSON.stringify({ error: 'unsupported_grant_type', error_description: secret }) },
      { status: 400, body: JSON.stringify({ error: 'not_an_oauth_error', error_description: secret }) },
      { status: 401, body: JSON.stringify({ error: 'unauthorized', error_description: secret }), headers: { 'WWW-Authenticate': `Basic realm="${secret}"` } },
      { status: 403, body: `<html><body>${secret}</body></html>`, headers: { 'Content-Type': 'text/html' } },
      { status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: secret, error_uri: `https://unity.example.com/${secret}` }), chunked: true },
    ]
    for (const reply of quoting(CODE)) {
      const { relay, flow } = await signedIn(start)
      relay.unity.expectTokenCall(exchangeForm(flow.verifier), reply)
      await assertNoEcho(await relay.pickup(flow.verifier), [CODE])
    }
    const { relay, sealed } = await pickedUp(start)
    for (const reply of quoting(UNITY_REFRESH)) {
      relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: UNITY_REFRESH }, reply)
      await assertNoEcho(await refresh(relay, sealed), [UNITY_REFRESH])
    }
  }),
]

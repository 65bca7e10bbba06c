/**
 * @module
 * What the standard-flow cases share: an app's authorization request, the browser that follows
 * it through the relay, and the app's token request. Computed on the app's side, with web APIs
 * only, never with the relay's own code.
 */
import { strict as assert } from 'node:assert'
import { challengeOf, makeVerifier } from '../../dev/pkce.ts'
import { RELAY_ORIGIN } from './harness.ts'
import type { Opened, RelayUnderTest } from './harness.ts'

/** Unity's code and token answer in the standard cases. */
export const UNITY_CODE = 'unity-code-standard-0123456789'
export const TOKENS = '{"access_token":"at-123","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-456","scope":"api"}'

/** A native app's loopback redirect URI (RFC 8252 §7.3). */
export const APP_REDIRECT = 'http://127.0.0.1:53123/callback'
export const APP_CLIENT = 'example-native-app'

/** What an app sends to /authorize: its own verifier, and the standard parameters (override or `undefined` to drop one). */
export interface AppRequest {
  readonly verifier?: string
  readonly params?: Readonly<Record<string, string | undefined>>
  /** Raw query text appended as is, e.g. a repeated parameter. */
  readonly extra?: string
  /** The path the app opens (Unity's own, for the alias). */
  readonly path?: string
  readonly headers?: Readonly<Record<string, string>>
}

/** The query of a standard authorization request for `challenge`. */
export function standardQuery(challenge: string, params: Readonly<Record<string, string | undefined>> = {}): URLSearchParams {
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: APP_CLIENT,
    redirect_uri: APP_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'app-state-1',
    ...params,
  }
  return new URLSearchParams(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/** GET /authorize as a browser an app opened, without following anything. */
export async function requestAuthorization(relay: RelayUnderTest, request: AppRequest = {}): Promise<{ verifier: string; challenge: string; response: Response }> {
  const verifier = request.verifier ?? makeVerifier()
  const challenge = await challengeOf(verifier)
  const query = `${standardQuery(challenge, request.params)}${request.extra ?? ''}`
  const response = await relay.fetch(`${request.path ?? '/authorize'}?${query}`, { headers: { 'Sec-Fetch-Site': 'none', ...request.headers } })
  return { verifier, challenge, response }
}

/** The confirmation page of a standard request, as {@link RelayUnderTest.decide} takes it. */
export async function openStandard(relay: RelayUnderTest, request: AppRequest = {}): Promise<Opened> {
  const { verifier, challenge, response } = await requestAuthorization(relay, request)
  const page = response.status === 200 ? await response.text() : ''
  const expected = relay.config.confirmPage === 'never' ? 302 : 200
  assert.equal(response.status, expected, page)
  const state = page ? (/name="state" value="([^"]+)"/.exec(page)?.[1] ?? '') : (new URL(response.headers.get('Location') ?? '').searchParams.get('state') ?? '')
  const cookie = (response.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
  return { verifier, challenge, state, cookie, response, page }
}

/** A standard flow the user continued: the browser is at Unity. */
export async function continued(relay: RelayUnderTest, request: AppRequest = {}): Promise<Opened & { unity: URL }> {
  const opened = await openStandard(relay, request)
  if (relay.config.confirmPage === 'never') return { ...opened, unity: new URL(opened.response.headers.get('Location') ?? '') }
  const response = await relay.decide(opened, 'continue')
  assert.equal(response.status, 303, await response.clone().text())
  return { ...opened, unity: new URL(response.headers.get('Location') ?? '') }
}

/** Where the relay sent the browser after the callback: the app's redirect URI and what it carried. */
export interface AppLanding {
  readonly response: Response
  readonly location: string
  readonly params: URLSearchParams
}

/** Reads a redirect to the app: 303 to `redirectUri` (query kept, then the response), no-referrer. */
export function landing(response: Response, redirectUri = APP_REDIRECT): AppLanding {
  assert.equal(response.status, 303)
  assert.equal(response.headers.get('Referrer-Policy'), 'no-referrer', 'RFC 9700 §4.2.4: the code must not leak via Referer')
  assert.equal(response.headers.get('Cache-Control'), 'no-store')
  const location = response.headers.get('Location') ?? ''
  const [base, query = ''] = splitQuery(location, redirectUri)
  assert.equal(base, redirectUri, `redirected to ${location}`)
  return { response, location, params: new URLSearchParams(query) }
}

/** `location` as `redirectUri` and the part the relay added after it. */
function splitQuery(location: string, redirectUri: string): [string, string] {
  if (!location.startsWith(redirectUri)) return [location, '']
  const rest = location.slice(redirectUri.length)
  return [redirectUri, rest.replace(/^[?&]/, '')]
}

/** A signed-in standard flow: the browser has landed at the app with the relay's code. */
export async function signedInStandard(relay: RelayUnderTest, request: AppRequest = {}): Promise<Opened & { code: string; landed: AppLanding }> {
  const flow = await continued(relay, request)
  const landed = landing(await relay.callback(flow, { code: UNITY_CODE, state: flow.state }), request.params?.redirect_uri ?? APP_REDIRECT)
  return { ...flow, code: landed.params.get('code') ?? '', landed }
}

/** The app's RFC 6749 §4.1.3 token request; `fields` override or (`undefined`) drop a field. */
export function exchange(relay: RelayUnderTest, flow: { code: string; verifier: string }, fields: Readonly<Record<string, string | undefined>> = {}, init: { path?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const all: Record<string, string | undefined> = {
    grant_type: 'authorization_code',
    code: flow.code,
    redirect_uri: APP_REDIRECT,
    client_id: APP_CLIENT,
    code_verifier: flow.verifier,
    ...fields,
  }
  return relay.fetch(init.path ?? '/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...init.headers },
    body: new URLSearchParams(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined)),
  })
}

/** What the relay sends Unity for a flow: Unity's code at the relay's own callback, with the app's verifier. */
export function unityExchange(verifier: string): Record<string, string> {
  return { grant_type: 'authorization_code', code: UNITY_CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }
}

/** BASE64URL(SHA-256(text)), computed here rather than by the relay. */
export async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
  return btoa(String.fromCharCode(...digest)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** A refused request began nothing in the browser: no redirect, no binding cookie. */
export function assertNotRedirected(response: Response): void {
  assert.equal(response.headers.get('Location'), null, 'never redirected')
  assert.equal(response.headers.getSetCookie().length, 0, 'no binding cookie')
}

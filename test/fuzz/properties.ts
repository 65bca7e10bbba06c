/**
 * @module
 * fast-check properties over every endpoint, runtime-neutral like the contract cases. Each
 * property drives one relay with generated requests and checks, for every answer:
 * - no 5xx (no fault is injected);
 * - a 4xx stored nothing and called Unity never;
 * - no generated value appears raw in an HTML page;
 * - no generated secret appears in any log line;
 * - a redirect goes only to Unity or an allowlisted origin.
 * Adding an endpoint (e.g. the device flow) is one more {@link endpointProperty} call.
 */
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { DEVICE_CODE_GRANT } from '../../src/inputs.ts'
import type { CodeStore } from '../../src/store.ts'
import { userCodeFor } from '../../src/user-code.ts'
import { contract, sealedFor } from '../contract/define.ts'
import type { ContractCase } from '../contract/define.ts'
import type { RelayOptions, RelayUnderTest } from '../contract/harness.ts'
import { keyPair, oauth4webapiProof } from '../support/dpop-proofs.ts'
import { dpopProperties } from './dpop.ts'

/** Every generated secret carries this, so a log line holding one is easy to spot. */
const SECRET_MARK = 'fzsecret'
/** Every generated free text carries this markup, so raw reflection in a page is easy to spot. */
const MARKUP = '<x-fz a="1">'

const TOKENS = '{"access_token":"at-fzsecret","token_type":"Bearer","refresh_token":"rt-fzsecret"}'

/** A loopback app's origin, as RFC 8252 §7.3 and §8.3 name them. */
const LOOPBACK_ORIGIN = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(:[0-9]+)?$/

/** What the spies saw during one generated request. */
interface Observed {
  saves: number
  unityCalls: number
}

/**
 * One generated request: what to send once the relay is up. A request that needs a flow first
 * (a GET /authorize, a Continue) calls `ready` after that setup, so only the request itself counts.
 */
type Send = (relay: RelayUnderTest, ready: () => void) => Promise<Response>

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 20 }).map((value) => `${value}${MARKUP}`),
  fc.constantFrom('', ' ', '%00', '%', '\u0000', '../', 'javascript:alert(1)', '//evil.example', 'https://evil.example', 'a'.repeat(3000)),
)
// fast-check keeps strings short by default: well-formed verifiers and tokens are drawn on purpose.
const secret = fc.oneof(
  fc.stringMatching(/^fzsecret[A-Za-z0-9\-._~]{35,120}$/),
  fc.stringMatching(/^fzsecret[A-Za-z0-9\-._~]{0,140}$/),
  text.map((value) => `${SECRET_MARK}${value}`),
)
const challenge = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  fc.stringMatching(/^[A-Za-z0-9_=+/-]{0,60}$/),
  text,
)
const returnTo = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('https://app.example.com', 'https://app.example.com/', 'https://desk.example.org:8443/x?y=1', 'https://app.example.com.evil.example/', 'https://app.example.com@evil.example/', 'HTTPS://APP.EXAMPLE.COM/', 'https://app.example.com\\@evil.example'),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.tuple(fc.constantFrom('https://app.example.com/', 'https://desk.example.org:8443/'), text).map(([origin, path]) => origin + path),
  text,
)

function query(params: Record<string, string | undefined>, duplicate: string | undefined): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.append(name, value)
  if (duplicate !== undefined && params[duplicate] !== undefined) search.append(duplicate, params[duplicate] ?? '')
  return search.toString()
}

const authorizeRequests: fc.Arbitrary<Send> = fc
  .record({
    code_challenge: challenge,
    code_challenge_method: fc.option(fc.oneof(fc.constant('S256'), fc.constant('plain'), text), { nil: undefined }),
    scope: fc.option(fc.oneof(fc.constantFrom('api', 'api read', 'openid'), text), { nil: undefined }),
    return_to: returnTo,
    duplicate: fc.option(fc.constantFrom('code_challenge', 'scope', 'return_to'), { nil: undefined }),
  })
  .map(({ duplicate, ...params }) => (relay) => relay.fetch(`/authorize?${query(params, duplicate)}`))

const appRedirectUri = fc.oneof(
  fc.constantFrom('http://127.0.0.1:53123/callback', 'http://[::1]:1/', 'http://localhost:8080', 'https://app.example.com/oauth/callback', 'com.example.desk:/oauth2redirect'),
  fc.constantFrom('HTTP://127.0.0.1:1/', 'http://127.0.0.1.evil.example/', 'http://127.0.0.1:1@evil.example/', 'http://127.0.0.1:1/a/../b', 'http://127.0.0.1:1/%2e%2e/b', 'http://127.0.0.1:1/#x', 'https://app.example.com/oauth/callback/'),
  fc.tuple(fc.constantFrom('http://127.0.0.1:53123/', 'http://localhost:1/'), text).map(([base, path]) => base + path),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  text,
)

/** GET /authorize with a redirect_uri: the standard request (RFC 6749 §4.1.1), on either of its paths. */
const standardAuthorizeRequests: fc.Arbitrary<Send> = fc
  .record({
    redirect_uri: appRedirectUri,
    client_id: fc.option(fc.oneof(fc.constant('fuzz-app'), text), { nil: undefined, freq: 6 }),
    response_type: fc.option(fc.oneof(fc.constant('code'), fc.constant('token'), text), { nil: undefined, freq: 8 }),
    code_challenge: challenge,
    code_challenge_method: fc.option(fc.oneof(fc.constant('S256'), fc.constant('plain'), text), { nil: undefined, freq: 8 }),
    scope: fc.option(fc.oneof(fc.constantFrom('api', 'api read'), text), { nil: undefined }),
    state: fc.option(text, { nil: undefined }),
    path: fc.constantFrom('/authorize', '/api/oauth/authorize'),
    duplicate: fc.option(fc.constantFrom('redirect_uri', 'client_id', 'state', 'code_challenge', 'response_type'), { nil: undefined, freq: 6 }),
  })
  .map(({ duplicate, path, ...params }) => (relay) => relay.fetch(`${path}?${query(params, duplicate)}`, { headers: { 'Sec-Fetch-Site': 'none' } }))

/** Mostly `undefined`: the rare twist keeps most generated callbacks deep enough to reach the store. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary, weight: 1 })

const callbackRequests: fc.Arbitrary<Send> = fc
  .record({
    realState: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    flowReturnTo: returnTo,
    tamper: rarely(fc.nat(300)),
    state: secret,
    answer: fc.oneof(
      { arbitrary: secret.map((code) => ({ code })), weight: 3 },
      { arbitrary: fc.oneof(fc.constantFrom('access_denied', 'server_error', 'invalid_scope'), text).map((error) => ({ error })), weight: 2 },
      { arbitrary: fc.record({ code: secret, error: text }), weight: 1 },
      { arbitrary: fc.constant({}), weight: 1 },
    ),
    error_description: fc.option(text, { nil: undefined }),
    iss: rarely(text),
    cookie: fc.oneof({ arbitrary: fc.constant('flow'), weight: 3 }, { arbitrary: fc.constantFrom('none', 'forged'), weight: 1 }),
    duplicate: rarely(fc.constantFrom('state', 'code', 'error')),
  })
  .map(({ realState, flowReturnTo, tamper, cookie, duplicate, answer, ...params }) => async (relay, ready) => {
    let state = params.state
    let flowCookie = `__Host-uor-${SECRET_MARK}=${SECRET_MARK}`
    if (realState) {
      // A return_to that /authorize accepted is where the callback may send the browser: it must be allowlisted.
      const flow = await relay.authorize(flowReturnTo === undefined ? {} : { return_to: flowReturnTo }).catch(() => relay.authorize())
      state = tamper === undefined ? flow.state : flow.state.slice(0, tamper % flow.state.length) + 'A' + flow.state.slice((tamper % flow.state.length) + 1)
      if (cookie === 'flow') flowCookie = flow.cookie
    }
    const headers: Record<string, string> = cookie === 'none' ? {} : { Cookie: flowCookie }
    ready()
    return relay.fetch(`/callback?${query({ ...params, ...answer, state }, duplicate)}`, { headers })
  })

const decisionRequests: fc.Arbitrary<Send> = fc
  .record({
    realState: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    flowReturnTo: returnTo,
    tamper: rarely(fc.nat(300)),
    state: secret,
    decision: fc.oneof({ arbitrary: fc.constantFrom('continue', 'cancel'), weight: 3 }, { arbitrary: text, weight: 1 }),
    // The page a real state came from: reached from another site, it asks to pick the code.
    openedFrom: fc.constantFrom('none', 'cross-site'),
    pick: rarely(fc.oneof(fc.constantFrom('real', 'BBBB-BBBB'), text)),
    cookie: fc.oneof({ arbitrary: fc.constant('flow'), weight: 3 }, { arbitrary: fc.constantFrom('none', 'forged'), weight: 1 }),
    headers: rarely(
      fc.record({
        Origin: fc.option(fc.constantFrom('https://relay.example.com', 'https://evil.example', 'null'), { nil: undefined }),
        'Sec-Fetch-Site': fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'), { nil: undefined }),
        'Content-Type': fc.option(fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain'), { nil: undefined }),
      }),
    ),
    duplicate: rarely(fc.constantFrom('state', 'decision')),
  })
  .map(({ realState, flowReturnTo, tamper, state, decision, openedFrom, pick, cookie, headers, duplicate }) => async (relay, ready) => {
    const site = { 'Sec-Fetch-Site': openedFrom }
    const opened = realState
      ? await relay.open(flowReturnTo === undefined ? {} : { return_to: flowReturnTo }, site).catch(() => relay.open({}, site))
      : undefined
    const picked = pick === 'real' ? (opened ? await userCodeFor(opened.challenge) : undefined) : pick
    let sentState = state
    if (opened) sentState = tamper === undefined ? opened.state : opened.state.slice(0, tamper % opened.state.length) + 'A' + opened.state.slice((tamper % opened.state.length) + 1)
    const sent: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://relay.example.com', 'Sec-Fetch-Site': 'same-origin' }
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (value === undefined) delete sent[name]
      else sent[name] = value
    }
    if (cookie !== 'none') sent.Cookie = cookie === 'flow' && opened ? opened.cookie : `__Host-uor-${SECRET_MARK}=${SECRET_MARK}`
    // A pick is sent alone (as the page's choice buttons do) or, rarely, with a decision too.
    const form = picked === undefined ? { state: sentState, decision } : { state: sentState, pick: picked, ...(decision === 'cancel' ? { decision } : {}) }
    ready()
    return relay.fetch('/authorize', { method: 'POST', headers: sent, body: query(form, duplicate) })
  })

const tokenRequests: fc.Arbitrary<Send> = fc
  .record({
    grant_type: fc.option(fc.oneof(fc.constantFrom('authorization_code', 'refresh_token', DEVICE_CODE_GRANT, 'password', 'client_credentials'), text), { nil: undefined }),
    code_verifier: fc.option(fc.oneof(secret, fc.constant(undefined)), { nil: undefined }),
    refresh_token: fc.option(secret, { nil: undefined }),
    device_code: fc.option(secret, { nil: undefined }),
    scope: fc.option(fc.oneof(fc.constant('api'), text), { nil: undefined }),
    code: fc.option(secret, { nil: undefined }),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', undefined),
    duplicate: fc.option(fc.constantFrom('grant_type', 'code_verifier', 'refresh_token'), { nil: undefined }),
    // A token the relay sealed around a secret, as it is or with one character changed.
    sealed: rarely(fc.record({ tamper: fc.option(fc.nat(), { nil: undefined }), character: fc.constantFrom('A', '_', '.', '%') })),
    // A DPoP header: a fresh valid proof, the last valid one again (a replay), one for another URL,
    // one with a character changed, two headers, or garbage.
    // Valid ones are drawn often enough that some reach the replay cache on a request that is refused later.
    dpop: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      { arbitrary: fc.constant({ kind: 'valid' as const }), weight: 2 },
      fc.constant({ kind: 'replay' as const }),
      fc.constant({ kind: 'elsewhere' as const }),
      fc.constant({ kind: 'twice' as const }),
      fc.record({ kind: fc.constant('tampered' as const), at: fc.nat(), character: fc.constantFrom('A', '_', '.', ',') }),
      fc.record({ kind: fc.constant('garbage' as const), value: fc.oneof(text, secret) }),
    ),
  })
  .map(({ contentType, duplicate, sealed, dpop, ...params }) => async (relay) => {
    if (sealed) {
      const token = await sealedFor(relay, `rt-${SECRET_MARK}`)
      const at = sealed.tamper === undefined ? -1 : sealed.tamper % token.length
      params.refresh_token = at < 0 ? token : token.slice(0, at) + sealed.character + token.slice(at + 1)
    }
    const headers = new Headers(contentType === undefined ? {} : { 'Content-Type': contentType })
    for (const proof of dpop ? await dpopHeaders(dpop) : []) headers.append('DPoP', proof)
    return relay.fetch('/token', { method: 'POST', headers, body: query(params, duplicate) })
  })

/** The last valid proof the /token property sent, for its replays. */
let lastProof: string | undefined

/** The DPoP header values for one drawn kind of proof. */
async function dpopHeaders(drawn: { kind: 'valid' | 'replay' | 'elsewhere' | 'twice' } | { kind: 'tampered'; at: number; character: string } | { kind: 'garbage'; value: string }): Promise<string[]> {
  const pair = await keyPair('ES256', 'fuzz')
  switch (drawn.kind) {
    case 'valid':
      lastProof = await oauth4webapiProof(pair)
      return [lastProof]
    case 'replay':
      lastProof ??= await oauth4webapiProof(pair)
      return [lastProof]
    case 'elsewhere':
      return [await oauth4webapiProof(pair, { url: 'https://elsewhere.example.com/token' })]
    case 'twice':
      return [await oauth4webapiProof(pair), await oauth4webapiProof(pair)]
    case 'tampered': {
      const proof = await oauth4webapiProof(pair)
      const at = drawn.at % proof.length
      return [proof.slice(0, at) + drawn.character + proof.slice(at + 1)]
    }
    case 'garbage':
      // A header value is bytes without line breaks or NUL; Headers would refuse anything else rather than send it.
      return [drawn.value.replace(/[^\x20-\x7e]/g, '')]
  }
}

const revokeRequests: fc.Arbitrary<Send> = fc
  .record({
    token: fc.option(fc.oneof(secret, text), { nil: undefined }),
    token_type_hint: fc.option(fc.oneof(fc.constantFrom('refresh_token', 'access_token'), text), { nil: undefined }),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'application/json', 'text/plain', undefined),
    duplicate: rarely(fc.constantFrom('token', 'token_type_hint')),
    // A token the relay sealed around a secret, as it is or with one character changed.
    sealed: rarely(fc.record({ tamper: fc.option(fc.nat(), { nil: undefined }), character: fc.constantFrom('A', '_', '.', '%') })),
  })
  .map(({ contentType, duplicate, sealed, ...params }) => async (relay) => {
    if (sealed) {
      const token = await sealedFor(relay, `rt-${SECRET_MARK}`)
      const at = sealed.tamper === undefined ? -1 : sealed.tamper % token.length
      params.token = at < 0 ? token : token.slice(0, at) + sealed.character + token.slice(at + 1)
    }
    const response = await relay.fetch('/revoke', { method: 'POST', headers: contentType === undefined ? {} : { 'Content-Type': contentType }, body: query(params, duplicate) })
    // RFC 7009 §2.2: a well-formed request is 200 whatever its token; anything else a 400.
    assert.ok(response.status === 200 || response.status === 400, `/revoke answered ${response.status}`)
    if (response.status === 200) assert.equal(await response.clone().text(), '')
    return response
  })

const deviceAuthorizationRequests: fc.Arbitrary<Send> = fc
  .record({
    client_id: fc.option(text, { nil: undefined }),
    scope: fc.option(fc.oneof(fc.constantFrom('api', 'api read'), text), { nil: undefined }),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/json', undefined),
    duplicate: rarely(fc.constantFrom('client_id', 'scope')),
  })
  .map(({ contentType, duplicate, ...params }) => (relay) =>
    relay.fetch('/device_authorization', { method: 'POST', headers: contentType === undefined ? {} : { 'Content-Type': contentType }, body: query(params, duplicate) }),
  )

const deviceEntryRequests: fc.Arbitrary<Send> = fc
  .record({
    user_code: fc.option(fc.oneof(fc.stringMatching(/^[B-DF-HJ-NP-TV-XZ]{4}-?[B-DF-HJ-NP-TV-XZ]{4}$/), text), { nil: undefined }),
    duplicate: rarely(fc.constant('user_code')),
  })
  .map(({ duplicate, ...params }) => (relay) => relay.fetch(`/device?${query(params, duplicate)}`))

/**
 * A property over one endpoint: generated requests against one relay whose store and Unity are
 * spied on. Unity answers any call with tokens, so a Unity call made on a 4xx would show.
 */
export function endpointProperty(endpoint: string, requests: fc.Arbitrary<Send>, numRuns: number, options: RelayOptions = {}): ContractCase {
  return contract(`fuzz: ${endpoint} (${numRuns} cases): no 5xx, nothing stored or sent to Unity on a 4xx, no reflection, no secret in logs`, async (start) => {
    const observed: Observed = { saves: 0, unityCalls: 0 }
    const relay = await start({
      ...options,
      wrapStore: (store): CodeStore =>
        new Proxy(store, {
          get(target, property) {
            const value: unknown = Reflect.get(target, property, target)
            if (typeof value !== 'function') return value
            return (...args: unknown[]) => {
              if (property === 'confirm' || property === 'save' || property === 'saveDevice' || property === 'revokeGrant') observed.saves++
              const result = (value as (...a: unknown[]) => unknown).apply(target, args)
              // The replay cache writes only for a proof it had not seen.
              if (property === 'rememberProof') return (result as Promise<string>).then((use) => (use === 'new' && observed.saves++, use))
              return result
            }
          },
        }),
      wrapFetch: () => async () => {
        observed.unityCalls++
        return new Response(TOKENS, { status: 200, headers: { 'Content-Type': 'application/json' } })
      },
    })
    await fc.assert(
      fc.asyncProperty(requests, async (send) => {
        let before = { ...observed }
        relay.logs.length = 0
        const response = await send(relay, () => (before = { ...observed }))
        const body = await response.text()
        const saves = observed.saves - before.saves
        const unityCalls = observed.unityCalls - before.unityCalls
        assert.ok(response.status < 500, `${response.status}: ${body.slice(0, 300)}`)
        assert.equal(response.headers.get('Cache-Control'), 'no-store')
        if (response.status >= 400) {
          assert.equal(saves, 0, 'a 4xx stored something')
          assert.equal(unityCalls, 0, 'a 4xx called Unity')
        }
        if ((response.headers.get('Content-Type') ?? '').startsWith('text/html')) {
          assert.equal(body.includes('<x-fz'), false, 'generated markup reflected raw')
        }
        const location = response.headers.get('Location')
        if (location !== null) {
          // No open redirect (RFC 9700 §4.11): only Unity, an allowlisted app origin, a loopback app (RFC 8252 §7.3) or an APP_REDIRECT_URIS entry.
          const allowed = [new URL(relay.config.authorizeEndpoint).origin, ...relay.config.returnToOrigins]
          const origin = URL.parse(location)?.origin ?? ''
          const toApp = LOOPBACK_ORIGIN.test(origin) || relay.config.appRedirectUris.some((uri) => location.startsWith(`${uri}?`))
          assert.ok(allowed.includes(origin) || toApp, `redirect to ${location.slice(0, 100)}`)
          assert.equal(location.includes('<x-fz'), false)
        }
        for (const line of relay.logs) assert.equal(line.includes(SECRET_MARK), false, `secret in log: ${line.slice(0, 200)}`)
      }),
      { numRuns },
    )
  })
}

/** Every endpoint's property, and the DPoP verifier's, each at `numRuns` generated requests. */
export function fuzzProperties(numRuns: number): readonly ContractCase[] {
  return [
    endpointProperty('GET /authorize', authorizeRequests, numRuns),
    endpointProperty('GET /authorize with redirect_uri', standardAuthorizeRequests, numRuns, {
      env: { APP_REDIRECT_URIS: 'https://app.example.com/oauth/callback com.example.desk:/oauth2redirect' },
    }),
    endpointProperty('POST /authorize', decisionRequests, numRuns),
    endpointProperty('GET /callback', callbackRequests, numRuns),
    // The real clock: the DPoP proofs sent are made at the real time.
    endpointProperty('POST /token', tokenRequests, numRuns, { clock: () => Date.now() }),
    endpointProperty('POST /revoke', revokeRequests, numRuns),
    endpointProperty('POST /device_authorization', deviceAuthorizationRequests, numRuns),
    endpointProperty('GET /device', deviceEntryRequests, numRuns),
    ...dpopProperties(numRuns),
  ]
}


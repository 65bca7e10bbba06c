/**
 * @module
 * `unity-oauth-relay/client` against a relay built in-process on each runtime's real store, with
 * the strict Unity stub behind it: the pickup and device logins with DPoP, refresh, revocation,
 * and, with the relay's `/token` answers scripted, every row of the README's `/token` table.
 */
import { strict as assert } from 'node:assert'
import { discoverRelay, LoginError, offeredModes, PREFER_WAIT_SECONDS, refresh, relayOrigin, revoke, startLogin } from '../../src/client/index.ts'
import type { Fetch, Login, LoopbackReceiver, Session, StartLoginOptions } from '../../src/client/index.ts'
import { contract } from './define.ts'
import type { ContractCase } from './define.ts'
import { RELAY_ORIGIN } from './harness.ts'
import { challengeOf } from '../../dev/pkce.ts'
import type { Opened, RelayUnderTest } from './harness.ts'

const CODE = 'unity-code-client-0123456789'
const TOKENS = '{"access_token":"at-client-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-client-1","scope":"api"}'
const REFRESHED = '{"access_token":"at-client-2","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-client-2","scope":"api"}'

/** What the client sent to the relay's /token. */
interface Sent {
  readonly form: URLSearchParams
  readonly headers: Headers
}

/** The client's fetch into the in-process relay, recording each /token request; `script` may answer /token instead. */
function clientFetch(relay: RelayUnderTest, sent: Sent[], script?: (form: URLSearchParams) => Response | undefined | Promise<Response | undefined>): Fetch {
  return async (url, init) => {
    const request = new Request(url, init)
    if (new URL(request.url).pathname === '/token') {
      const form = new URLSearchParams(new TextDecoder().decode(await request.clone().arrayBuffer()))
      sent.push({ form, headers: request.headers })
      const scripted = await script?.(form)
      if (scripted) return scripted
    }
    return await relay.app.request(request)
  }
}

/** The relay's confirmation page for a link the client made, as the user's browser opens it. */
async function openLink(relay: RelayUnderTest, link: string, site: 'none' | 'same-origin' = 'none'): Promise<Opened> {
  const url = new URL(link)
  assert.equal(url.origin, RELAY_ORIGIN)
  const response = await relay.fetch(`${url.pathname}${url.search}`, { headers: { 'Sec-Fetch-Site': site } })
  const page = await response.text()
  assert.equal(response.status, 200, page)
  const state = /name="state" value="([^"]+)"/.exec(page)?.[1] ?? ''
  const cookie = (response.headers.get('Set-Cookie') ?? '').split(';')[0] ?? ''
  return { verifier: '', challenge: '', state, cookie, response, page }
}

/** Continue on the page, then Unity's callback; the Unity stub expects the exchange with `verifier`. */
async function signIn(relay: RelayUnderTest, opened: Opened, verifier: string): Promise<void> {
  assert.equal((await relay.decide(opened, 'continue')).status, 303)
  assert.equal((await relay.callback(opened, { code: CODE, state: opened.state })).status, 200)
  relay.unity.expectTokenCall({ grant_type: 'authorization_code', code: CODE, redirect_uri: `${RELAY_ORIGIN}/callback`, code_verifier: verifier }, { status: 200, body: TOKENS })
}

/** Sleeps recorded, not slept; `onSleep` runs at each (e.g. the user signs in during the first). */
function recordedSleep(sleeps: number[], onSleep?: (count: number) => Promise<void>): NonNullable<StartLoginOptions['sleep']> {
  return async (ms) => {
    sleeps.push(ms)
    await onSleep?.(sleeps.length)
  }
}

function assertSession(session: Session): void {
  assert.equal(session.relay, RELAY_ORIGIN)
  assert.equal(session.accessToken, 'at-client-1')
  assert.equal(session.tokenType.toLowerCase(), 'bearer', 'RFC 6749 §5.1: token_type is case-insensitive; oauth4webapi lowercases it')
  assert.equal(session.scope, 'api')
  assert.match(session.refreshToken ?? '', /^v1\./, 'the relay sealed the refresh token')
  assert.ok(session.expiresAt && Math.abs(session.expiresAt - (Date.now() + 3600_000)) < 60_000, 'expiresAt is now + expires_in')
  assert.equal(session.bound, true)
  assert.equal(session.dpopKey?.privateJwk.crv, 'P-256')
}

/**
 * Relays whose pickups are answered at once: these cases record the client's sleeps between polls, and
 * the user signs in during the first one, which a held poll would never reach (held.cases.ts covers holds).
 */
const UNHELD = { PICKUP_HOLD_SECONDS: '0' } as const

/** A pickup login through to its session: the first poll is early, the user signs in while the client waits. */
async function pickupLogin(relay: RelayUnderTest, sent: Sent[]): Promise<{ login: Login; session: Session; sleeps: number[]; page: string }> {
  const sleeps: number[] = []
  let page = ''
  const login = await startLogin({
    relay: RELAY_ORIGIN,
    fetch: clientFetch(relay, sent),
    sleep: recordedSleep(sleeps, async (count) => {
      if (count !== 1) return
      const opened = await openLink(relay, login.url)
      page = opened.page
      await signIn(relay, opened, sent[0]?.form.get('code_verifier') ?? '')
    }),
  })
  return { login, session: await login.tokens(), sleeps, page }
}

/** A token answer as the relay writes one. */
function answer(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error, error_description: 'scripted' }), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}

/** A pickup login whose /token answers come from `answers` in turn (then `authorization_pending`). */
async function scriptedLogin(relay: RelayUnderTest, answers: Response[], options: Partial<StartLoginOptions> = {}) {
  const sent: Sent[] = []
  const sleeps: number[] = []
  const login = await startLogin({ relay: RELAY_ORIGIN, fetch: clientFetch(relay, sent, () => answers.shift() ?? answer(400, 'authorization_pending')), sleep: recordedSleep(sleeps), ...options })
  return { login, sent, sleeps }
}

async function assertLoginError(promise: Promise<unknown>, code: LoginError['code'], oauthError?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof LoginError, `a LoginError, not ${String(error)}`)
    assert.equal(error.code, code)
    if (oauthError) assert.equal(error.oauthError, oauthError)
    return true
  })
}

/**
 * The relay of #18's contract, until it lands: the real relay's metadata plus an
 * `authorization_endpoint` for `response_type=code` with RFC 9207 `iss`, and a scripted code
 * exchange at /token that answers Unity's tokens for `CODE` redeemed with the right verifier.
 */
function loopbackRelay(relay: RelayUnderTest, sent: Sent[], receiver: { authorize?: URL }): Fetch {
  const inner = clientFetch(relay, sent, async (form) => {
    if (form.get('grant_type') !== 'authorization_code') return undefined
    const challenge = await challengeOf(form.get('code_verifier') ?? '')
    const redeemable =
      form.get('code') === CODE && form.get('redirect_uri') === REDIRECT_URI && form.get('client_id') === 'unity-login' && challenge === receiver.authorize?.searchParams.get('code_challenge')
    return redeemable ? new Response(TOKENS, { status: 200, headers: { 'Content-Type': 'application/json' } }) : answer(400, 'invalid_grant')
  })
  return async (url, init) => {
    const response = await inner(url, init)
    if (!url.endsWith('/.well-known/oauth-authorization-server')) return response
    const metadata = (await response.json()) as Record<string, unknown>
    const extended = { ...metadata, authorization_endpoint: `${RELAY_ORIGIN}/authorize`, response_types_supported: ['code'], authorization_response_iss_parameter_supported: true }
    return new Response(JSON.stringify(extended), { status: 200, headers: { 'Content-Type': 'application/json' } })
  }
}

const REDIRECT_URI = 'http://127.0.0.1:53682/callback/0123456789abcdef'

/** A receiver that is handed `redirects` in turn, as a browser (or a page that guessed the port) would send them. */
function receiverOf(redirects: ReadonlyArray<(authorize: URL) => string>, seen: string[]): LoopbackReceiver & { authorize?: URL } {
  const receiver: LoopbackReceiver & { authorize?: URL } = {
    redirectUri: REDIRECT_URI,
    async wait(_signal, accept) {
      for (const redirect of redirects) {
        const url = new URL(redirect(receiver.authorize ?? new URL(RELAY_ORIGIN)))
        seen.push(url.search)
        if (accept(url)) return url
      }
      throw new Error('no acceptable redirect')
    },
  }
  return receiver
}

/** A redirect to the receiver with the login's own state and the given parameters. */
function redirect(params: Record<string, string>, state: 'own' | 'other' = 'own') {
  return (authorize: URL) => `${REDIRECT_URI}?${new URLSearchParams({ ...params, state: state === 'own' ? (authorize.searchParams.get('state') ?? '') : 'forged-state' })}`
}

export const clientCases: readonly ContractCase[] = [
  contract('client: the loopback mode (RFC 8252, against #18\u2019s contract): the authorize URL, a forged redirect ignored, the code redeemed with the verifier and a proof', async (start) => {
    const relay = await start()
    const sent: Sent[] = []
    const seen: string[] = []
    const receiver = receiverOf([redirect({ code: 'attacker-code', iss: RELAY_ORIGIN }, 'other'), redirect({ code: CODE, iss: RELAY_ORIGIN })], seen)
    const login = await startLogin({ relay: RELAY_ORIGIN, fetch: loopbackRelay(relay, sent, receiver), loopback: receiver })
    assert.equal(login.mode, 'loopback', 'auto picks the loopback sign-in when the relay offers it and a receiver is given')
    assert.equal(login.userCode, undefined)
    const authorize = new URL(login.url)
    receiver.authorize = authorize
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${RELAY_ORIGIN}/authorize`)
    const query = Object.fromEntries(authorize.searchParams)
    assert.deepEqual(
      { ...query, code_challenge: '-', state: '-' },
      { response_type: 'code', client_id: 'unity-login', redirect_uri: REDIRECT_URI, code_challenge: '-', code_challenge_method: 'S256', state: '-' },
    )
    assert.match(query.state ?? '', /^[A-Za-z0-9_-]{43}$/)
    const session = await login.tokens()
    assert.equal(session.accessToken, 'at-client-1')
    assert.equal(seen.length, 2, 'the forged redirect (another state) was refused and the client kept waiting')
    assert.equal(sent.length, 1, 'one exchange, of the real code')
    assert.ok(sent[0]?.headers.get('DPoP'), 'the exchange carries a proof')
    assert.equal(sent[0]?.headers.get('Prefer'), null, 'a code exchange is not a poll')
    assert.equal(session.dpopKey?.privateJwk.crv, 'P-256')
  }),

  contract('client: the loopback redirect must name the relay as iss (RFC 9207) and carries the user\u2019s refusal as access_denied', async (start) => {
    const relay = await start()
    const cases: ReadonlyArray<readonly [Record<string, string>, LoginError['code']]> = [
      [{ code: CODE }, 'misconfigured'],
      [{ code: CODE, iss: 'https://unity.example.com' }, 'misconfigured'],
      [{ error: 'access_denied', iss: RELAY_ORIGIN }, 'access_denied'],
    ]
    for (const [params, code] of cases) {
      const sent: Sent[] = []
      const receiver = receiverOf([redirect(params)], [])
      const login = await startLogin({ relay: RELAY_ORIGIN, fetch: loopbackRelay(relay, sent, receiver), loopback: receiver })
      receiver.authorize = new URL(login.url)
      await assertLoginError(login.tokens(), code)
      assert.equal(sent.length, 0, `nothing is redeemed for ${JSON.stringify(params)}`)
    }
  }),

  contract('client: a pickup login polls with DPoP and Prefer: wait, shows the page\u2019s user code, and returns a bound session', async (start) => {
    const relay = await start({ env: UNHELD })
    const sent: Sent[] = []
    const { login, session, sleeps, page } = await pickupLogin(relay, sent)
    assert.equal(login.mode, 'pickup')
    const link = new URL(login.url)
    assert.equal(link.pathname, '/authorize')
    assert.equal(link.searchParams.get('code_challenge_method'), 'S256')
    assert.ok(login.userCode && page.includes(login.userCode), 'the relay\u2019s page shows the user code the client derived')
    assertSession(session)
    assert.equal(sent.length, 2, 'one early poll, one pickup')
    for (const { form, headers } of sent) {
      assert.equal(form.get('grant_type'), 'authorization_code')
      assert.match(form.get('code_verifier') ?? '', /^[A-Za-z0-9_-]{43}$/)
      assert.ok(headers.get('DPoP'), 'every poll carries a DPoP proof')
      assert.equal(headers.get('Prefer'), `wait=${PREFER_WAIT_SECONDS}`)
    }
    assert.notEqual(sent[0]?.headers.get('DPoP'), sent[1]?.headers.get('DPoP'), 'a fresh proof per request')
    assert.equal(sleeps.length, 1)
    assert.ok((sleeps[0] ?? 0) > 4_000 && (sleeps[0] ?? 0) <= 5_000, 'an immediate authorization_pending waits the interval')
  }),

  contract('client: a device login (RFC 8628) shows verification_uri and the code, and polls with the device code', async (start) => {
    const relay = await start({ env: UNHELD })
    const sent: Sent[] = []
    const sleeps: number[] = []
    const login = await startLogin({
      relay: RELAY_ORIGIN,
      mode: 'device',
      fetch: clientFetch(relay, sent),
      sleep: recordedSleep(sleeps, async (count) => {
        if (count === 1) await signIn(relay, await openLink(relay, login.url, 'same-origin'), sent[0]?.form.get('device_code') ?? '')
      }),
    })
    assert.equal(login.verificationUri, `${RELAY_ORIGIN}/device`)
    assert.equal(login.url, `${RELAY_ORIGIN}/device?user_code=${login.userCode}`)
    const session = await login.tokens()
    assertSession(session)
    assert.equal(sent[1]?.form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:device_code')
    assert.ok(sent.every(({ headers }) => headers.get('DPoP')))
  }),

  contract('client: refresh sends a proof from the stored key and keeps the sign-in time; without the key the bound token is refused', async (start) => {
    const relay = await start({ env: UNHELD })
    const sent: Sent[] = []
    const { session } = await pickupLogin(relay, sent)
    relay.unity.expectTokenCall({ grant_type: 'refresh_token', refresh_token: 'rt-client-1' }, { status: 200, body: REFRESHED })
    const next = await refresh(session, { fetch: clientFetch(relay, sent) })
    assert.equal(next.accessToken, 'at-client-2')
    assert.notEqual(next.refreshToken, session.refreshToken, 'a new sealed generation')
    assert.equal(next.signedInAt, session.signedInAt)
    assert.ok(next.refreshedAt)
    assert.deepEqual(next.dpopKey, session.dpopKey)
    assert.ok(sent.at(-1)?.headers.get('DPoP'))
    const thief: Session = { ...next, dpopKey: undefined }
    await assertLoginError(refresh(thief, { fetch: clientFetch(relay, sent) }), 'invalid_grant', 'invalid_grant')
  }),

  contract('client: revoke at the advertised revocation_endpoint ends the grant; a later refresh is invalid_grant', async (start) => {
    const relay = await start({ env: UNHELD })
    const sent: Sent[] = []
    const { session } = await pickupLogin(relay, sent)
    assert.equal(await revoke(session, { fetch: clientFetch(relay, sent) }), true)
    await assertLoginError(refresh(session, { fetch: clientFetch(relay, sent) }), 'invalid_grant', 'invalid_grant')
  }),

  contract('client: a passthrough relay offers no revocation (revoke answers false) and binds nothing', async (start) => {
    const relay = await start({ env: { REFRESH_TOKENS: 'passthrough', LOOPBACK_REDIRECTS: 'off' } })
    const discovered = await discoverRelay(RELAY_ORIGIN, { fetch: clientFetch(relay, []) })
    assert.equal(discovered.as.revocation_endpoint, undefined)
    assert.deepEqual(offeredModes(discovered.as), ['pickup', 'device'], 'no loopback without an authorization_endpoint for response_type=code')
    const session: Session = {
      version: 1,
      relay: RELAY_ORIGIN,
      accessToken: 'a',
      tokenType: 'Bearer',
      expiresAt: undefined,
      refreshToken: 'r',
      scope: undefined,
      signedInAt: 0,
      refreshedAt: undefined,
      dpopKey: undefined,
      bound: false,
    }
    assert.equal(await revoke(session, { fetch: clientFetch(relay, []) }), false)
  }),

  contract('client: slow_down adds 5 s for good; temporarily_unavailable and 5xx retry; a 429 waits Retry-After; a held answer is polled again at once', async (start) => {
    const relay = await start()
    let now = Date.now()
    const held = () => {
      now += PREFER_WAIT_SECONDS * 1000
      return answer(400, 'authorization_pending')
    }
    const answers = [
      answer(400, 'slow_down'),
      answer(400, 'authorization_pending'),
      answer(502, 'temporarily_unavailable'),
      answer(503, 'temporarily_unavailable'),
      answer(429, 'temporarily_unavailable', { 'Retry-After': '17' }),
    ]
    const sent: Sent[] = []
    const sleeps: number[] = []
    let heldOnce = false
    const login = await startLogin({
      relay: RELAY_ORIGIN,
      clock: () => now,
      sleep: recordedSleep(sleeps),
      fetch: clientFetch(relay, sent, () => {
        const next = answers.shift()
        if (next) return next
        if (!heldOnce) {
          heldOnce = true
          return held()
        }
        return answer(400, 'access_denied')
      }),
    })
    await assertLoginError(login.tokens(), 'access_denied', 'access_denied')
    assert.deepEqual(sleeps, [10_000, 10_000, 10_000, 10_000, 17_000, 0], 'slow_down: 5 + 5 s from then on; Retry-After 17 s; a held answer waited already')
  }),

  contract('client: final /token answers end the login as the README\u2019s table says', async (start) => {
    const relay = await start()
    const table: ReadonlyArray<readonly [number, string, LoginError['code']]> = [
      [400, 'access_denied', 'access_denied'],
      [400, 'invalid_scope', 'misconfigured'],
      [400, 'expired_token', 'expired'],
      [400, 'invalid_grant', 'invalid_grant'],
      [400, 'invalid_request', 'misconfigured'],
      [400, 'unsupported_grant_type', 'misconfigured'],
      [401, 'invalid_client', 'misconfigured'],
      [413, 'invalid_request', 'misconfigured'],
    ]
    for (const [status, error, code] of table) {
      const { login } = await scriptedLogin(relay, [answer(status, error)])
      await assertLoginError(login.tokens(), code, error)
    }
  }),

  contract('client: five failed polls in a row are unavailable; invalid_dpop_proof twice is misconfigured; the deadline is expired; an abort is aborted', async (start) => {
    const relay = await start()
    const down = await scriptedLogin(
      relay,
      Array.from({ length: 5 }, () => answer(502, 'server_error')),
    )
    await assertLoginError(down.login.tokens(), 'unavailable')
    assert.equal(down.sent.length, 5)
    const skewed = await scriptedLogin(relay, [answer(400, 'invalid_dpop_proof'), answer(400, 'invalid_dpop_proof')])
    await assertLoginError(skewed.login.tokens(), 'misconfigured', 'invalid_dpop_proof')
    assert.equal(skewed.sent.length, 2, 'one retry with a fresh proof')
    let now = Date.now()
    const late = await scriptedLogin(relay, [], { clock: () => now, timeoutSeconds: 12, sleep: async (ms) => void (now += ms) })
    await assertLoginError(late.login.tokens(), 'expired')
    assert.equal(late.sent.length, 3, 'polls at 0, 5 and 10 s; the next would pass the 12 s deadline')
    const controller = new AbortController()
    const stopped = await scriptedLogin(relay, [], { sleep: async () => controller.abort() })
    await assertLoginError(stopped.login.tokens(controller.signal), 'aborted')
  }),

  contract('client: the relay address must be https (or http on loopback) at the root of its origin, and its metadata must name it as issuer', async (start) => {
    assert.equal(relayOrigin('https://relay.example.com/'), 'https://relay.example.com')
    assert.equal(relayOrigin('http://127.0.0.1:8787'), 'http://127.0.0.1:8787')
    assert.equal(relayOrigin('http://localhost:8787'), 'http://localhost:8787')
    for (const bad of ['http://relay.example.com', 'http://127.0.0.1.example.com', 'ftp://relay.example.com', 'https://relay.example.com/relay', 'not a url']) {
      assert.throws(
        () => relayOrigin(bad),
        (error: unknown) => error instanceof LoginError && error.code === 'misconfigured',
        bad,
      )
    }
    const relay = await start()
    // The same relay reached under another name: its metadata names RELAY_ORIGIN, not the address asked.
    const elsewhere: Fetch = async (url, init) => relay.app.request(url.replace('https://other.example.com', RELAY_ORIGIN), init)
    await assertLoginError(discoverRelay('https://other.example.com', { fetch: elsewhere }), 'misconfigured')
    await assertLoginError(startLogin({ relay: RELAY_ORIGIN, mode: 'loopback', fetch: clientFetch(relay, []) }), 'misconfigured')
    const down: Fetch = () => Promise.reject(new TypeError('fetch failed'))
    await assertLoginError(discoverRelay(RELAY_ORIGIN, { fetch: down }), 'unavailable')
  }),

  contract('client: a login without DPoP (dpopKey: false) sends no proofs and gets an unbound session', async (start) => {
    const relay = await start({ env: UNHELD })
    const sent: Sent[] = []
    const login = await startLogin({
      relay: RELAY_ORIGIN,
      dpopKey: false,
      fetch: clientFetch(relay, sent),
      sleep: recordedSleep([], async (count) => {
        if (count === 1) await signIn(relay, await openLink(relay, login.url), sent[0]?.form.get('code_verifier') ?? '')
      }),
    })
    const session = await login.tokens()
    assert.equal(session.bound, false)
    assert.equal(session.dpopKey, undefined)
    assert.ok(sent.every(({ headers }) => headers.get('DPoP') === null))
  }),
]

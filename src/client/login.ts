/**
 * @module
 * `startLogin`: one sign-in through the relay, in the mode the relay offers (the RFC 8252 loopback
 * redirect, the relay's PKCE pickup with its confirmation page, or the RFC 8628 device grant),
 * with a DPoP key (RFC 9449) so that the relay binds the refresh token to it.
 */
import * as oauth from 'oauth4webapi'
import { userCodeFor } from '../user-code.ts'
import { pollStep, aborted } from './answers.ts'
import { discoverRelay, offeredModes } from './discovery.ts'
import type { ClientOptions, LoginMode, Relay } from './discovery.ts'
import { LoginError } from './errors.ts'
import { newDpopKey, sessionFrom } from './session.ts'
import type { Session } from './session.ts'

/**
 * How long a pickup login waits by default: the relay's `STATE_TTL_SECONDS` + `CODE_TTL_SECONDS`
 * (600 + 120 s), after which nothing can arrive for the verifier (docs/clients.md, "How long to poll").
 *
 * @example
 * await startLogin({ relay, timeoutSeconds: DEFAULT_LOGIN_SECONDS / 2 })
 */
export const DEFAULT_LOGIN_SECONDS = 720

/**
 * Seconds between polls when the relay names no interval (RFC 8628 §3.5's default).
 *
 * @example
 * await startLogin({ relay, intervalSeconds: DEFAULT_INTERVAL_SECONDS })
 */
export const DEFAULT_INTERVAL_SECONDS = 5

/**
 * Held pickups (RFC 7240 `Prefer: wait`): the relay may hold a poll this long until the sign-in lands.
 *
 * @example
 * headers.set('Prefer', `wait=${PREFER_WAIT_SECONDS}`) // what every poll sends
 */
export const PREFER_WAIT_SECONDS = 20

/**
 * A redirect listener on the loopback interface (RFC 8252 §7.3), which only the app can provide.
 *
 * @example
 * // Deno: one request to a random path on 127.0.0.1
 * const receiver: LoopbackReceiver = {
 *   redirectUri: `http://127.0.0.1:${port}/callback`,
 *   wait: (signal, accept) => new Promise((resolve) => {
 *     const server = Deno.serve({ port, hostname: '127.0.0.1', signal }, (request) => {
 *       const url = new URL(request.url)
 *       if (!accept(url)) return new Response('Not this sign-in', { status: 400 })
 *       resolve(url)
 *       return new Response('Signed in: return to the app.')
 *     })
 *   }),
 * }
 */
export interface LoopbackReceiver {
  /** e.g. `http://127.0.0.1:53121/callback`. */
  readonly redirectUri: string
  /**
   * Resolves with the first request to the redirect URI that `accept` takes; answers the others as
   * refused and keeps listening, so a page that guesses the port cannot end the sign-in.
   */
  wait(signal: AbortSignal, accept: (url: URL) => boolean): Promise<URL>
}

/**
 * Options of {@link startLogin}.
 *
 * @example
 * const options: StartLoginOptions = { relay: 'https://relay.example.com', scope: 'api', mode: 'device' }
 */
export interface StartLoginOptions extends ClientOptions {
  readonly relay: string | URL
  /** The scope to ask for; default the relay's `UNITY_SCOPE`. */
  readonly scope?: string
  /** `auto` (the default): `loopback` when the relay offers it and a {@link loopback} receiver is given, else `pickup`. */
  readonly mode?: 'auto' | LoginMode
  /** The app's loopback listener, for the `loopback` mode. */
  readonly loopback?: LoopbackReceiver
  /** The DPoP key to bind the refresh token to; default a fresh ES256 key; `false` sends no proofs. */
  readonly dpopKey?: CryptoKeyPair | false
  /** How long the login may take; default {@link DEFAULT_LOGIN_SECONDS}, or for the device grant the relay's `expires_in` (whichever ends first when both apply). */
  readonly timeoutSeconds?: number
  /** Seconds between polls; default the relay's `interval` (device) or {@link DEFAULT_INTERVAL_SECONDS}. */
  readonly intervalSeconds?: number
  /** Replaces `Date.now`. */
  readonly clock?: () => number
  /** Replaces the wait between polls (it must end early when the signal fires). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/**
 * A started sign-in: what to show the user, and the tokens once they have signed in.
 *
 * @example
 * const login: Login = await startLogin({ relay })
 * console.log(login.mode === 'device' ? `Enter ${login.userCode} at ${login.verificationUri}` : `Open ${login.url}`)
 */
export interface Login {
  readonly mode: LoginMode
  /** The page the user opens in a browser. */
  readonly url: string
  /** The code the relay's page shows, for the user to compare (pickup, device); `undefined` for loopback. */
  readonly userCode: string | undefined
  /** Device mode: the page where the code can be typed (RFC 8628 `verification_uri`). */
  readonly verificationUri: string | undefined
  /** When the sign-in can no longer finish, Unix milliseconds. */
  readonly expiresAt: number
  readonly relay: Relay
  /**
   * Waits for the sign-in and returns the session. Polls `/token` as the README's table says
   * (`authorization_pending`, `slow_down`, held answers with `Prefer: wait`, retries for
   * `temporarily_unavailable`), and throws a {@link LoginError} on a final answer, at the deadline,
   * or when `signal` fires.
   */
  tokens(signal?: AbortSignal): Promise<Session>
}

/**
 * Starts a sign-in at the relay.
 *
 * @example
 * import { startLogin } from 'unity-oauth-relay/client'
 *
 * const login = await startLogin({ relay: 'https://relay.example.com', scope: 'api' })
 * console.log(`Open ${login.url} and check that the page shows ${login.userCode}`)
 * const session = await login.tokens(AbortSignal.timeout(720_000))
 * fetch(unityApi, { headers: { Authorization: `Bearer ${session.accessToken}` } })
 */
export async function startLogin(options: StartLoginOptions): Promise<Login> {
  const relay = await discoverRelay(options.relay, options)
  const mode = chooseMode(relay, options)
  const pair = options.dpopKey === false ? undefined : (options.dpopKey ?? (await newDpopKey()))
  const clock = options.clock ?? Date.now
  const poller: Poller = { clock, sleep: options.sleep ?? abortableSleep }
  const DPoP = pair ? oauth.DPoP(relay.client, pair) : undefined
  const dpop = DPoP ? { DPoP } : {}
  const scope: Record<string, string> = options.scope ? { scope: options.scope } : {}
  const finish = (answer: oauth.TokenEndpointResponse) => sessionFrom(relay, answer, clock(), pair)
  const defaultDeadline = clock() + (options.timeoutSeconds ?? DEFAULT_LOGIN_SECONDS) * 1000
  const intervalMs = (options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * 1000

  if (mode === 'device') {
    let device: oauth.DeviceAuthorizationResponse
    try {
      const response = await oauth.deviceAuthorizationRequest(relay.as, relay.client, oauth.None(), scope, { ...relay.http, signal: AbortSignal.timeout(30_000) })
      device = await oauth.processDeviceAuthorizationResponse(relay.as, relay.client, response)
    } catch (error) {
      const step = pollStep(error)
      throw step.kind === 'final' || step.kind === 'retry' ? step.error : new LoginError('misconfigured', 'The relay answered the device authorization as a poll.')
    }
    const expiresAt = Math.min(clock() + device.expires_in * 1000, options.timeoutSeconds === undefined ? Infinity : defaultDeadline)
    const interval = (options.intervalSeconds ?? device.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000
    return {
      mode,
      url: device.verification_uri_complete ?? device.verification_uri,
      userCode: device.user_code,
      verificationUri: device.verification_uri,
      expiresAt,
      relay,
      tokens: (signal) =>
        pollUntilTokens(poller, { deadline: expiresAt, intervalMs: interval, signal }, async (request) =>
          finish(
            await oauth.processDeviceCodeResponse(
              relay.as,
              relay.client,
              await oauth.deviceCodeGrantRequest(relay.as, relay.client, oauth.None(), device.device_code, { ...relay.http, ...dpop, ...request }),
            ),
          ),
        ),
    }
  }

  const verifier = oauth.generateRandomCodeVerifier()
  const challenge = await oauth.calculatePKCECodeChallenge(verifier)

  if (mode === 'loopback') {
    const receiver = options.loopback
    if (!receiver || !relay.as.authorization_endpoint) throw new LoginError('misconfigured', 'The loopback sign-in needs a loopback receiver and a relay that offers it.')
    // RFC 6749 §10.12: the state ties the redirect to this login; RFC 7636: the verifier to the code.
    const state = oauth.generateRandomState()
    const url = new URL(relay.as.authorization_endpoint)
    const query = { response_type: 'code', client_id: relay.client.client_id, redirect_uri: receiver.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state, ...scope }
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
    return {
      mode,
      url: url.href,
      userCode: undefined,
      verificationUri: undefined,
      expiresAt: defaultDeadline,
      relay,
      async tokens(signal) {
        const within = withDeadline(signal, defaultDeadline - clock())
        let redirected: URL
        try {
          redirected = await receiver.wait(within, (candidate) => candidate.searchParams.get('state') === state)
        } catch (error) {
          if (signal?.aborted) throw aborted(signal)
          if (within.aborted) throw new LoginError('expired', 'The sign-in was not finished in time.', { cause: error })
          throw error
        }
        let params: URLSearchParams
        try {
          // RFC 9207: the redirect must name the relay as its issuer, so a mix-up cannot swap in another server's code.
          params = oauth.validateAuthResponse(relay.as, relay.client, redirected, state)
        } catch (error) {
          if (error instanceof oauth.AuthorizationResponseError) throw pollStepFinal(error.error, 400)
          throw new LoginError('misconfigured', `The sign-in's redirect did not check out: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
        }
        return pollUntilTokens(poller, { deadline: defaultDeadline, intervalMs, signal, holdable: false }, async (request) =>
          finish(
            await oauth.processAuthorizationCodeResponse(
              relay.as,
              relay.client,
              await oauth.authorizationCodeGrantRequest(relay.as, relay.client, oauth.None(), params, receiver.redirectUri, verifier, { ...relay.http, ...dpop, ...request }),
            ),
          ),
        )
      },
    }
  }

  const url = new URL('/authorize', relay.origin)
  url.searchParams.set('code_challenge', challenge)
  url.searchParams.set('code_challenge_method', 'S256')
  if (options.scope) url.searchParams.set('scope', options.scope)
  return {
    mode,
    url: url.href,
    userCode: await userCodeFor(challenge),
    verificationUri: undefined,
    expiresAt: defaultDeadline,
    relay,
    tokens: (signal) =>
      pollUntilTokens(poller, { deadline: defaultDeadline, intervalMs, signal }, async (request) =>
        // The relay's pickup: the verifier is the secret that finds the code (README, "How it works").
        finish(
          await oauth.processGenericTokenEndpointResponse(
            relay.as,
            relay.client,
            await oauth.genericTokenEndpointRequest(relay.as, relay.client, oauth.None(), 'authorization_code', { code_verifier: verifier }, { ...relay.http, ...dpop, ...request }),
          ),
        ),
      ),
  }
}

function chooseMode(relay: Relay, options: StartLoginOptions): LoginMode {
  const offered = offeredModes(relay.as)
  const wanted = options.mode ?? 'auto'
  if (wanted === 'auto') return offered.includes('loopback') && options.loopback ? 'loopback' : 'pickup'
  if (!offered.includes(wanted)) throw new LoginError('misconfigured', `The relay at ${relay.origin} does not offer the ${wanted} sign-in (it offers: ${offered.join(', ')}).`)
  return wanted
}

function pollStepFinal(error: string, status: number): LoginError {
  const step = pollStep(new oauth.ResponseBodyError('authorization response error', { cause: { error }, response: new Response(null, { status }) }))
  return step.kind === 'final' || step.kind === 'retry' ? step.error : new LoginError('misconfigured', `The redirect carried ${error}.`)
}

interface Poller {
  readonly clock: () => number
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
}

interface PollBounds {
  readonly deadline: number
  readonly intervalMs: number
  readonly signal: AbortSignal | undefined
  /** Whether to ask for held answers; the loopback code exchange is not a poll. */
  readonly holdable?: boolean
}

/** The per-request options a poll passes to oauth4webapi. */
interface PollRequest {
  readonly signal: AbortSignal
  readonly headers?: Record<string, string>
}

/** Consecutive failed polls (5xx, network, 429) after which the relay counts as unavailable. */
const MAX_FAILED_POLLS = 5

async function pollUntilTokens(poller: Poller, bounds: PollBounds, attempt: (request: PollRequest) => Promise<Session>): Promise<Session> {
  const { clock, sleep } = poller
  const outer = bounds.signal ?? new AbortController().signal
  let interval = bounds.intervalMs
  let failures = 0
  let lastProblem: string | undefined
  for (;;) {
    if (outer.aborted) throw aborted(outer)
    const started = clock()
    const holdMs = bounds.holdable === false ? 0 : PREFER_WAIT_SECONDS * 1000
    const request: PollRequest = {
      signal: AbortSignal.any([outer, AbortSignal.timeout(holdMs + 30_000)]),
      // RFC 7240 §4.3: a relay with held pickups answers when the sign-in lands or after the wait; others ignore it.
      ...(holdMs > 0 ? { headers: { Prefer: `wait=${PREFER_WAIT_SECONDS}` } } : {}),
    }
    let waitMs = interval
    try {
      return await attempt(request)
    } catch (error) {
      const step = pollStep(error, outer)
      if (step.kind === 'final') throw step.error
      if (step.kind === 'retry') {
        failures += 1
        if (failures >= MAX_FAILED_POLLS || (step.error.oauthError === 'invalid_dpop_proof' && lastProblem === 'invalid_dpop_proof')) throw step.error
        lastProblem = step.error.oauthError
        waitMs = Math.max(interval, step.waitMs)
      } else {
        failures = 0
        lastProblem = undefined
        // RFC 8628 §3.5: slow_down adds 5 s to the interval for this and every later poll.
        if (step.kind === 'slow_down') interval += 5_000
        waitMs = interval
      }
    }
    // A held answer already waited; an immediate one waits the interval.
    const rest = Math.max(0, waitMs - (clock() - started))
    if (clock() + rest >= bounds.deadline) throw new LoginError('expired', 'The sign-in was not finished in time.')
    await sleep(rest, outer)
  }
}

function withDeadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(0, ms))
  return signal ? AbortSignal.any([signal, timeout]) : timeout
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted(signal))
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(aborted(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

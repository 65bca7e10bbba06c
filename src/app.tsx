/**
 * @module
 * The relay as a Hono app. Every runtime dependency (store, clock, upstream fetch, logger,
 * limiter) is injected, so the same app runs on Workers, on Deno and under test.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { NONCE, secureHeaders } from 'hono/secure-headers'
import type { SecureHeadersVariables } from 'hono/secure-headers'
import { sha256Base64Url } from './base64url.ts'
import { consumeBindingCookie, createBinding, setBindingCookie } from './binding.ts'
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import type { ErrorFormat } from './errors.ts'
import { authorizeQuery, callbackQuery, tokenForm } from './inputs.ts'
import { consoleLogger, flowId } from './log.ts'
import type { Logger } from './log.ts'
import { DeniedPage, DonePage } from './pages.tsx'
import { importStateKeys, signState, verifyState } from './state.ts'
import type { StateKeys } from './state.ts'
import { AUTHORIZATION_ERRORS, guardStore } from './store.ts'
import type { AuthorizationError, CodeStore, FlowRecord } from './store.ts'
import { createUnityClient } from './unity.ts'
import type { TokenOutcome } from './unity.ts'

/** Milliseconds since the Unix epoch, like `Date.now`. */
export type Clock = () => number

/** Decides whether a pickup may go ahead; the Workers Rate Limiting binding fits as is. */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>
}

/** What the relay needs from its runtime. Only `config` and `store` are required. */
export interface RelayDeps {
  readonly config: Config
  readonly store: CodeStore
  /** Used for every call to Unity; default `globalThis.fetch`. */
  readonly fetch?: typeof fetch
  readonly clock?: Clock
  readonly log?: Logger
  /** Checked on each code pickup; a refusal answers `slow_down` (RFC 8628 §3.5). */
  readonly limiter?: RateLimiter
  /** Timeout for each call to Unity's token endpoint; default 10 s. */
  readonly upstreamTimeoutMs?: number
}

type RelayEnv = { Variables: SecureHeadersVariables & { errorFormat: ErrorFormat } }

/** The relay's Hono app; serve it with `relay.fetch`. */
export type Relay = Hono<RelayEnv>

/** Paths a user's browser opens: errors there render as HTML pages. */
const BROWSER_PATHS: ReadonlySet<string> = new Set(['/authorize', '/callback'])

/**
 * Builds the relay.
 *
 * @example
 * const app = createRelay({ config: parseConfig(env), store: new WorkersKvCodeStore(env.AUTH_CODES) })
 * export default { fetch: app.fetch }
 */
export function createRelay(deps: RelayDeps): Relay {
  const { config, store, clock = Date.now, log = consoleLogger, limiter } = deps
  const unity = createUnityClient({ config, fetch: deps.fetch ?? ((input, init) => fetch(input, init)), timeoutMs: deps.upstreamTimeoutMs })
  let stateKeys: Promise<StateKeys> | undefined
  const keys = () => (stateKeys ??= importStateKeys(config.stateSecrets))
  const nowSeconds = () => Math.floor(clock() / 1000)
  const redirectUriFor = (c: Context) => config.redirectUri ?? new URL('/callback', c.req.url).href

  const app = createBaseApp(log)

  app.get('/healthz', (c) => c.json({ ok: true }))

  app.get('/authorize', authorizeQuery(config), async (c) => {
    const { challenge, scope, returnTo } = c.req.valid('query')
    const now = nowSeconds()
    const binding = await createBinding()
    const state = await signState(await keys(), {
      iat: now,
      exp: now + config.stateTtlSeconds,
      cc: challenge,
      sc: scope,
      bh: binding.hash,
      ...(returnTo === undefined ? {} : { rt: returnTo }),
    })
    setBindingCookie(c, binding, config.stateTtlSeconds)
    log.info('authorize.redirect', { flow: flowId(challenge) })
    return c.redirect(unity.authorizeUrl({ redirectUri: redirectUriFor(c), scope, state, challenge }), 302)
  })

  app.get('/callback', callbackQuery, async (c) => {
    const input = c.req.valid('query')
    const now = nowSeconds()
    // The state is verified before anything in the response is acted on, `error` included.
    const flow = await verifyState(await keys(), input.state, now)
    await consumeBindingCookie(c, flow.bh)
    // RFC 9207 §2.4: with a known issuer, a response without `iss` or with another one is refused (mix-up defence).
    if (config.issuer !== undefined && input.iss !== config.issuer) {
      throw new RelayError('issuer_mismatch', 'The sign-in response did not come from the expected Unity server. Start again from the app.')
    }
    const exp = now + config.codeTtlSeconds
    const record: FlowRecord =
      input.code !== undefined ? { code: input.code, redirect_uri: redirectUriFor(c), exp } : { error: toAuthorizationError(input.error), exp }
    await guardStore('save the sign-in in', store.save(flow.cc, record, config.codeTtlSeconds))
    log.info('callback.stored', { flow: flowId(flow.cc), outcome: 'code' in record ? 'code' : record.error })
    if (flow.rt !== undefined) return c.redirect(flow.rt, 303)
    const nonce = c.get('secureHeadersNonce')
    return c.html('code' in record ? <DonePage nonce={nonce} /> : <DeniedPage error={record.error} nonce={nonce} />)
  })

  app.use('/token', cors({ origin: (origin) => (config.returnToOrigins.includes(origin) ? origin : null), allowMethods: ['POST'], maxAge: 600 }))

  app.post('/token', tokenForm, async (c) => {
    const input = c.req.valid('form')
    if (input.grantType === 'refresh_token') {
      return tokenResponse(await unity.refresh({ refreshToken: input.refreshToken, scope: input.scope }))
    }
    const challenge = await sha256Base64Url(input.verifier)
    const flow = flowId(challenge)
    if (limiter && !(await limiter.limit({ key: challenge })).success) {
      throw new RelayError('slow_down', 'Poll less often.')
    }
    const claim = await guardStore('read', store.claim(challenge, nowSeconds()))
    if (!claim) throw new RelayError('authorization_pending', 'The user has not finished signing in yet.')
    const { record } = claim
    if ('error' in record) {
      await guardStore('keep the sign-in in', claim.release())
      throw new RelayError(record.error, 'Unity did not authorize the app. Start a new sign-in.', { status: 400 })
    }
    const outcome = await unity.exchangeCode({ code: record.code, redirectUri: record.redirect_uri, verifier: input.verifier })
    if (outcome.kind === 'unavailable') {
      await guardStore('keep the sign-in in', claim.release())
    } else {
      // The code is spent either way; a leftover record only earns a retry `invalid_grant` from Unity.
      await claim.consume().catch((cause: unknown) => log.warn('token.consume_failed', { flow, fault: faultName(cause) }))
    }
    log.info('token.exchanged', { flow, outcome: outcome.kind, ...(outcome.kind === 'tokens' ? {} : { error: outcome.error.code }) })
    return tokenResponse(outcome)
  })

  return app
}

/**
 * A relay whose settings are invalid: every request answers 500 naming the bad settings, so a
 * misconfigured deployment is obvious at its first request, `/healthz` included.
 */
export function createMisconfiguredRelay(error: RelayError, log: Logger = consoleLogger): Relay {
  const app = createBaseApp(log)
  app.all('*', () => {
    throw error
  })
  return app
}

function createBaseApp(log: Logger): Relay {
  const app = new Hono<RelayEnv>()
  app.use(
    secureHeaders({
      // RFC 9700 §4.2.4: the callback URL carries the code, so it must not leak via Referer.
      referrerPolicy: 'no-referrer',
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: [NONCE],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    }),
  )
  app.use(async (c, next) => {
    c.set('errorFormat', BROWSER_PATHS.has(c.req.path) ? 'html' : 'json')
    await next()
    // RFC 6749 §5.1: responses carrying codes, tokens or cookies must not be cached.
    c.header('Cache-Control', 'no-store')
    c.header('Pragma', 'no-cache')
  })
  app.notFound(() => {
    throw new RelayError('not_found', 'There is nothing at this address.')
  })
  app.onError((err, c) => {
    const error = asRelayError(err, c.req.routePath)
    if (error.status >= 500) log.error('request.failed', { status: error.status, error: error.code, fault: faultName(error.cause ?? err) })
    const response = error.toResponse(c.get('errorFormat') ?? 'json', c.get('secureHeadersNonce'))
    // newResponse keeps headers already set on the context, e.g. the cleared binding cookie.
    return c.newResponse(response.body, response)
  })
  return app
}

/** `route` is Hono's matched pattern (e.g. `/callback`), never request input. */
function asRelayError(err: unknown, route: string): RelayError {
  if (err instanceof RelayError) return err
  if (err instanceof HTTPException && err.status < 500) {
    return new RelayError('invalid_request', 'The request could not be read.', { cause: err })
  }
  return new RelayError('server_error', `The relay hit an unexpected fault while handling ${route}. Try again; if it persists, tell the relay operator.`, { cause: err })
}

function tokenResponse(outcome: TokenOutcome): Response {
  if (outcome.kind !== 'tokens') throw outcome.error
  return new Response(outcome.body, { status: 200, headers: { 'Content-Type': 'application/json; charset=UTF-8' } })
}

/** RFC 6749 §4.1.2.1 lists the only errors Unity may send; anything else becomes `server_error`. */
function toAuthorizationError(value: string | undefined): AuthorizationError {
  return AUTHORIZATION_ERRORS.find((known) => known === value) ?? 'server_error'
}

function faultName(cause: unknown): string {
  return cause instanceof Error ? cause.name : typeof cause
}

/**
 * @module
 * The relay as a Hono app. Every runtime dependency (store, clock, upstream fetch, logger,
 * limiter) is injected, so the same app runs on Workers, on Deno and under test. This is the one
 * place where dependencies are wired and middleware is ordered; each endpoint family lives in
 * its own module under `routes/`.
 */
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Context } from 'hono'
import { BadSettings } from './config.ts'
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import { consoleLogger } from './log.ts'
import type { LogFields, Logger } from './log.ts'
import { mountAuthorize } from './routes/authorize.tsx'
import { mountCallback } from './routes/callback.tsx'
import { canonicalHost } from './routes/canonical-host.ts'
import { faultName } from './routes/deps.ts'
import type { Clock, RateLimiter, Relay, RelayEnv, RouteDeps } from './routes/deps.ts'
import { mountDevice } from './routes/device.tsx'
import { METADATA_PATH, mountMetadata } from './routes/metadata.ts'
import { mountLanding } from './routes/landing.tsx'
import { mountToken } from './routes/token.ts'
import { API_CSP, fixedSecurityHeaders, newCspNonce, pageCsp } from './security-headers.ts'
import { importStateKeys } from './state.ts'
import type { StateKeys } from './state.ts'
import type { CodeStore } from './store.ts'
import { createUnityClient } from './unity.ts'

export type { Clock, RateLimiter, Relay } from './routes/deps.ts'

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

/** Paths a user's browser opens: errors there render as HTML pages. */
const BROWSER_PATHS: ReadonlySet<string> = new Set(['/authorize', '/callback', '/device'])

/** Paths that only ever answer JSON, so they skip the CSP nonce; any other path gets one, so no page can lose its stylesheet. */
const API_PATHS: ReadonlySet<string> = new Set(['/healthz', '/token', '/device_authorization', METADATA_PATH])

/**
 * Builds the relay.
 *
 * @example
 * const app = createRelay({ config: parseConfig(env), store: new WorkersKvCodeStore(env.AUTH_CODES) })
 * export default { fetch: app.fetch }
 */
export function createRelay(deps: RelayDeps): Relay {
  const { config, clock = Date.now, log = consoleLogger } = deps
  let stateKeys: Promise<StateKeys> | undefined
  const routeDeps: RouteDeps = {
    config,
    store: deps.store,
    unity: createUnityClient({ config, fetch: deps.fetch ?? ((input, init) => fetch(input, init)), timeoutMs: deps.upstreamTimeoutMs }),
    log,
    limiter: deps.limiter,
    nowSeconds: () => Math.floor(clock() / 1000),
    stateKeys: () => (stateKeys ??= importStateKeys(config.stateSecrets)),
    redirectUriFor: (c: Context) => config.redirectUri ?? new URL('/callback', c.req.url).href,
    publicOrigin: (c: Context) => new URL(config.redirectUri ?? c.req.url).origin,
  }

  const app = createBaseApp(log)
  mountLanding(app, routeDeps, { metadataPath: METADATA_PATH })
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.use('/authorize', canonicalHost(config))
  mountAuthorize(app, routeDeps)
  mountCallback(app, routeDeps)
  mountToken(app, routeDeps)
  mountDevice(app, routeDeps)
  mountMetadata(app, routeDeps)
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
  app.use(fixedSecurityHeaders())
  app.use(async (c, next) => {
    const path = c.req.path
    c.set('errorFormat', BROWSER_PATHS.has(path) ? 'html' : 'json')
    if (!API_PATHS.has(path)) c.set('secureHeadersNonce', newCspNonce())
    await next()
    // Set on the response in place: c.header() after next() would copy the whole Response.
    const headers = c.res.headers
    const nonce = c.get('secureHeadersNonce')
    const page = nonce !== undefined && headers.get('Content-Type')?.startsWith('text/html') === true
    headers.set('Content-Security-Policy', page ? pageCsp(nonce, c.get('formAction')) : API_CSP)
    // RFC 6749 §5.1: responses carrying codes, tokens or cookies must not be cached.
    headers.set('Cache-Control', 'no-store')
    headers.set('Pragma', 'no-cache')
  })
  app.notFound(() => {
    throw new RelayError('not_found', 'There is nothing at this address.')
  })
  app.onError((err, c) => {
    const error = asRelayError(err, c.req.routePath)
    if (error.status >= 500) log.error('request.failed', { status: error.status, error: error.code, ...faultFields(error.cause ?? err) })
    const response = error.toResponse(c.get('errorFormat') ?? 'json', c.get('secureHeadersNonce'))
    // newResponse keeps headers already set on the context, e.g. the cleared binding cookie.
    return c.newResponse(response.body, response)
  })
  return app
}

/** What a log line may say about a 500's cause: the bad settings' names, or the fault's class. */
function faultFields(cause: unknown): LogFields {
  return cause instanceof BadSettings ? { settings: cause.names } : { fault: faultName(cause) }
}

/** `route` is Hono's matched pattern (e.g. `/callback`), never request input. */
function asRelayError(err: unknown, route: string): RelayError {
  if (err instanceof RelayError) return err
  if (err instanceof HTTPException && err.status < 500) {
    return new RelayError('invalid_request', 'The request could not be read.', { cause: err })
  }
  return new RelayError('server_error', `The relay hit an unexpected fault while handling ${route}. Try again; if it persists, tell the relay operator.`, { cause: err })
}

/**
 * @module
 * The relay as a Hono app. Every runtime dependency (store, clock, upstream fetch, logger,
 * limiter) is injected, so the same app runs on Workers, on Deno and under test. This is the one
 * place where dependencies are wired and middleware is ordered; each endpoint family lives in
 * its own module under `routes/`.
 */
import { HonoBase } from 'hono/hono-base'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import type { Context } from 'hono'
import { BadSettings } from './config.ts'
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import { limitByClientIp } from './limits/by-client-ip.ts'
import { clientKey } from './limits/client-ip.ts'
import type { ClientIpOf } from './limits/client-ip.ts'
import type { RateLimitName } from './limits/settings.ts'
import { consoleLogger, faultName } from './log.ts'
import type { LogFields, Logger } from './log.ts'
import { createRefusalLog } from './log-budget.ts'
import type { RefusalLog } from './log-budget.ts'
import { cleanPlace } from './place.ts'
import type { PlaceOf } from './place.ts'
import { recordedGrants } from './grants.ts'
import { UNRECORDED_GRANTS } from './refresh.ts'
import { importRefreshSealKeys } from './refresh-seal.ts'
import type { RefreshSealKeys } from './refresh-seal.ts'
import { mountAuthorize } from './routes/authorize.ts'
import { mountCallback } from './routes/callback.ts'
import { canonicalHost } from './routes/canonical-host.ts'
import type { Clock, Relay, RelayContext, RelayEnv, RelayLimiters, RouteDeps } from './relay.ts'
import { mountDevice } from './routes/device.ts'
import { METADATA_PATH, mountMetadata } from './routes/metadata.ts'
import { mountLanding } from './routes/landing.ts'
import { mountRevoke } from './routes/revoke.ts'
import { mountToken } from './routes/token.ts'
import { apiResponse, cspNonce, hasSecurityHeaders, setSecurityHeaders } from './security-headers.ts'
import { importStateKeys } from './state.ts'
import type { StateKeys } from './state.ts'
import type { CodeStore } from './store.ts'
import { createUnityClient } from './unity.ts'

export type { Clock, RateLimiter, Relay, RelayLimiters } from './relay.ts'

/** What the relay needs from its runtime. Only `config` and `store` are required. */
export interface RelayDeps {
  readonly config: Config
  readonly store: CodeStore
  /** Used for every call to Unity; default `globalThis.fetch`. */
  readonly fetch?: typeof fetch
  readonly clock?: Clock
  readonly log?: Logger
  /** Rate limiters by name (see `limits/settings.ts`); a missing one is off. */
  readonly limiters?: RelayLimiters
  /** The client address of a request, for per-address limits; from the runtime entry. */
  readonly clientIp?: ClientIpOf
  /** Where a request came from, shown for device flows; from the runtime entry (Workers: `request.cf`). */
  readonly placeOf?: PlaceOf
  /** Timeout for each call to Unity's token endpoint; default 10 s. */
  readonly upstreamTimeoutMs?: number
}

/** Paths a user's browser opens: errors there render as HTML pages. */
const BROWSER_PATHS: ReadonlySet<string> = new Set(['/authorize', '/callback', '/device'])

/** What `/healthz` adds while `REDIRECT_URI` is unset. Written by the relay: no request input. */
export const REDIRECT_URI_WARNING =
  "REDIRECT_URI is not set: the metadata, verification_uri and the redirect URI sent to Unity are built from each request's Host header. Set it in production."

/**
 * Largest request body: the biggest legitimate one (a refresh token of 4 KiB in a form) fits
 * four times over, and a huge body is refused before it is read into memory.
 */
export const MAX_BODY_BYTES = 16 * 1024

/**
 * Builds the relay.
 *
 * @example
 * const app = createRelay({ config: parseConfig(env), store: new WorkersKvCodeStore(env.AUTH_CODES) })
 * export default { fetch: app.fetch }
 */
export function createRelay(deps: RelayDeps): Relay {
  const { config, clock = Date.now, log = consoleLogger, limiters = {}, clientIp = () => undefined } = deps
  let stateKeys: Promise<StateKeys> | undefined
  const refusals = createRefusalLog({ log, clock })
  let refreshSealKeys: Promise<RefreshSealKeys> | undefined
  const nowSeconds = () => Math.floor(clock() / 1000)
  const routeDeps: RouteDeps = {
    config,
    store: deps.store,
    unity: createUnityClient({ config, fetch: deps.fetch ?? ((input, init) => fetch(input, init)), timeoutMs: deps.upstreamTimeoutMs }),
    log,
    limiters,
    placeOf: (request) => (deps.placeOf ? cleanPlace(deps.placeOf(request)) : undefined),
    nowSeconds,
    stateKeys: () => (stateKeys ??= importStateKeys(config.stateSecrets)),
    refreshSealKeys: () => (refreshSealKeys ??= importRefreshSealKeys(config.refreshSealSecrets)),
    refreshGrants:
      config.refreshTokens === 'sealed'
        ? recordedGrants({ store: deps.store, ttlSeconds: config.refreshGrantTtlSeconds, graceSeconds: config.refreshReuseGraceSeconds, log, nowSeconds })
        : UNRECORDED_GRANTS,
    redirectUriFor: (c: Context) => config.redirectUri ?? new URL('/callback', c.req.url).href,
    publicOrigin: (c: Context) => new URL(config.redirectUri ?? c.req.url).origin,
    logRefusal: (c, error, status) => refusals.refused(refusalFields(c, error, status)),
  }

  const app = createBaseApp(log, refusals)
  // Each limiter is the first middleware on its paths, so it sees the request object the entry knows.
  const clientKeyOf = (request: Request) => clientKey(clientIp(request))
  const perClientIp = (name: RateLimitName) =>
    limitByClientIp({ limiter: limiters[name], retryAfterSeconds: config.rateLimits[name].periodSeconds, log, clientKeyOf })
  // Counted before the body is read, so a flood costs the relay as little as possible.
  app.use('/authorize', perClientIp('authorize'))
  app.use('/callback', perClientIp('callback'))
  app.use('/token', perClientIp('token'))
  // RFC 7009 §5: revocation is open to anyone holding a token, so it is damped per address like /token.
  app.use('/revoke', perClientIp('token'))
  // RFC 8628 §5.1: user codes are short, so guessing at /device must be rate limited; a device authorization is a store write.
  app.use('/device', perClientIp('device'))
  app.use('/device_authorization', perClientIp('device'))
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new RelayError('payload_too_large', `The request body must be at most ${MAX_BODY_BYTES / 1024} KiB.`)
      },
    }),
  )
  mountLanding(app, routeDeps, { metadataPath: METADATA_PATH })
  // Without REDIRECT_URI the issuer (RFC 8414 §2, the server's identifier) and verification_uri are whatever Host a request names: tell monitoring. `ok` stays the first member.
  const health = JSON.stringify(config.redirectUri === undefined ? { ok: true, warnings: [REDIRECT_URI_WARNING] } : { ok: true })
  app.get('/healthz', () => apiResponse(health, 200, 'application/json'))
  const toCanonicalHost = canonicalHost(config)
  if (toCanonicalHost) app.use('/authorize', toCanonicalHost)
  mountAuthorize(app, routeDeps)
  mountCallback(app, routeDeps)
  mountToken(app, routeDeps)
  mountRevoke(app, routeDeps)
  mountDevice(app, routeDeps)
  mountMetadata(app, routeDeps)
  allowOnly(app, '/authorize', ['GET', 'POST'], 'Open this address in a browser; apps link to it with GET, and its page answers with POST.')
  allowOnly(app, '/callback', ['GET'], 'Only Unity sends browsers here, with GET.')
  allowOnly(app, '/token', ['POST'], 'POST a form (application/x-www-form-urlencoded) to /token (RFC 6749 §3.2).')
  allowOnly(app, '/revoke', ['POST'], 'POST a form (application/x-www-form-urlencoded) with token=<refresh token> to /revoke (RFC 7009 §2.1).')
  allowOnly(app, '/device', ['GET'], 'Open this address in a browser and type the code your device shows.')
  allowOnly(app, '/device_authorization', ['POST'], 'POST a form (application/x-www-form-urlencoded) to /device_authorization (RFC 8628 §3.1).')
  return app
}

/** Answers every other method on `path` with 405 and `Allow` (RFC 9110 §15.5.6). Mount after the path's routes. */
function allowOnly(app: Relay, path: string, methods: readonly string[], description: string): void {
  app.all(path, () => {
    throw new RelayError('method_not_allowed', description, { headers: { Allow: methods.join(', ') } })
  })
}

/**
 * A relay whose settings are invalid: every request answers 500 naming the bad settings, so a
 * misconfigured deployment is obvious at its first request, `/healthz` included.
 */
export function createMisconfiguredRelay(error: RelayError, log: Logger = consoleLogger): Relay {
  const app = createBaseApp(log, createRefusalLog({ log, clock: Date.now }))
  app.all('*', () => {
    throw error
  })
  return app
}

function createBaseApp(log: Logger, refusals: RefusalLog): Relay {
  // RegExpRouter alone: every relay path is static, so Hono's default fallback to TrieRouter (and the SmartRouter choosing between them) would only add to the bundle.
  const app: Relay = new HonoBase<RelayEnv>({ router: new RegExpRouter() })
  app.use(async (c, next) => {
    refusals.flush()
    c.set('errorFormat', BROWSER_PATHS.has(c.req.path) ? 'html' : 'json')
    await next()
    // A response Hono copied (e.g. to add a cookie or a CORS header) is not the one apiResponse made, so it gets them here.
    if (!hasSecurityHeaders(c.res)) setSecurityHeaders(c.res.headers, c.get('secureHeadersNonce'), c.get('formAction'), c.get('pageScript'))
  })
  app.notFound((c) => renderError(c, new RelayError('not_found', 'There is nothing at this address.')))
  app.onError((err, c) => {
    const error = asRelayError(err, c.req.routePath)
    if (error.status >= 500) log.error('request.failed', { status: error.status, error: error.code, ...faultFields(error.cause ?? err) })
    // Every refusal leaves one line, rate-limited; a pending poll is the normal answer, not a refusal.
    else if (error.code !== 'authorization_pending') refusals.refused(refusalFields(c, error.code, error.status))
    return renderError(c, error)
  })
  return app
}

/** A refusal's log line: its code and status, and the flow's id once the handler knew the flow. */
function refusalFields(c: RelayContext, error: string, status: number): LogFields {
  const flow = c.get('flow')
  return flow === undefined ? { error, status } : { error, status, flow }
}

function renderError(c: RelayContext, error: RelayError): Response {
  const format = c.get('errorFormat') ?? 'json'
  const response = error.toResponse(format, format === 'html' ? cspNonce(c) : undefined)
  // newResponse keeps headers already set on the context, e.g. the cleared binding cookie.
  return c.newResponse(response.body, response)
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

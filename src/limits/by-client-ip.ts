/**
 * @module
 * Rate limiting as Hono middleware: `limitByClientIp` guards a route per client address, and
 * `isAllowed` checks any key (a flow, an address) from inside a handler.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { RelayError } from '../errors.ts'
import { faultName } from '../log.ts'
import type { Logger } from '../log.ts'
import type { RateLimiter, RelayEnv } from '../relay.ts'

/** Options of {@link limitByClientIp}. */
export interface LimitByClientIpOptions {
  /** `undefined` turns the limit off (e.g. a Worker deployed without the binding). */
  readonly limiter: RateLimiter | undefined
  /** Sent as `Retry-After` on a refusal: the limit's period. */
  readonly retryAfterSeconds: number
  readonly log: Logger
  /** The request's rate-limit key (see `limits/client-ip.ts`), from the runtime entry's client address. */
  readonly clientKeyOf: (request: Request) => string
}

/**
 * Refuses a client address that has used up its limit with 429 and `Retry-After` (RFC 6585 §4),
 * rendered as a page or JSON like every other error on the route. Sets the `clientKey` variable
 * for later checks on the same request (the refresh limit).
 *
 * @example
 * app.use('/device', limitByClientIp({ limiter: limiters.device, retryAfterSeconds: 60, log, clientKeyOf }))
 */
export function limitByClientIp({ limiter, retryAfterSeconds, log, clientKeyOf }: LimitByClientIpOptions): MiddlewareHandler<RelayEnv> {
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 1) throw new RangeError('limitByClientIp: retryAfterSeconds must be a whole number of seconds')
  return async function limitByClientIpHandler(c, next) {
    const key = clientKeyOf(c.req.raw)
    c.set('clientKey', key)
    if (limiter && !(await isAllowed(limiter, key, log))) {
      throw tooManyRequests(retryAfterSeconds)
    }
    await next()
  }
}

/**
 * The client's rate-limit key, which {@link limitByClientIp} sets on the paths it guards.
 *
 * @throws {Error} on a path without that middleware: a wiring fault, answered as a 500.
 */
export function limitedClientKey(c: Context<RelayEnv>): string {
  const key = c.get('clientKey')
  if (key === undefined) throw new Error('clientKey is set only on paths behind limitByClientIp')
  return key
}

/** The 429 for a client over a per-address limit. */
export function tooManyRequests(retryAfterSeconds: number): RelayError {
  return new RelayError('rate_limited', `Too many requests from your network. Try again in ${retryAfterSeconds} seconds.`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  })
}

/**
 * Counts one request for `key`. A limiter fault lets the request through: limits damp abuse,
 * and sign-ins must not fail because the limiter is down.
 */
export async function isAllowed(limiter: RateLimiter, key: string, log: Logger): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success
  } catch (cause) {
    log.warn('limit.unavailable', { fault: faultName(cause) })
    return true
  }
}

/**
 * @module
 * Keeps a sign-in on the relay's one public host. The binding cookie goes back only to the host
 * name that set it, so a flow started on another host than `REDIRECT_URI`'s could never finish.
 */
import type { MiddlewareHandler } from 'hono'
import type { Config } from '../config.ts'
import { RelayError } from '../errors.ts'
import type { RelayEnv } from './deps.ts'

/**
 * Refuses a request whose host name differs from `REDIRECT_URI`'s, with a page naming the relay's
 * address. It refuses rather than redirects: behind a proxy that rewrites `Host`, a redirect would
 * loop forever, while the page says what to fix. The address shown comes from the settings only.
 * With no `REDIRECT_URI`, the callback follows the request's origin and any host is fine.
 *
 * @example
 * app.use('/authorize', canonicalHost(config))
 */
export function canonicalHost(config: Config): MiddlewareHandler<RelayEnv> {
  const redirectUri = config.redirectUri === undefined ? undefined : new URL(config.redirectUri)
  const relayAddress = redirectUri === undefined ? undefined : new URL('.', redirectUri).href
  return async function canonicalHost(c, next) {
    // RFC 6265 §8.5: cookies are scoped by host name, not port or scheme, so only the name must match.
    if (redirectUri !== undefined && new URL(c.req.url).hostname !== redirectUri.hostname) {
      throw new RelayError(
        'wrong_host',
        `This relay's address is ${relayAddress}, but this page was opened under another host name. A browser keeps the sign-in cookie per host name, so the sign-in could not finish here. Start the sign-in again with the relay at ${relayAddress}. If that is already the address you opened, the proxy in front of the relay must pass the original Host header.`,
      )
    }
    await next()
  }
}

/**
 * @module
 * Keeps a local sign-in on `REDIRECT_URI`'s host name. The binding cookie goes back only to the
 * host name that set it (RFC 6265 §8.5), so a flow started at `localhost` could never finish at a
 * `127.0.0.1` callback: `/authorize` sends the browser to the configured name first.
 */
import type { MiddlewareHandler } from 'hono'
import type { Config } from '../config.ts'
import type { RelayEnv } from '../relay.ts'

/**
 * Redirects `/authorize` opened under another loopback name than `REDIRECT_URI`'s (same port) to
 * the same path and query under `REDIRECT_URI`'s origin. Only the origin changes, and only to the
 * configured one, so this is no open redirect. Other hosts pass: behind a proxy the request's host
 * may be the proxy's rewrite rather than the browser's, and a redirect there would loop.
 * `undefined` unless `REDIRECT_URI` is a loopback URL, since no request could be redirected then.
 *
 * @example
 * const toCanonicalHost = canonicalHost(config)
 * if (toCanonicalHost) app.use('/authorize', toCanonicalHost)
 */
export function canonicalHost(config: Config): MiddlewareHandler<RelayEnv> | undefined {
  const canonical = config.redirectUri === undefined ? undefined : new URL(config.redirectUri)
  if (!canonical || !isLoopback(canonical)) return undefined
  return async function canonicalHost(c, next) {
    const url = new URL(c.req.url)
    // Two loopback names on one port are one listener seen under two names, so no proxy can turn this into a loop.
    if (c.req.method === 'GET' && url.hostname !== canonical.hostname && isLoopback(url) && url.port === canonical.port) {
      return c.redirect(new URL(`authorize${url.search}`, canonical).href, 302)
    }
    await next()
  }
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
}

/**
 * @module
 * CORS for the API paths a browser app calls (`POST /token`, `POST /revoke`): only the
 * `RETURN_TO_ALLOWLIST` origins, and only for requests that carry `Origin`.
 */
import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { Config } from '../config.ts'
import type { RelayEnv } from '../relay.ts'

/**
 * The CORS middleware for one API path. Only a browser's cross-origin request carries `Origin`;
 * for the rest, hono/cors would only add `Vary: Origin` (moot on a no-store answer), by copying
 * the whole Response after the handler, so those skip it.
 *
 * @example
 * app.use('/token', corsForApps(config, ['Content-Type', 'DPoP']))
 */
export function corsForApps(config: Config, allowHeaders?: string[]): MiddlewareHandler<RelayEnv> {
  const corsForApp = cors({
    origin: (origin) => (config.returnToOrigins.includes(origin) ? origin : null),
    allowMethods: ['POST'],
    ...(allowHeaders === undefined ? {} : { allowHeaders }),
    maxAge: 600,
  })
  return function corsForAppsHandler(c, next) {
    return c.req.header('Origin') === undefined ? next() : corsForApp(c, next)
  }
}

/**
 * @module
 * A small HTTP server that answers as legacy Spring Security OAuth 2.x does by default, under a
 * context root: Basic client authentication on the token endpoint (401 `unauthorized`, realm
 * `oauth2/client`), `invalid_grant` "Invalid authorization code: …" in a chunked answer, the login
 * redirect before anything else at the authorize endpoint (or, with `checkRedirectFirst`, the
 * OAuth Error page for an unregistered redirect URI), no discovery document, and Spring Boot's
 * whitelabel page everywhere else. For the doctor's process tests.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basicAuthorization } from '../../src/unity.ts'

/** Options of {@link startSpringUnity}. */
export interface SpringUnityOptions {
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUris: readonly string[]
  /** Validate `redirect_uri` before the login redirect (a customised Spring); default: login first. */
  readonly checkRedirectFirst?: boolean
  /** Added to the `Date` header, in seconds: a Unity whose clock is off. */
  readonly clockOffsetSeconds?: number
}

/** A running Spring-like Unity. */
export interface SpringUnity {
  /** The base URL with the context root, e.g. `http://127.0.0.1:41234/vu/public`: the relay's UNITY_URL. */
  readonly url: string
  /** Every request line it saw, e.g. `POST /vu/public/api/oauth/token`. */
  readonly seen: readonly string[]
  close(): Promise<void>
}

const ROOT = '/vu/public'

/** Starts the server on a free loopback port. */
export async function startSpringUnity(options: SpringUnityOptions): Promise<SpringUnity> {
  const seen: string[] = []
  const expected = basicAuthorization(options.clientId, options.clientSecret)
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split('?')[0]}`)
    res.sendDate = false
    res.setHeader('Date', new Date(Date.now() + (options.clockOffsetSeconds ?? 0) * 1000).toUTCString())
    void handle(req, res).catch(() => res.destroy())
  })
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://spring.invalid')
    if (req.method === 'POST' && url.pathname === `${ROOT}/api/oauth/token`) {
      let body = ''
      for await (const chunk of req) body += String(chunk)
      const form = new URLSearchParams(body)
      if (req.headers.authorization !== expected) {
        const description = req.headers.authorization ? 'Bad credentials' : 'Full authentication is required to access this resource'
        res.writeHead(401, {
          'Content-Type': 'application/json;charset=UTF-8',
          'WWW-Authenticate': `Basic realm="oauth2/client", error="unauthorized", error_description="${description}"`,
          'Cache-Control': 'no-store',
          Pragma: 'no-cache',
        })
        return res.end(JSON.stringify({ error: 'unauthorized', error_description: description }))
      }
      // No Content-Length: Spring streams the serialised OAuth2Exception.
      res.writeHead(400, { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' })
      res.write('{"error":"invalid_grant",')
      return res.end(`"error_description":${JSON.stringify(`Invalid authorization code: ${form.get('code') ?? ''}`)}}`)
    }
    if (req.method === 'GET' && url.pathname === `${ROOT}/api/oauth/authorize`) {
      const redirect = url.searchParams.get('redirect_uri') ?? ''
      if (options.checkRedirectFirst && !options.redirectUris.includes(redirect)) {
        res.writeHead(400, { 'Content-Type': 'text/html;charset=UTF-8' })
        return res.end(`<html><body><h1>OAuth Error</h1><p>error=&quot;invalid_grant&quot;, error_description=&quot;Invalid redirect: ${redirect} does not match one of the registered values.&quot;</p></body></html>`)
      }
      res.writeHead(302, { Location: `http://${req.headers.host}${ROOT}/login` })
      return res.end()
    }
    res.writeHead(404, { 'Content-Type': 'text/html;charset=UTF-8' })
    res.end(`<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p><div>There was an unexpected error (type=Not Found, status=404).</div><div>No message available</div></body></html>`)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}${ROOT}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

/**
 * @module DEV: `npm run app -- --loopback`. Signs in the way a native app does with any OAuth
 * library (RFC 8252): openid-client, which knows nothing of the relay, discovers it (RFC 8414),
 * listens on a loopback port for the redirect (§7.3), sends the browser to the relay's
 * authorization endpoint with PKCE and a state, and exchanges the code it receives (RFC 6749
 * §4.1.3), with no client secret. Then one refresh with the (sealed) refresh token.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as client from 'openid-client'

/** Options of {@link loopbackLogin}. */
export interface LoopbackLoginOptions {
  readonly relay: string
  readonly scope?: string | undefined
  /** What the app calls itself; the relay shows it and never trusts it. */
  readonly clientId?: string
  /** Called once with the URL the user's browser must open, and the redirect URI the app listens on. */
  readonly onAuthorizeUrl: (url: string, redirectUri: string) => void | Promise<void>
  /** Ends the wait for the redirect early, e.g. from a test. */
  readonly signal?: AbortSignal
}

/** What a loopback sign-in got: the token response, a refresh's, and the redirect URI it listened on. */
export interface LoopbackLogin {
  readonly tokens: client.TokenEndpointResponse
  readonly refreshed: client.TokenEndpointResponse | undefined
  readonly redirectUri: string
}

const DONE_PAGE = '<!doctype html><meta charset="utf-8"><title>Signed in</title><h1>Signed in</h1><p>You can close this tab and return to the app.</p>'

/** Runs the whole loopback sign-in, then refreshes once if a refresh token came back. */
export async function loopbackLogin(options: LoopbackLoginOptions): Promise<LoopbackLogin> {
  const insecure = new URL(options.relay).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}
  const config = await client.discovery(new URL(options.relay), options.clientId ?? 'unity-oauth-relay-dev-app', undefined, client.None(), { algorithm: 'oauth2', ...insecure })
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const listener = await listenOnLoopback(options.signal)
  try {
    const redirectUri = `http://127.0.0.1:${listener.port}/callback`
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: options.scope ?? 'api',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    })
    await options.onAuthorizeUrl(url.href, redirectUri)
    const callback = await listener.redirect
    // openid-client checks state and iss (RFC 9207, announced in the metadata) before it sends the code.
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })
    const refreshed = tokens.refresh_token ? await client.refreshTokenGrant(config, tokens.refresh_token) : undefined
    return { tokens, refreshed, redirectUri }
  } finally {
    listener.close()
  }
}

/** An HTTP server on 127.0.0.1 and a free port, which resolves with the first `/callback` it receives. */
async function listenOnLoopback(signal?: AbortSignal): Promise<{ port: number; redirect: Promise<URL>; close(): void }> {
  let received: (url: URL) => void = () => {}
  let failed: (error: Error) => void = () => {}
  const redirect = new Promise<URL>((resolve, reject) => {
    received = resolve
    failed = reject
  })
  redirect.catch(() => {})
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    if (url.pathname !== '/callback') {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' }).end(DONE_PAGE)
    received(url)
  })
  signal?.addEventListener('abort', () => failed(new Error('the sign-in was abandoned')), { once: true })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, redirect, close: () => server.close() }
}

/**
 * @module
 * Finds a relay's RFC 8414 metadata with oauth4webapi and decides which sign-in it offers.
 */
import * as oauth from 'oauth4webapi'
import { LoginError } from './errors.ts'

/**
 * The client id the relay's public client sends; the relay holds Unity's real credentials.
 *
 * @example
 * await startLogin({ relay, clientId: DEFAULT_CLIENT_ID }) // the default
 */
export const DEFAULT_CLIENT_ID = 'unity-login'

/**
 * How a request leaves the client: `fetch` by default, or an injected one (tests, proxies).
 *
 * @example
 * const viaProxy: Fetch = (url, init) => fetch(url, { ...init, headers: { ...init.headers, 'X-Trace': '1' } })
 */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>

/**
 * Options shared by every call of the client.
 *
 * @example
 * const options: ClientOptions = { fetch: relay.app.request, clientId: 'my-cli' }
 */
export interface ClientOptions {
  /** Replaces `globalThis.fetch`, e.g. an in-process relay's `app.request`. */
  readonly fetch?: Fetch
  /** Sent as `client_id`; default {@link DEFAULT_CLIENT_ID}. */
  readonly clientId?: string
}

/**
 * A relay as the client talks to it: its metadata and the oauth4webapi client for it.
 *
 * @example
 * const relay: Relay = await discoverRelay('https://relay.example.com')
 * await refresh(session, { relayInfo: relay })
 */
export interface Relay {
  /** The relay's origin, e.g. `https://relay.example.com`; sessions are keyed by it. */
  readonly origin: string
  readonly as: oauth.AuthorizationServer
  readonly client: oauth.Client
  /** Options every oauth4webapi call gets: the fetch and, for a loopback `http:` relay, `allowInsecureRequests`. */
  readonly http: { [oauth.customFetch]?: Fetch; [oauth.allowInsecureRequests]?: boolean }
}

/**
 * The sign-ins a relay can offer.
 *
 * @example
 * const mode: LoginMode = process.env.SSH_TTY ? 'device' : 'pickup'
 */
export type LoginMode = 'loopback' | 'pickup' | 'device'

/**
 * The relay's origin from what a user typed. Only `https:` is accepted, or `http:` on a loopback
 * address: RFC 8252 §8.3 allows plain HTTP only where nothing leaves the machine, and RFC 6749
 * §3.1 requires TLS for anything that carries codes and tokens.
 *
 * @example
 * relayOrigin('https://relay.example.com/') // 'https://relay.example.com'
 * relayOrigin('http://example.com')         // throws LoginError { code: 'misconfigured' }
 */
export function relayOrigin(relay: string | URL): string {
  let url: URL
  try {
    url = new URL(relay)
  } catch {
    throw new LoginError('misconfigured', `The relay address is not a URL: ${String(relay).slice(0, 200)}`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new LoginError('misconfigured', `The relay must be https:// (http:// only on 127.0.0.1, [::1] or localhost): ${url.origin}`)
  }
  if (url.pathname !== '/' || url.search || url.hash) throw new LoginError('misconfigured', `The relay is served at the root of its origin: use ${url.origin}`)
  return url.origin
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname)
}

/**
 * Fetches `/.well-known/oauth-authorization-server` (RFC 8414) and checks that its `issuer` is the
 * relay's origin (RFC 8414 §3.3), so a relay cannot point the client at another server's endpoints.
 *
 * @example
 * const relay = await discoverRelay('https://relay.example.com')
 * console.log(relay.as.token_endpoint) // 'https://relay.example.com/token'
 */
export async function discoverRelay(relay: string | URL, options: ClientOptions = {}): Promise<Relay> {
  const origin = relayOrigin(relay)
  const issuer = new URL(origin)
  const http: Relay['http'] = {}
  if (options.fetch) http[oauth.customFetch] = options.fetch
  if (issuer.protocol === 'http:') http[oauth.allowInsecureRequests] = true
  let response: Response
  try {
    response = await oauth.discoveryRequest(issuer, { ...http, algorithm: 'oauth2', signal: AbortSignal.timeout(15_000) })
  } catch (cause) {
    throw new LoginError('unavailable', `Cannot reach the relay at ${origin}.`, { cause })
  }
  if (response.status >= 500 || response.status === 429) throw new LoginError('unavailable', `The relay at ${origin} answered ${response.status}.`, { status: response.status })
  let as: oauth.AuthorizationServer
  try {
    as = await oauth.processDiscoveryResponse(issuer, response)
  } catch (cause) {
    throw new LoginError('misconfigured', `${origin} does not serve a relay's metadata at /.well-known/oauth-authorization-server.`, { cause, status: response.status })
  }
  if (!as.token_endpoint) throw new LoginError('misconfigured', `The relay at ${origin} names no token_endpoint.`)
  return { origin, as, client: { client_id: options.clientId ?? DEFAULT_CLIENT_ID }, http }
}

/**
 * The modes a relay offers, best first: the standard sign-in for native apps (RFC 8252 loopback
 * redirect) when its metadata names an `authorization_endpoint` for `response_type=code`, then
 * the relay's PKCE pickup with the confirmation page (every relay has it), and the device grant
 * (RFC 8628) when it names a `device_authorization_endpoint`.
 *
 * @example
 * offeredModes((await discoverRelay(url)).as) // ['pickup', 'device'] on a relay without /authorize for loopback apps
 */
export function offeredModes(as: oauth.AuthorizationServer): LoginMode[] {
  const modes: LoginMode[] = []
  if (as.authorization_endpoint && as.response_types_supported?.includes('code')) modes.push('loopback')
  modes.push('pickup')
  if (as.device_authorization_endpoint) modes.push('device')
  return modes
}

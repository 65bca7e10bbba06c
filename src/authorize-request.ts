/**
 * @module
 * Reads a standard authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3): `GET /authorize` with
 * a `redirect_uri`. The redirect URI and `client_id` are checked first, and a request that fails
 * them is answered at the relay, never redirected (RFC 6749 §4.1.2.1); any later failure is
 * redirected to the app's redirect URI with its error.
 */
import { isScope, MAX_SCOPE_LENGTH } from './config.ts'
import type { Config } from './config.ts'
import { RelayError } from './errors.ts'
import { CHALLENGE_PATTERN, CLIENT_ID_PATTERN } from './oauth-values.ts'
import { checkAppRedirectUri } from './redirect-uri.ts'
import type { AppRedirect } from './redirect-uri.ts'
import type { AuthorizationError } from './store.ts'

/** Longest app `state` accepted; it travels inside the relay's own state to Unity and back. */
export const MAX_APP_STATE_LENGTH = 512

/** A standard authorization request that the relay will run. */
export interface StandardRequest {
  readonly kind: 'request'
  readonly challenge: string
  readonly scope: string
  readonly redirect: AppRedirect
  /** The app's `client_id`: free text, shown and logged, never trusted. */
  readonly clientId: string
  /** The app's `state`, echoed back exactly (RFC 6749 §4.1.2). */
  readonly state: string | undefined
}

/** A request refused with an error that goes back to the app's (valid) redirect URI. */
export interface RedirectedRefusal {
  readonly kind: 'refused'
  readonly redirect: AppRedirect
  readonly error: AuthorizationError
  /** Written by the relay, never from input. */
  readonly description: string
  /** The app's `state` when it was given once and well formed. */
  readonly state: string | undefined
}

/** What {@link readStandardRequest} made of a query: a request, or a refusal to redirect. */
export type StandardAuthorize = StandardRequest | RedirectedRefusal

/** What the redirect rules come from: `LOOPBACK_REDIRECTS` and `APP_REDIRECT_URIS`. */
export type RedirectSettings = Pick<Config, 'loopbackRedirects' | 'appRedirectUris' | 'defaultScope'>

/**
 * Reads a standard authorization request's query, whose values are strings, or arrays of them
 * for a repeated name.
 *
 * @throws {RelayError} `invalid_redirect_uri` or `invalid_request` (a bad `client_id`): answered at the relay.
 */
export function readStandardRequest(query: Readonly<Record<string, unknown>>, settings: RedirectSettings): StandardAuthorize {
  const rawRedirect = query.redirect_uri
  const redirect =
    typeof rawRedirect === 'string' ? checkAppRedirectUri(rawRedirect, { loopback: settings.loopbackRedirects, allowlist: settings.appRedirectUris }) : null
  // RFC 6749 §4.1.2.1: with a missing, repeated or unknown redirect URI there is nowhere safe to send an error.
  if (redirect === null) {
    throw new RelayError(
      'invalid_redirect_uri',
      'The app asked to return to an address this relay does not send sign-ins to. Only addresses on this computer (127.0.0.1, [::1] or localhost) and the addresses in APP_REDIRECT_URIS are allowed, written exactly, without a fragment.',
    )
  }
  const clientId = query.client_id
  // RFC 6749 Appendix A.1: a client_id is VSCHARs; bounded, because it is logged and shown. §4.1.2.1: a bad one is not redirected either.
  if (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId)) {
    throw new RelayError('invalid_request', 'The app must send its client_id once, as 1 to 64 printable ASCII characters.')
  }
  const rawState = query.state
  const state = typeof rawState === 'string' && isAppState(rawState) ? rawState : undefined
  const refuse = (error: AuthorizationError, description: string): RedirectedRefusal => ({ kind: 'refused', redirect, error, description, state })
  // RFC 6749 §3.1: parameters are sent at most once, so a repeated state has no one value to echo.
  if (rawState !== undefined && state === undefined) {
    return refuse('invalid_request', `state must be given once, 1 to ${MAX_APP_STATE_LENGTH} characters without control characters.`)
  }
  const responseType = query.response_type
  if (typeof responseType !== 'string') return refuse('invalid_request', 'response_type must be given once, as code.')
  // RFC 6749 §4.1.1: the only response type of the code flow; implicit and hybrid flows are not served (RFC 9700 §2.1.2).
  if (responseType !== 'code') return refuse('unsupported_response_type', 'response_type must be code.')
  const challenge = query.code_challenge
  // RFC 9700 §2.1.1 and RFC 7636 §4.2: public clients must use PKCE with S256, and the challenge keys the flow.
  if (typeof challenge !== 'string' || !CHALLENGE_PATTERN.test(challenge)) {
    return refuse('invalid_request', 'code_challenge must be given once, as the 43-character base64url SHA-256 of a code_verifier (RFC 7636).')
  }
  if (query.code_challenge_method !== 'S256') return refuse('invalid_request', 'code_challenge_method must be S256.')
  const scope = query.scope === undefined ? settings.defaultScope : query.scope
  if (typeof scope !== 'string' || !isScope(scope)) {
    return refuse('invalid_scope', `scope must be given once, as space-separated RFC 6749 §3.3 tokens, at most ${MAX_SCOPE_LENGTH} characters.`)
  }
  // return_to is the pickup flow's way back; here the redirect URI is, and two ways back would be one too many.
  if (query.return_to !== undefined) return refuse('invalid_request', 'return_to is not used with redirect_uri: the sign-in returns to the redirect_uri.')
  return { kind: 'request', challenge, scope, redirect, clientId, state }
}

/** RFC 6749 §4.1.1 asks for VSCHARs; the relay is lenient with any text but control characters, bounded. */
export function isAppState(value: string): boolean {
  return value.length >= 1 && value.length <= MAX_APP_STATE_LENGTH && !NOT_TEXT.test(value)
}

/** A control character, or half of a surrogate pair (which no URL can carry back exactly). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const NOT_TEXT = /[\x00-\x1f\x7f-\x9f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

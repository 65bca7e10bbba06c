/**
 * @module
 * The relay's single error type. Every expected failure is a `RelayError` with a code from a
 * closed set; anything else reaching `app.onError` is an unexpected fault and stays a 500.
 */
import { errorPage } from './pages.ts'
import { apiResponse } from './security-headers.ts'

interface ErrorSpec {
  /** HTTP status, unless the throw site overrides it (upstream pass-through). */
  readonly status: number
  /** The RFC 6749 §5.2 / RFC 8628 §3.5 / RFC 9449 §5 `error` value that API clients see. */
  readonly oauthError: string
  /** The heading a browser user sees. */
  readonly title: string
}

const ERROR_SPECS = {
  invalid_request: { status: 400, oauthError: 'invalid_request', title: 'This sign-in request is not valid' },
  invalid_scope: { status: 400, oauthError: 'invalid_scope', title: 'The requested scope is not valid' },
  // RFC 6749 §4.1.2.1: answered at the relay, never redirected.
  invalid_redirect_uri: { status: 400, oauthError: 'invalid_request', title: 'The app’s return address is not allowed' },
  invalid_return_to: { status: 400, oauthError: 'invalid_request', title: 'The return address is not allowed' },
  invalid_state: { status: 400, oauthError: 'invalid_request', title: 'This sign-in link is not valid' },
  expired_state: { status: 400, oauthError: 'invalid_request', title: 'This sign-in link has expired' },
  browser_mismatch: { status: 400, oauthError: 'invalid_request', title: 'This sign-in cannot be finished here' },
  cross_site_request: { status: 403, oauthError: 'invalid_request', title: 'This confirmation did not come from the relay’s page' },
  wrong_code: { status: 400, oauthError: 'access_denied', title: 'That is not the code of this sign-in' },
  issuer_mismatch: { status: 400, oauthError: 'invalid_request', title: 'The sign-in response came from the wrong server' },
  unsupported_grant_type: { status: 400, oauthError: 'unsupported_grant_type', title: 'Unsupported grant type' },
  authorization_pending: { status: 400, oauthError: 'authorization_pending', title: 'Waiting for the user' },
  slow_down: { status: 400, oauthError: 'slow_down', title: 'Too many requests' },
  expired_token: { status: 400, oauthError: 'expired_token', title: 'The code has expired' },
  access_denied: { status: 400, oauthError: 'access_denied', title: 'Sign-in was cancelled' },
  unauthorized_client: { status: 400, oauthError: 'unauthorized_client', title: 'The app is not allowed to sign in' },
  unsupported_response_type: { status: 400, oauthError: 'unsupported_response_type', title: 'Unity refused the sign-in' },
  invalid_grant: { status: 400, oauthError: 'invalid_grant', title: 'The authorization is no longer valid' },
  // RFC 9449 §5 (token endpoint) and §7.1: a DPoP proof that fails a §4.3 check.
  invalid_dpop_proof: { status: 400, oauthError: 'invalid_dpop_proof', title: 'The proof of possession is not valid' },
  // RFC 7009 §2.2.1: a revocation of a token type the server cannot revoke (Unity's own, under passthrough).
  unsupported_token_type: { status: 400, oauthError: 'unsupported_token_type', title: 'This token cannot be revoked here' },
  temporarily_unavailable: { status: 503, oauthError: 'temporarily_unavailable', title: 'Unity is busy' },
  flow_finished: { status: 409, oauthError: 'invalid_request', title: 'This sign-in has already finished' },
  flow_in_progress: { status: 409, oauthError: 'invalid_request', title: 'This sign-in is already under way elsewhere' },
  not_confirmed: { status: 400, oauthError: 'invalid_request', title: 'This sign-in was not confirmed' },
  not_found: { status: 404, oauthError: 'invalid_request', title: 'Page not found' },
  method_not_allowed: { status: 405, oauthError: 'invalid_request', title: 'This address does not accept that method' },
  payload_too_large: { status: 413, oauthError: 'invalid_request', title: 'The request is too large' },
  rate_limited: { status: 429, oauthError: 'temporarily_unavailable', title: 'Too many requests' },
  code_entry_closed: { status: 429, oauthError: 'temporarily_unavailable', title: 'Code entry is paused' },
  /** Answered with the code entry page rather than thrown; the code names the refusal in logs. */
  unknown_user_code: { status: 400, oauthError: 'invalid_request', title: 'That code is not valid' },
  // RFC 6749 §5.2 `invalid_client` is about the relay, not the app: a 502 (a gateway's upstream refused it) and a final
  // `server_error`, since polling on cannot help until the operator fixes the credentials, and each retry is one more failed client authentication at Unity.
  unity_refused_relay: { status: 502, oauthError: 'server_error', title: 'Unity refused the relay’s credentials' },
  upstream_error: { status: 502, oauthError: 'server_error', title: 'Unity reported an error' },
  upstream_unavailable: { status: 502, oauthError: 'temporarily_unavailable', title: 'Unity is not reachable' },
  upstream_invalid_response: { status: 502, oauthError: 'server_error', title: 'Unity sent an unexpected answer' },
  store_unavailable: { status: 503, oauthError: 'temporarily_unavailable', title: 'The relay could not reach its storage' },
  misconfigured: { status: 500, oauthError: 'server_error', title: 'The relay is misconfigured' },
  server_error: { status: 500, oauthError: 'server_error', title: 'Something went wrong in the relay' },
} as const satisfies Record<string, ErrorSpec>

/** Every error the relay can answer with on purpose. */
export type RelayErrorCode = keyof typeof ERROR_SPECS

/** How an error is rendered: HTML for browser endpoints, RFC 6749-style JSON for API calls. */
export type ErrorFormat = 'html' | 'json'

/** Options for {@link RelayError}. */
export interface RelayErrorOptions {
  /** Overrides the code's default HTTP status (Unity's own status on pass-through). */
  readonly status?: number
  /** Underlying fault, kept for logs only and never rendered. */
  readonly cause?: unknown
  /** Response headers the error needs, e.g. `Retry-After` on a 429 or `Allow` on a 405. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * An expected failure with a code from a closed set.
 *
 * `description` is shown to users and API clients: it must be written by the relay and never
 * contain request input, codes, tokens or secrets.
 *
 * @example
 * throw new RelayError('invalid_request', 'code_challenge must be 43 characters of base64url.')
 */
export class RelayError extends Error {
  readonly code: RelayErrorCode
  readonly description: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The JSON body, made once: the pending poll's error is one instance answered again and again. */
  #json: string | undefined

  constructor(code: RelayErrorCode, description: string, options: RelayErrorOptions = {}) {
    super(`${code}: ${description}`, { cause: options.cause })
    this.name = 'RelayError'
    this.code = code
    this.description = description
    this.status = options.status ?? ERROR_SPECS[code].status
    this.headers = options.headers ?? {}
  }

  /** The `error` value API clients see. */
  get oauthError(): string {
    return ERROR_SPECS[this.code].oauthError
  }

  /** Renders the error; `nonce` allows the page's inline stylesheet under the CSP. */
  toResponse(format: ErrorFormat, nonce?: string): Response {
    if (format === 'json') {
      this.#json ??= JSON.stringify({ error: this.oauthError, error_description: this.description })
      return apiResponse(this.#json, this.status, 'application/json', this.headers)
    }
    const page = errorPage({ title: ERROR_SPECS[this.code].title, message: this.description, code: this.code, nonce })
    return new Response(page, {
      status: this.status,
      headers: { ...this.headers, 'Content-Type': 'text/html; charset=UTF-8' },
    })
  }
}

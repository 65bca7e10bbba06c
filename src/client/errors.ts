/**
 * @module
 * The client's one error type: {@link LoginError}, with a code from a closed set that says what
 * the app should do next, and the relay's own `error` (never a token) when there was one.
 */

/**
 * What ended a login, a refresh or a revocation:
 * - `access_denied`: the user pressed Cancel or Deny, or Unity refused the sign-in;
 * - `expired`: the login ran out of time (`expired_token`, or nothing arrived before the deadline);
 * - `invalid_grant`: the relay will not hand out tokens for this login or refresh token any more
 *   (already picked up, revoked, ended, replaced): sign in again;
 * - `unavailable`: the relay or Unity could not be reached or kept failing (5xx, 429, network);
 * - `misconfigured`: the relay's address, metadata or answers do not fit this client, or a request
 *   was refused as malformed;
 * - `aborted`: the caller's `AbortSignal` fired.
 *
 * @example
 * const retryable = (code: LoginErrorCode) => code === 'unavailable'
 */
export type LoginErrorCode = 'access_denied' | 'expired' | 'invalid_grant' | 'unavailable' | 'misconfigured' | 'aborted'

/**
 * Fields of {@link LoginError} besides its message.
 *
 * @example
 * new LoginError('unavailable', 'The relay answered 503.', { status: 503, oauthError: 'temporarily_unavailable' })
 */
export interface LoginErrorDetails {
  /** The relay's RFC 6749 `error`, when its answer carried one. */
  readonly oauthError?: string
  /** The HTTP status of the answer that ended it, when there was one. */
  readonly status?: number
  readonly cause?: unknown
}

/**
 * Thrown by every function of `unity-oauth-relay/client` for an outcome the app must act on.
 * The message is written by the client; the relay's description is not copied into it.
 *
 * @example
 * try {
 *   await login.tokens()
 * } catch (error) {
 *   if (error instanceof LoginError && error.code === 'access_denied') console.error('Sign-in cancelled')
 *   else throw error
 * }
 */
export class LoginError extends Error {
  override readonly name = 'LoginError'
  readonly code: LoginErrorCode
  readonly oauthError: string | undefined
  readonly status: number | undefined

  constructor(code: LoginErrorCode, message: string, details: LoginErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.oauthError = details.oauthError
    this.status = details.status
  }
}

/**
 * The error a final `/token` answer maps to, following the README's `/token` table: `access_denied`
 * and the other RFC 6749 §4.1.2.1 refusals end the login, `expired_token` is `expired`,
 * `invalid_grant` means sign in again, request errors mean a misconfigured client or relay.
 *
 * @example
 * throw finalAnswerError('access_denied', 400) // LoginError { code: 'access_denied' }
 */
export function finalAnswerError(oauthError: string, status: number): LoginError {
  const details = { oauthError, status }
  switch (oauthError) {
    case 'access_denied':
      return new LoginError('access_denied', 'The sign-in was cancelled or refused.', details)
    case 'expired_token':
      return new LoginError('expired', 'The sign-in expired before it was finished.', details)
    case 'invalid_grant':
      return new LoginError('invalid_grant', 'The relay no longer hands out tokens for this sign-in: sign in again.', details)
    case 'server_error':
    case 'temporarily_unavailable':
      return new LoginError('unavailable', 'The relay or Unity is unavailable.', details)
    default:
      return new LoginError('misconfigured', `The relay refused the request (${oauthError}).`, details)
  }
}

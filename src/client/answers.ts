/**
 * @module
 * What one `/token` answer means for a client that polls, as the README's `/token` table says:
 * keep polling, slow down, retry, or stop with a {@link LoginError}.
 */
import * as oauth from 'oauth4webapi'
import { finalAnswerError, LoginError } from './errors.ts'

/** The next step after one poll. */
export type PollStep =
  | { readonly kind: 'pending' }
  | { readonly kind: 'slow_down' }
  /** Try the same request again after `waitMs` (at least the interval); `error` if it keeps failing. */
  | { readonly kind: 'retry'; readonly waitMs: number; readonly error: LoginError }
  | { readonly kind: 'final'; readonly error: LoginError }

/** At most this long is waited for a 429's `Retry-After`. */
const MAX_RETRY_AFTER_MS = 60_000

/**
 * Classifies what an oauth4webapi token request threw:
 * - `authorization_pending` polls again, `slow_down` adds 5 s to the interval (RFC 8628 §3.5);
 * - `temporarily_unavailable`, any 5xx, a 429 (after `Retry-After`) and a network failure retry:
 *   the relay keeps the code for the retry;
 * - `invalid_dpop_proof` retries once with a fresh proof (a new `jti` and `iat`, RFC 9449 §4.3);
 * - everything else is final.
 *
 * @example
 * const step = pollStep(error, signal) // { kind: 'pending' } for authorization_pending
 */
export function pollStep(error: unknown, signal?: AbortSignal): PollStep {
  if (signal?.aborted) return { kind: 'final', error: aborted(signal) }
  if (error instanceof oauth.ResponseBodyError) {
    if (error.error === 'authorization_pending') return { kind: 'pending' }
    if (error.error === 'slow_down') return { kind: 'slow_down' }
    if (error.status === 429) return { kind: 'retry', waitMs: retryAfterMs(error.response), error: unavailable(`The relay is rate limiting this address (${error.status}).`, error) }
    if (error.error === 'temporarily_unavailable' || error.status >= 500)
      return { kind: 'retry', waitMs: 0, error: unavailable(`The relay or Unity is unavailable (${error.status} ${error.error}).`, error) }
    if (error.error === 'invalid_dpop_proof') {
      return {
        kind: 'retry',
        waitMs: 0,
        error: new LoginError('misconfigured', 'The relay refused this machine’s DPoP proofs twice: check that the system clock is right.', { oauthError: error.error, status: error.status }),
      }
    }
    return { kind: 'final', error: finalAnswerError(error.error, error.status) }
  }
  if (error instanceof oauth.OperationProcessingError && error.cause instanceof Response) {
    const status = error.cause.status
    if (status >= 500 || status === 429)
      return { kind: 'retry', waitMs: status === 429 ? retryAfterMs(error.cause) : 0, error: new LoginError('unavailable', `The relay answered ${status}.`, { status, cause: error }) }
    return { kind: 'final', error: new LoginError('misconfigured', `The relay's answer (${status}) is not an OAuth answer.`, { status, cause: error }) }
  }
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    return { kind: 'final', error: new LoginError('misconfigured', `The relay's answer does not fit the OAuth rules: ${error.message}`, { cause: error }) }
  }
  if (error instanceof TypeError || (error instanceof DOMException && error.name === 'TimeoutError')) {
    return { kind: 'retry', waitMs: 0, error: new LoginError('unavailable', 'Cannot reach the relay.', { cause: error }) }
  }
  return {
    kind: 'final',
    error: error instanceof LoginError ? error : new LoginError('misconfigured', `Unexpected failure: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
  }
}

/**
 * The {@link LoginError} for a single request (a refresh, a revocation) that failed: what
 * {@link pollStep} would retry is `unavailable` here, and `authorization_pending` cannot happen.
 *
 * @example
 * catch (error) { throw tokenRequestError(error, signal) }
 */
export function tokenRequestError(error: unknown, signal?: AbortSignal): LoginError {
  const step = pollStep(error, signal)
  if (step.kind === 'final' || step.kind === 'retry') return step.error
  return new LoginError('misconfigured', `The relay answered ${step.kind} to a request that is not a poll.`)
}

function unavailable(message: string, error: oauth.ResponseBodyError): LoginError {
  return new LoginError('unavailable', message, { oauthError: error.error, status: error.status })
}

/**
 * The {@link LoginError} for a fired signal.
 *
 * @example
 * if (signal.aborted) throw aborted(signal)
 */
export function aborted(signal: AbortSignal): LoginError {
  return new LoginError('aborted', 'The sign-in was cancelled.', { cause: signal.reason })
}

function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get('Retry-After'))
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 5_000
}
